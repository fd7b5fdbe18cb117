import GallopCore

/// What a reader of results needs to know about one value name.
public struct ValueDescriptor: Sendable, Equatable {
    public var name: String
    public var direction: Direction
    public var unit: String
    /// What it measures, in a few words.
    public var summary: String
    /// The metric it belongs to (itself for a headline).
    public var metric: String
    /// Scorecard group: `temporal`, `motion`, `quality`, `reference`, `composite`.
    public var group: String
    /// For a value derived when Gallop reports (`camera_agreement`): how. Nil for a number in the rows.
    public var match: PromptCameraMatch?
    /// For a value derived as a distance from a target (`loudness_off_target`): which number and target.
    public var offTarget: TargetDistance?

    public init(name: String, direction: Direction, unit: String = "", summary: String = "", metric: String? = nil, group: String,
                match: PromptCameraMatch? = nil, offTarget: TargetDistance? = nil) {
        self.name = name
        self.direction = direction
        self.unit = unit
        self.summary = summary
        self.metric = metric ?? name
        self.group = group
        self.match = match
        self.offTarget = offTarget
    }

    public var isHeadline: Bool { metric == name }
    /// Derived when Gallop reports, not a number in the rows.
    public var isDerived: Bool { match != nil || offTarget != nil }
    /// The metric whose row output a derived value is computed from.
    public var source: String? { match?.metric ?? offTarget?.metric }
}

/// One value over one group of clips.
///
/// The unit of the statistics is the prompt: a prompt's clips (its seeds)
/// are averaged first, `mean` is the mean over prompts, and the interval
/// resamples prompts (``Bootstrap/clusteredMean(_:settings:stream:)``), since
/// seeds of one prompt are not independent draws. With one clip a prompt this
/// is the mean over clips. `median` is over clips.
public struct Aggregate: Sendable, Equatable {
    public var n: Int
    /// Prompts with a value; intervals and ranks need ``Bootstrap/minimumUnits`` of them.
    public var prompts: Int
    public var mean: Double
    /// Over clips; NaN for the composites, which are model-level scores.
    public var median: Double
    public var interval: Interval?
    /// Scored clips of the group whose value was null (left out).
    public var undefined: Int
    /// Competition rank among models (1 = best; tied models share it); nil when the value has no better side.
    public var rank: Int?
}

/// Aggregates of one model (or one model × tag).
public struct GroupAggregates: Sendable {
    public var clips: Int
    public var failed: Int
    /// Value name → aggregate, for the values some clip of the group has.
    public var values: [String: Aggregate]

    public init(clips: Int, failed: Int, values: [String: Aggregate]) {
        self.clips = clips
        self.failed = failed
        self.values = values
    }
}

/// One model × prompt cell: clip counts and the mean of each value over the prompt's clips.
public struct PromptCell: Sendable {
    public var clips: Int
    public var failed: Int
    public var means: [String: Double]
}

public struct ModelSummary: Sendable {
    public var name: String
    public var all: GroupAggregates
    public var frames: Int
    /// Tag → aggregates over the model's clips whose prompt has the tag (with a suite).
    public var tags: [String: GroupAggregates]
    /// Prompt id → cell.
    public var prompts: [String: PromptCell]
}

/// How the clips met the prompt suite.
public struct SuiteCoverage: Sendable {
    public var suite: PromptSuite
    /// Model → suite prompt ids with no clip of that model (suite order).
    public var missing: [String: [String]]
    /// Clips whose prompt id is not in the suite (paths, sorted): listed, and left out of every aggregate.
    public var unknown: [String]
}

/// Everything a scorecard, `summary.json` or a later gate reads, computed once.
public struct ResultsSummary: Sendable {
    public var values: [ValueDescriptor]
    public var models: [ModelSummary]
    public var coverage: SuiteCoverage?
    public var settings: ReportSettings
    /// The rows' config fingerprint and config object.
    public var fingerprint: String
    public var config: JSONValue
    /// Rows as scored, sorted by path, with the derived values of each clip.
    public var clips: [ScoredClip]
    /// Metric → the restriction applied to it (only with a suite; empty without one).
    public var restricted: [String: ReportSettings.Restriction]
    /// Problems with the settings against the suite (a restriction no prompt meets).
    public var notes: [String]

    public func value(_ name: String) -> ValueDescriptor? { values.first { $0.name == name } }
    public func model(_ name: String) -> ModelSummary? { models.first { $0.name == name } }
}

/// A row with the values derived at report time (camera agreement).
public struct ScoredClip: Sendable {
    public var row: ClipResult
    /// Every number of the clip: the row's finite metrics, then the derived ones.
    public var values: [(String, Double)]
    /// Whether the clip's prompt is in the suite (true without a suite).
    public var inSuite: Bool
    public var tags: [String]

    public func value(_ name: String) -> Double? { values.first { $0.0 == name }?.1 }
}

public enum Aggregation {
    public static let compositePrefix = "composite_"
    public static let overall = "composite_overall"

    /// Builds the summary of rows that share one config fingerprint.
    /// `known` describes the value names the caller knows (the metric registry),
    /// the derived ones (``ValueDescriptor/isDerived``) included;
    /// names it does not know are reported with no better side. `settings` are
    /// the caller's: the metrics' default restrictions and composite come from
    /// the registry (GallopConfig's `ValueCatalog.report`); the default here
    /// restricts nothing and scores no composite.
    public static func summarize(_ rows: [ClipResult], known: [ValueDescriptor], suite: PromptSuite? = nil,
                                 settings: ReportSettings = ReportSettings()) throws(ResultsError) -> ResultsSummary {
        let fingerprints = Set(rows.map(\.fingerprint))
        guard fingerprints.count <= 1 else {
            throw ResultsError("the rows come from \(fingerprints.count) configs (fingerprints \(fingerprints.sorted().joined(separator: ", "))); they are never averaged together")
        }
        let sorted = rows.sorted { $0.path < $1.path }
        let derived = known.filter(\.isDerived)
        let clips = sorted.map { derive($0, suite: suite, derived: derived) }

        // Value names in the caller's order, then unknown ones, then the derived ones.
        var present = Set<String>()
        for c in clips { for (k, _) in c.values { present.insert(k) } }
        var values = known.filter { !$0.isDerived && present.contains($0.name) }
        let knownNames = Set(known.map(\.name))
        var extra: [String] = []
        for c in clips { for (k, _) in c.values where !knownNames.contains(k) && !extra.contains(k) { extra.append(k) } }
        values += extra.sorted().map { ValueDescriptor(name: $0, direction: .none, group: "other") }
        values += derived.filter { present.contains($0.name) }

        var restricted: [String: ReportSettings.Restriction] = [:]
        var notes: [String] = []
        if let suite {
            for r in settings.restrict where restricted[r.metric] == nil {
                restricted[r.metric] = r
                if present.contains(r.metric) && !suite.prompts.contains(where: { r.admits(effectiveTags($0)) }) {
                    notes.append("no prompt of suite `\(suite.name)` is tagged \(r.text): `\(r.metric)` is read on no clip")
                }
            }
            // A metric's restriction holds for its secondary values too (flicker_index_regional as flicker_index).
            for v in values where v.metric != v.name && restricted[v.name] == nil {
                if let r = restricted[v.metric] { restricted[v.name] = r }
            }
        }
        // Two files of one model, prompt and seed (`a-1.mp4` and `a-1.mkv`) are two clips to the
        // aggregates; likely a mistake, so say so.
        let byName = Dictionary(grouping: sorted, by: { "\($0.name.model)|\($0.name.prompt)|\($0.name.seed.map(String.init) ?? "")" })
        for key in byName.keys.sorted() where byName[key]!.count > 1 {
            notes.append("\(byName[key]!.map { "`\($0.path)`" }.joined(separator: " and ")) share a model, prompt and seed; each counts as a clip")
        }
        let table = PromptTable(clips: clips.filter(\.inSuite), values: values, restricted: restricted)
        var models: [ModelSummary] = []
        for model in table.models {
            var tags: [String: GroupAggregates] = [:]
            for tag in suite?.tags ?? [] where table.prompts(model, tag: tag).count > 0 {
                tags[tag] = table.aggregates(model, tag: tag, values: values, settings: settings.bootstrap)
            }
            var prompts: [String: PromptCell] = [:]
            for prompt in table.prompts(model, tag: nil) {
                let members = table.clips[model]![prompt]!
                var means: [String: Double] = [:]
                for v in values { if let m = table.mean(model, prompt, v.name) { means[v.name] = m } }
                prompts[prompt] = PromptCell(clips: members.count, failed: members.filter { $0.row.status == .error }.count, means: means)
            }
            models.append(ModelSummary(name: model, all: table.aggregates(model, tag: nil, values: values, settings: settings.bootstrap),
                                       frames: table.clips[model]!.values.joined().filter { $0.row.status == .ok }.reduce(0) { $0 + $1.row.frames },
                                       tags: tags, prompts: prompts))
        }
        table.rank(&models, values: values, tags: suite?.tags ?? [], settings: settings.bootstrap)
        let scorer = CompositeScorer(groups: settings.composite, settings: settings.bootstrap)
        let scored = scorer.score(&models, table: table, tags: suite?.tags ?? [])
        for name in scorer.names where scored.contains(name) {
            let group = String(name.dropFirst(compositePrefix.count))
            values.append(ValueDescriptor(name: name, direction: .higher,
                                          summary: name == overall ? "mean of the group scores, 0–1 (convention)" : "\(group) score, 0–1 (convention)",
                                          group: "composite"))
        }

        var coverage: SuiteCoverage?
        if let suite {
            var missing: [String: [String]] = [:]
            for model in Set(sorted.map(\.name.model)).sorted() {
                let have = Set(sorted.filter { $0.name.model == model }.map(\.name.prompt))
                let lacking = suite.prompts.map(\.id).filter { !have.contains($0) }
                if !lacking.isEmpty { missing[model] = lacking }
            }
            coverage = SuiteCoverage(suite: suite, missing: missing, unknown: clips.filter { !$0.inSuite }.map(\.row.path))
        }
        return ResultsSummary(values: values, models: models, coverage: coverage, settings: settings,
                              fingerprint: sorted.first?.fingerprint ?? "", config: sorted.first?.config ?? .null,
                              clips: clips, restricted: restricted, notes: notes)
    }

    /// A prompt's tags, with `static` implied by `camera: static`.
    static func effectiveTags(_ p: PromptSuite.Prompt) -> [String] {
        p.camera == "static" && !p.tags.contains("static") ? p.tags + ["static"] : p.tags
    }

    /// The row's finite numbers plus the derived values of `derived` (camera agreement, with a suite; a distance from a
    /// target, where its number is finite).
    public static func derive(_ row: ClipResult, suite: PromptSuite?, derived: [ValueDescriptor]) -> ScoredClip {
        let prompt = suite?.prompt(row.name.prompt)
        var clip = ScoredClip(row: row, values: [], inSuite: suite == nil || prompt != nil, tags: prompt.map(effectiveTags) ?? [])
        guard row.status == .ok else { return clip }
        clip.values = row.metrics.compactMap { k, v in v.flatMap { $0.isFinite ? (k, $0) : nil } }
        for d in derived {
            if let t = d.offTarget {
                if let x = clip.values.first(where: { $0.0 == t.metric })?.1 { clip.values.append((d.name, t.value(x))) }
                continue
            }
            guard let match = d.match, let asked = prompt?.camera,
                  let measured = row.extras.first(where: { $0.0 == match.metric })?.1[match.key]?.stringValue else { continue }
            clip.values.append((d.name, asked == measured ? 1 : 0))
        }
        return clip
    }

    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// The clips by model and prompt, and each model's per-prompt mean of every
/// value, computed once: every aggregate, rank and composite reads them.
/// A restricted value counts only the clips whose prompt it admits.
struct PromptTable {
    /// Model → prompt → clips (every status), in path order.
    let clips: [String: [String: [ScoredClip]]]
    /// Model → value → prompt → mean over the prompt's ok clips that count.
    private let means: [String: [String: [String: Double]]]
    /// Prompt → its tags (from the clips).
    private let tags: [String: [String]]
    let restricted: [String: ReportSettings.Restriction]

    init(clips list: [ScoredClip], values: [ValueDescriptor], restricted: [String: ReportSettings.Restriction]) {
        var clips: [String: [String: [ScoredClip]]] = [:]
        var tags: [String: [String]] = [:]
        for c in list {
            clips[c.row.name.model, default: [:]][c.row.name.prompt, default: []].append(c)
            tags[c.row.name.prompt] = c.tags
        }
        var means: [String: [String: [String: Double]]] = [:]
        for (model, byPrompt) in clips {
            for v in values {
                var m: [String: Double] = [:]
                for (prompt, members) in byPrompt where restricted[v.name]?.admits(tags[prompt] ?? []) ?? true {
                    let xs = members.compactMap { $0.row.status == .ok ? $0.value(v.name) : nil }
                    if !xs.isEmpty { m[prompt] = xs.reduce(0, +) / Double(xs.count) }
                }
                means[model, default: [:]][v.name] = m
            }
        }
        self.clips = clips
        self.means = means
        self.tags = tags
        self.restricted = restricted
    }

    var models: [String] { clips.keys.sorted() }

    /// The model's prompts (with a tag, those that have it), sorted.
    func prompts(_ model: String, tag: String?) -> [String] {
        (clips[model]?.keys.filter { tag == nil || tags[$0]?.contains(tag!) == true } ?? []).sorted()
    }

    func mean(_ model: String, _ prompt: String, _ value: String) -> Double? { means[model]?[value]?[prompt] }

    /// Prompt → mean of a value, over the model's prompts (with a tag, those that have it).
    func units(_ model: String, _ value: String, tag: String?) -> [String: Double] {
        let all = means[model]?[value] ?? [:]
        guard let tag else { return all }
        return all.filter { tags[$0.key]?.contains(tag) == true }
    }

    func aggregates(_ model: String, tag: String?, values: [ValueDescriptor], settings: BootstrapSettings) -> GroupAggregates {
        let prompts = self.prompts(model, tag: tag)
        let members = prompts.flatMap { clips[model]![$0]! }
        var out: [String: Aggregate] = [:]
        for v in values {
            let units = self.units(model, v.name, tag: tag)
            guard !units.isEmpty else { continue }
            let ids = units.keys.sorted()
            let admitted = prompts.filter { restricted[v.name]?.admits(tags[$0] ?? []) ?? true }
                .flatMap { clips[model]![$0]! }.filter { $0.row.status == .ok }
            let xs = admitted.compactMap { $0.value(v.name) }
            let undefined = admitted.filter { c in c.row.metrics.contains { $0.0 == v.name && $0.1 == nil } }.count
            out[v.name] = Aggregate(
                n: xs.count, prompts: ids.count, mean: ids.map { units[$0]! }.reduce(0, +) / Double(ids.count), median: Aggregation.median(xs),
                interval: ids.count >= Bootstrap.minimumUnits
                    ? Bootstrap.mean(ids.map { units[$0]! }, settings: settings, stream: Bootstrap.stream([v.name, tag ?? ""] + ids)) : nil,
                undefined: undefined, rank: nil)
        }
        return GroupAggregates(clips: members.count, failed: members.filter { $0.row.status == .error }.count, values: out)
    }

    /// Ranks models per value with a better side (paired by prompt), overall and, for headlines, per tag.
    func rank(_ models: inout [ModelSummary], values: [ValueDescriptor], tags: [String], settings: BootstrapSettings) {
        for v in values where v.direction != .none {
            for tag in [nil] + (v.isHeadline ? tags.map(Optional.some) : []) {
                let entries = models.map { Ranking.Entry(name: $0.name, units: units($0.name, v.name, tag: tag)) }.filter { !$0.units.isEmpty }
                guard !entries.isEmpty else { continue }
                let ranks = Ranking.ranks(entries, higherIsBetter: v.direction == .higher, settings: settings, salt: [v.name, tag ?? ""])
                for i in models.indices {
                    let name = models[i].name
                    if let tag { models[i].tags[tag]?.values[v.name]?.rank = ranks[name]?.rank } else { models[i].all.values[v.name]?.rank = ranks[name]?.rank }
                }
            }
        }
    }
}
