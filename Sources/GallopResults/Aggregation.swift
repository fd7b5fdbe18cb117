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

    public init(name: String, direction: Direction, unit: String = "", summary: String = "", metric: String? = nil, group: String) {
        self.name = name
        self.direction = direction
        self.unit = unit
        self.summary = summary
        self.metric = metric ?? name
        self.group = group
    }

    public var isHeadline: Bool { metric == name }
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
    /// Metric → tags it was restricted to (applied only with a suite).
    public var restricted: [String: [String]]

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
    public static let cameraAgreement = "camera_agreement"

    /// Builds the summary of rows that share one config fingerprint.
    /// `known` describes the value names the caller knows (the metric registry);
    /// names it does not know are reported with no better side.
    public static func summarize(_ rows: [ClipResult], known: [ValueDescriptor], suite: PromptSuite? = nil,
                                 settings: ReportSettings = ReportSettings()) throws(ResultsError) -> ResultsSummary {
        let fingerprints = Set(rows.map(\.fingerprint))
        guard fingerprints.count <= 1 else {
            throw ResultsError("the rows come from \(fingerprints.count) configs (fingerprints \(fingerprints.sorted().joined(separator: ", "))); they are never averaged together")
        }
        let sorted = rows.sorted { $0.path < $1.path }
        let clips = sorted.map { derive($0, suite: suite, settings: settings) }

        // Value names in the caller's order, then unknown ones, then the derived ones.
        var present = Set<String>()
        for c in clips { for (k, _) in c.values { present.insert(k) } }
        var values = known.filter { present.contains($0.name) }
        let knownNames = Set(known.map(\.name))
        var extra: [String] = []
        for c in clips { for (k, _) in c.values where !knownNames.contains(k) && !extra.contains(k) && !isDerived(k, settings) { extra.append(k) } }
        values += extra.sorted().map { ValueDescriptor(name: $0, direction: .none, group: "other") }
        if present.contains(cameraAgreement) {
            values.append(ValueDescriptor(name: cameraAgreement, direction: .higher, summary: "1 when the measured camera move is the one the prompt asks for",
                                          group: "motion"))
        }

        let restricted: [String: [String]] = Dictionary(settings.restrict.map { ($0.metric, $0.tags) }, uniquingKeysWith: { a, _ in a })
        let counted = clips.filter(\.inSuite)
        let modelNames = Set(sorted.map(\.name.model)).sorted()
        var models: [ModelSummary] = []
        for model in modelNames {
            let mine = counted.filter { $0.row.name.model == model }
            var tags: [String: GroupAggregates] = [:]
            if let suite {
                for tag in suite.tags {
                    let tagged = mine.filter { $0.tags.contains(tag) }
                    if !tagged.isEmpty {
                        tags[tag] = aggregates(tagged, values: values, restricted: restricted, suite: suite, settings: settings, stream: [model, tag])
                    }
                }
            }
            var prompts: [String: PromptCell] = [:]
            for (prompt, members) in Dictionary(grouping: mine, by: { $0.row.name.prompt }) {
                var means: [String: Double] = [:]
                for v in values {
                    let xs = members.compactMap { $0.value(v.name) }
                    if !xs.isEmpty { means[v.name] = xs.reduce(0, +) / Double(xs.count) }
                }
                prompts[prompt] = PromptCell(clips: members.count, failed: members.filter { $0.row.status == .error }.count, means: means)
            }
            models.append(ModelSummary(
                name: model,
                all: aggregates(mine, values: values, restricted: restricted, suite: suite, settings: settings, stream: [model]),
                frames: mine.filter { $0.row.status == .ok }.reduce(0) { $0 + $1.row.frames },
                tags: tags, prompts: prompts))
        }
        rank(&models, values: values, clips: counted, restricted: restricted, suite: suite, settings: settings)
        let scored = composite(&models, clips: counted, restricted: restricted, suite: suite, settings: settings)
        for name in CompositeScorer(groups: settings.composite, settings: settings.bootstrap).names where scored.contains(name) {
            let group = String(name.dropFirst(compositePrefix.count))
            values.append(ValueDescriptor(name: name, direction: .higher,
                                          summary: name == overall ? "mean of the group scores, 0–1 (convention)" : "\(group) score, 0–1 (convention)",
                                          group: "composite"))
        }

        var coverage: SuiteCoverage?
        if let suite {
            var missing: [String: [String]] = [:]
            for model in modelNames {
                let have = Set(sorted.filter { $0.name.model == model }.map(\.name.prompt))
                let lacking = suite.prompts.map(\.id).filter { !have.contains($0) }
                if !lacking.isEmpty { missing[model] = lacking }
            }
            coverage = SuiteCoverage(suite: suite, missing: missing, unknown: clips.filter { !$0.inSuite }.map(\.row.path))
        }
        return ResultsSummary(values: values, models: models, coverage: coverage, settings: settings,
                              fingerprint: sorted.first?.fingerprint ?? "", config: sorted.first?.config ?? .null,
                              clips: clips, restricted: restricted)
    }

    static func isDerived(_ name: String, _ settings: ReportSettings) -> Bool {
        name == cameraAgreement || name.hasPrefix(compositePrefix)
    }

    /// Whether a clip counts for a value: restricted metrics only on prompts with one of their tags (given a suite).
    static func counts(_ clip: ScoredClip, for value: String, restricted: [String: [String]], suite: PromptSuite?) -> Bool {
        guard suite != nil, let tags = restricted[value] else { return true }
        return clip.tags.contains { tags.contains($0) }
    }

    /// The row's finite numbers plus camera agreement.
    public static func derive(_ row: ClipResult, suite: PromptSuite?, settings: ReportSettings) -> ScoredClip {
        let prompt = suite?.prompt(row.name.prompt)
        var clip = ScoredClip(row: row, values: [], inSuite: suite == nil || prompt != nil, tags: prompt?.tags ?? [])
        guard row.status == .ok else { return clip }
        clip.values = row.metrics.compactMap { k, v in v.flatMap { $0.isFinite ? (k, $0) : nil } }
        if let asked = prompt?.camera, let measured = row.extras.first(where: { $0.0 == "camera_motion" })?.1["class"]?.stringValue {
            clip.values.append((cameraAgreement, asked == measured ? 1 : 0))
        }
        return clip
    }

    static func aggregates(_ clips: [ScoredClip], values: [ValueDescriptor], restricted: [String: [String]], suite: PromptSuite?,
                           settings: ReportSettings, stream: [String]) -> GroupAggregates {
        var out: [String: Aggregate] = [:]
        let ok = clips.filter { $0.row.status == .ok }
        for v in values {
            let eligible = ok.filter { counts($0, for: v.name, restricted: restricted, suite: suite) }
            var byPrompt: [String: [Double]] = [:]
            var all: [Double] = []
            // Null in the row (a metric undefined for the clip), as opposed to a value that does not apply.
            let undefined = eligible.filter { c in c.row.metrics.contains { $0.0 == v.name && $0.1 == nil } }.count
            for c in eligible {
                guard let x = c.value(v.name) else { continue }
                byPrompt[c.row.name.prompt, default: []].append(x)
                all.append(x)
            }
            guard !all.isEmpty else { continue }
            let clusters = byPrompt.keys.sorted().map { byPrompt[$0]! }
            let means = clusters.map { $0.reduce(0, +) / Double($0.count) }
            out[v.name] = Aggregate(
                n: all.count, prompts: clusters.count, mean: means.reduce(0, +) / Double(means.count), median: median(all),
                interval: Bootstrap.clusteredMean(clusters, settings: settings.bootstrap, stream: Bootstrap.stream(stream + [v.name])),
                undefined: undefined, rank: nil)
        }
        return GroupAggregates(clips: clips.count, failed: clips.filter { $0.row.status == .error }.count, values: out)
    }

    /// Ranks models per value (paired by prompt), overall and per tag.
    static func rank(_ models: inout [ModelSummary], values: [ValueDescriptor], clips: [ScoredClip], restricted: [String: [String]],
                     suite: PromptSuite?, settings: ReportSettings) {
        // Per model and value, the prompt means of the clips that count, computed once; a tag keeps its prompts.
        var means: [String: [String: [String: Double]]] = [:]
        for (model, mine) in Dictionary(grouping: clips.filter { $0.row.status == .ok }, by: { $0.row.name.model }) {
            for v in values where v.direction != .none {
                var byPrompt: [String: (sum: Double, n: Int)] = [:]
                for c in mine where counts(c, for: v.name, restricted: restricted, suite: suite) {
                    if let x = c.value(v.name) { byPrompt[c.row.name.prompt, default: (0, 0)].sum += x; byPrompt[c.row.name.prompt]!.n += 1 }
                }
                means[model, default: [:]][v.name] = byPrompt.mapValues { $0.sum / Double($0.n) }
            }
        }
        func units(_ model: String, _ value: String, tag: String?) -> [String: Double] {
            let all = means[model]?[value] ?? [:]
            guard let tag, let suite else { return all }
            return all.filter { suite.prompt($0.key)?.tags.contains(tag) ?? false }
        }
        for v in values where v.direction != .none {
            let entries = models.map { Ranking.Entry(name: $0.name, units: units($0.name, v.name, tag: nil)) }.filter { !$0.units.isEmpty }
            let ranks = Ranking.ranks(entries, higherIsBetter: v.direction == .higher, settings: settings.bootstrap)
            for i in models.indices { let name = models[i].name; models[i].all.values[v.name]?.rank = ranks[name]?.rank }
            // Per tag: the headlines and composites only.
            guard let suite, v.isHeadline else { continue }
            for tag in suite.tags {
                let entries = models.map { Ranking.Entry(name: $0.name, units: units($0.name, v.name, tag: tag)) }.filter { !$0.units.isEmpty }
                guard !entries.isEmpty else { continue }
                let ranks = Ranking.ranks(entries, higherIsBetter: v.direction == .higher, settings: settings.bootstrap)
                for i in models.indices { let name = models[i].name; models[i].tags[tag]?.values[v.name]?.rank = ranks[name]?.rank }
            }
        }
    }

    /// Model-level composites (``CompositeScorer``), overall and per tag, with their ranks. Returns the score names present.
    static func composite(_ models: inout [ModelSummary], clips: [ScoredClip], restricted: [String: [String]], suite: PromptSuite?,
                          settings: ReportSettings) -> Set<String> {
        let scorer = CompositeScorer(groups: settings.composite, settings: settings.bootstrap)
        guard !scorer.terms.isEmpty else { return [] }
        var present = Set<String>()
        func units(_ model: String, tag: String?) -> (CompositeScorer.Units, clips: Int) {
            let mine = clips.filter { $0.row.name.model == model && $0.row.status == .ok && (tag == nil || $0.tags.contains(tag!)) }
            let byPrompt = Dictionary(grouping: mine, by: { $0.row.name.prompt })
            let u = scorer.units(prompts: byPrompt.keys.sorted()) { prompt, metric in
                let xs = byPrompt[prompt]!.filter { counts($0, for: metric, restricted: restricted, suite: suite) }.compactMap { $0.value(metric) }
                return xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
            }
            return (u, mine.count)
        }
        for tag in [nil] + (suite?.tags ?? []).map(Optional.some) {
            var all: [(name: String, units: CompositeScorer.Units)] = []
            for i in models.indices {
                let name = models[i].name
                let (u, n) = units(name, tag: tag)
                guard !u.prompts.isEmpty else { continue }
                all.append((name, u))
                for (score, a) in scorer.aggregates(u, clips: n, stream: [name, tag ?? ""]) {
                    present.insert(score)
                    if let tag { models[i].tags[tag]?.values[score] = a } else { models[i].all.values[score] = a }
                }
            }
            let ranks = scorer.ranks(all, stream: [tag ?? ""])
            for i in models.indices {
                let name = models[i].name
                for (score, byModel) in ranks {
                    if let tag { models[i].tags[tag]?.values[score]?.rank = byModel[name] } else { models[i].all.values[score]?.rank = byModel[name] }
                }
            }
        }
        return present
    }

    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
