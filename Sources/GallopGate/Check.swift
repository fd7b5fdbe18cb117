import GallopCore
import GallopResults

/// `gallop check`: a candidate's results against a baseline's, clip paired
/// with clip by model, prompt id and seed.
///
/// Per model and gated metric (a headline with a better side), the paired
/// differences candidate − baseline are averaged per prompt and their mean
/// gets a seeded bootstrap interval resampling prompts
/// (``Bootstrap/clusteredMean(_:settings:stream:)``), given at least
/// ``Bootstrap/minimumUnits`` prompts (fewer: reported, not gated, and said
/// so). With `worse` = the difference in the metric's bad direction, the
/// metric regressed when the whole interval of `worse` lies above the
/// tolerance, and improved when it lies below −tolerance. Both means and the
/// relative tolerance are taken over the same prompts (prompt means). A
/// metric defined in the baseline and undefined (null) in the candidate on
/// some clip fails. With a prompt suite, a restricted metric is compared on
/// the prompts it is read on, as in the scorecard. Clip level: a clip `ok` in
/// the baseline and an error in the candidate fails the check, and so does a
/// baseline clip with no candidate (unless missing clips are allowed).
public struct Check: Sendable {
    public struct Options: Sendable {
        public var gate = GateSettings()
        public var bootstrap = BootstrapSettings()
        /// Candidate model name → baseline model name.
        public var modelMap: [String: String] = [:]
        public var allowMissing = false
        public var allowConfigChange = false
        /// Value name → direction, for the metrics the caller knows (others are not gated).
        public var directions: [String: Direction] = [:]
        /// With a suite: `camera_agreement` per clip, and restricted metrics compared on their prompts.
        public var suite: PromptSuite?
        public var restrict: [ReportSettings.Restriction] = []
        public init() {}
    }

    public enum Verdict: String, Sendable {
        case regression, improvement, unchanged
        /// Defined in the baseline and null in the candidate on some clip: fails.
        case lost = "became undefined"
        case notGated = "not gated"
        case tooFew = "too few prompts"
    }

    public struct MetricResult: Sendable {
        public var metric: String
        public var direction: Direction
        public var pairs: Int
        public var prompts: Int
        /// Means over the compared prompts (each prompt's clips averaged first).
        public var baselineMean: Double
        public var candidateMean: Double
        /// Mean paired difference, candidate − baseline (= candidateMean − baselineMean).
        public var difference: Double
        public var interval: Interval?
        /// The tolerance as configured, and in the metric's unit.
        public var tolerance: GateSettings.Tolerance?
        public var toleranceAmount: Double?
        public var verdict: Verdict
        /// Clips defined in the baseline and null in the candidate.
        public var lostClips: [String] = []

        /// The interval of the change in the bad direction (positive = worse).
        public var worse: Interval? {
            interval.map { direction == .higher ? Interval(low: -$0.high, high: -$0.low) : $0 }
        }

        /// How far past the tolerance the interval lies, in tolerances (for ordering the worst first).
        public var severity: Double {
            if verdict == .lost { return .infinity }
            guard let w = worse, let t = toleranceAmount else { return 0 }
            let past = verdict == .regression ? w.low - t : -t - w.high
            return past / max(t, 1e-12)
        }

        public var fails: Bool { verdict == .regression || verdict == .lost }
    }

    public struct ClipProblem: Sendable, Equatable {
        public var path: String
        public var message: String
    }

    public struct ModelResult: Sendable {
        /// The candidate's model name, and the baseline's it was compared with.
        public var name: String
        public var baselineName: String
        public var paired: Int
        /// Pairs where both clips were scored.
        public var scoredPairs: Int
        public var metrics: [MetricResult]
        /// Clips `ok` in the baseline and errors in the candidate.
        public var newlyFailing: [ClipProblem]
        /// Baseline clips with no candidate clip.
        public var missing: [String]
        /// Candidate clips with no baseline clip.
        public var extra: [String]

        public var regressions: [MetricResult] { metrics.filter(\.fails) }
        public var improvements: [MetricResult] { metrics.filter { $0.verdict == .improvement } }
        public func failed(allowMissing: Bool) -> Bool {
            !regressions.isEmpty || !newlyFailing.isEmpty || (!allowMissing && !missing.isEmpty)
        }
    }

    public struct Result: Sendable {
        public var models: [ModelResult]
        /// Settings that differ between two configs of different fingerprints (reported when allowed).
        public var configDifferences: [String]
        /// Clips that share a model, prompt and seed with another on the same side (the first by path was used).
        public var duplicates: [String]
        public var allowMissing: Bool
        public var baselineFingerprint: String
        public var candidateFingerprint: String
        public var gate: GateSettings
        public var bootstrap: BootstrapSettings

        public var failed: Bool { models.contains { $0.failed(allowMissing: allowMissing) } }
    }

    /// Inputs that cannot be compared: no clips, other configs or schema, nothing paired (exit 3).
    public struct NotComparable: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Options that contradict the inputs (a model map that merges models): a usage error (exit 2).
    public struct UsageError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    struct Key: Hashable, Comparable {
        var model: String, prompt: String, seed: Int?
        static func < (a: Key, b: Key) -> Bool { (a.model, a.prompt, a.seed ?? Int.min) < (b.model, b.prompt, b.seed ?? Int.min) }
    }

    public static func run(candidate: [ClipResult], baseline: [ClipResult], options: Options) throws -> Result {
        guard !baseline.isEmpty else { throw NotComparable(message: "the baseline has no result rows") }
        guard !candidate.isEmpty else { throw NotComparable(message: "the candidate has no result rows") }
        for (side, rows) in [("baseline", baseline), ("candidate", candidate)] {
            let schemas = Set(rows.map(\.schemaVersion))
            if schemas.count > 1 { throw NotComparable(message: "the \(side) mixes rows of schema versions \(schemas.sorted().map(String.init).joined(separator: ", "))") }
            let fps = Set(rows.map(\.fingerprint))
            if fps.count > 1 {
                throw NotComparable(message: "the \(side) mixes rows of \(fps.count) configs (\(fps.sorted().joined(separator: ", "))); check one run at a time")
            }
        }
        if baseline[0].schemaVersion != candidate[0].schemaVersion {
            throw NotComparable(message: "the rows have different schema versions (baseline \(baseline[0].schemaVersion), candidate \(candidate[0].schemaVersion)): re-score the baseline with this Gallop")
        }
        let sameConfig = baseline[0].fingerprint == candidate[0].fingerprint
        let differences = sameConfig ? [] : ConfigDifference.between(baseline[0].config, candidate[0].config)
        if !sameConfig && !options.allowConfigChange {
            let what = differences.isEmpty ? " (a setting the rows do not list: Gallop's flow or schema)" : ": " + differences.prefix(6).joined(separator: "; ")
            throw NotComparable(message: "baseline and candidate were scored with different configs (fingerprints \(baseline[0].fingerprint) and \(candidate[0].fingerprint))\(what). Score both with the same settings, or pass --allow-config-change")
        }
        let candidateModels = Set(candidate.map(\.name.model))
        var targets: [String: String] = [:]
        for model in candidateModels.sorted() {
            let target = options.modelMap[model] ?? model
            if let other = targets[target] {
                throw UsageError(message: "--model-map: candidate models \(other) and \(model) would both be compared with baseline model \(target)")
            }
            targets[target] = model
        }
        var duplicates: [String] = []
        func index(_ rows: [ClipResult], map: [String: String]) -> [Key: ClipResult] {
            var out: [Key: ClipResult] = [:]
            for row in rows.sorted(by: { $0.path < $1.path }) {
                let key = Key(model: map[row.name.model] ?? row.name.model, prompt: row.name.prompt, seed: row.name.seed)
                if let first = out[key] { duplicates.append("\(row.path) (same model, prompt and seed as \(first.path), which was used)") } else { out[key] = row }
            }
            return out
        }
        let base = index(baseline, map: [:]), cand = index(candidate, map: options.modelMap)
        let paired = Set(base.keys).intersection(cand.keys)
        guard !paired.isEmpty else {
            let bm = Set(base.keys.map(\.model)).sorted(), cm = candidateModels.sorted()
            var hint = "--model-map NEW=OLD pairs renamed models"
            let baseSeeded = base.keys.contains { $0.seed != nil }, candSeeded = cand.keys.contains { $0.seed != nil }
            if baseSeeded != candSeeded { hint = "the \(baseSeeded ? "baseline" : "candidate")'s clips have seeds and the \(baseSeeded ? "candidate" : "baseline")'s do not" }
            throw NotComparable(message: "no candidate clip pairs with a baseline clip by model, prompt and seed (baseline models: \(bm.joined(separator: ", ")); candidate models: \(cm.joined(separator: ", ")); \(hint))")
        }
        let derivedBase = Dictionary(uniqueKeysWithValues: base.map { ($0.key, Aggregation.derive($0.value, suite: options.suite)) })
        let derivedCand = Dictionary(uniqueKeysWithValues: cand.map { ($0.key, Aggregation.derive($0.value, suite: options.suite)) })
        var results: [ModelResult] = []
        for model in Set(base.keys.map(\.model)).union(cand.keys.map(\.model)).sorted() {
            let keys = paired.filter { $0.model == model }.sorted()
            var result = ModelResult(name: targets[model] ?? model, baselineName: model, paired: keys.count, scoredPairs: 0, metrics: [],
                                     newlyFailing: [], missing: [], extra: [])
            for key in keys where base[key]!.status == .ok && cand[key]!.status == .error {
                let row = cand[key]!
                result.newlyFailing.append(ClipProblem(path: row.path, message: row.error ?? "error"))
            }
            // A baseline model with no candidate clip at all: every clip is missing.
            result.missing = base.keys.filter { $0.model == model && cand[$0] == nil }.sorted().map { base[$0]!.path }
            result.extra = cand.keys.filter { $0.model == model && base[$0] == nil }.sorted().map { cand[$0]!.path }
            let okPairs = keys.filter { base[$0]!.status == .ok && cand[$0]!.status == .ok }.map { (derivedBase[$0]!, derivedCand[$0]!) }
            result.scoredPairs = okPairs.count
            result.metrics = metricNames(okPairs, options).map { compare($0, okPairs, options) }
            results.append(result)
        }
        guard results.contains(where: { $0.scoredPairs > 0 }) || results.contains(where: { !$0.newlyFailing.isEmpty }) else {
            throw NotComparable(message: "no pair of clips was scored on both sides (every paired clip is an error in the baseline or the candidate)")
        }
        return Result(models: results, configDifferences: differences, duplicates: duplicates, allowMissing: options.allowMissing,
                      baselineFingerprint: baseline[0].fingerprint, candidateFingerprint: candidate[0].fingerprint,
                      gate: options.gate, bootstrap: options.bootstrap)
    }

    /// The gated values the baseline has, in its order (headlines, then camera agreement).
    static func metricNames(_ pairs: [(ScoredClip, ScoredClip)], _ options: Options) -> [String] {
        var order: [String] = []
        var seen = Set<String>()
        for (b, _) in pairs { for (k, _) in b.values where seen.insert(k).inserted { order.append(k) } }
        return order.filter { options.directions[$0] != nil }
    }

    static func compare(_ metric: String, _ pairs: [(ScoredClip, ScoredClip)], _ options: Options) -> MetricResult {
        let direction = options.directions[metric] ?? .none
        let restriction = options.suite == nil ? nil : options.restrict.first { $0.metric == metric }
        var byPrompt: [String: (base: [Double], cand: [Double])] = [:]
        var lost: [String] = []
        for (b, c) in pairs {
            if let r = restriction, !r.admits(b.tags) { continue }
            guard let x = b.value(metric) else { continue }
            guard let y = c.value(metric) else { lost.append(c.row.path); continue }
            byPrompt[b.row.name.prompt, default: ([], [])].base.append(x)
            byPrompt[b.row.name.prompt, default: ([], [])].cand.append(y)
        }
        let ids = byPrompt.keys.sorted()
        func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }
        let baseMeans = ids.map { mean(byPrompt[$0]!.base) }, candMeans = ids.map { mean(byPrompt[$0]!.cand) }
        let baselineMean = ids.isEmpty ? .nan : mean(baseMeans), candidateMean = ids.isEmpty ? .nan : mean(candMeans)
        let clusters = ids.map { id in zip(byPrompt[id]!.cand, byPrompt[id]!.base).map { $0 - $1 } }
        var r = MetricResult(metric: metric, direction: direction, pairs: clusters.reduce(0) { $0 + $1.count }, prompts: ids.count,
                             baselineMean: baselineMean, candidateMean: candidateMean, difference: candidateMean - baselineMean,
                             interval: nil, tolerance: nil, toleranceAmount: nil, verdict: .notGated, lostClips: lost)
        guard direction != .none else { return r }
        let tolerance = options.gate.tolerance(for: metric)
        r.tolerance = tolerance
        r.toleranceAmount = tolerance.amount(baselineMean: baselineMean)
        if !lost.isEmpty {
            r.verdict = .lost
            return r
        }
        // The stream: the seed with the metric and the prompt ids (not the model), as the scorecard's.
        guard ids.count >= Bootstrap.minimumUnits,
              let interval = Bootstrap.clusteredMean(clusters, settings: options.bootstrap, stream: Bootstrap.stream(["check", metric] + ids)) else {
            r.verdict = .tooFew
            return r
        }
        r.interval = interval
        let t = r.toleranceAmount!, worse = r.worse!
        r.verdict = worse.low > t ? .regression : worse.high < -t ? .improvement : .unchanged
        return r
    }
}
