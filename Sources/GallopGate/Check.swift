import GallopCore
import GallopResults

/// `gallop check`: a candidate's results against a baseline's, clip paired
/// with clip by model, prompt id and seed.
///
/// Per model and gated metric (a headline with a better side), the paired
/// differences candidate − baseline are averaged per prompt and their mean
/// gets a seeded bootstrap interval resampling prompts
/// (``Bootstrap/clusteredMean(_:settings:stream:)``), given at least
/// ``Bootstrap/minimumUnits`` prompts (fewer: reported, not gated). With `worse` = the
/// difference in the metric's bad direction, the metric regressed when the
/// whole interval of `worse` lies above the tolerance, and improved when it
/// lies below −tolerance; otherwise it is unchanged. Clip level: a clip `ok`
/// in the baseline and an error in the candidate fails the check, and so does
/// a baseline clip with no candidate (unless missing clips are allowed).
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
        public init() {}
    }

    public enum Verdict: String, Sendable { case regression, improvement, unchanged, notGated = "not gated", tooFew = "too few prompts" }

    public struct MetricResult: Sendable {
        public var metric: String
        public var direction: Direction
        public var pairs: Int
        public var prompts: Int
        public var baselineMean: Double
        public var candidateMean: Double
        /// Mean paired difference, candidate − baseline (prompt means averaged).
        public var difference: Double
        public var interval: Interval?
        /// The tolerance as configured, and in the metric's unit.
        public var tolerance: GateSettings.Tolerance?
        public var toleranceAmount: Double?
        public var verdict: Verdict

        /// How far past the tolerance the interval lies, in tolerances (for ordering the worst first).
        public var severity: Double {
            guard let i = interval, let t = toleranceAmount else { return 0 }
            let worse = direction == .higher ? Interval(low: -i.high, high: -i.low) : i
            let past = verdict == .regression ? worse.low - t : -t - worse.high
            return past / max(t, 1e-12)
        }
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
        public var metrics: [MetricResult]
        /// Clips `ok` in the baseline and errors in the candidate.
        public var newlyFailing: [ClipProblem]
        /// Baseline clips with no candidate clip (candidate-side names).
        public var missing: [String]
        /// Candidate clips with no baseline clip.
        public var extra: [String]

        public var regressions: [MetricResult] { metrics.filter { $0.verdict == .regression } }
        public var improvements: [MetricResult] { metrics.filter { $0.verdict == .improvement } }
    }

    public struct Result: Sendable {
        public var models: [ModelResult]
        /// Settings that differ between the two configs (reported when allowed).
        public var configDifferences: [String]
        public var allowMissing: Bool
        public var baselineFingerprint: String
        public var candidateFingerprint: String
        public var gate: GateSettings
        public var bootstrap: BootstrapSettings

        public var failed: Bool {
            models.contains { !$0.regressions.isEmpty || !$0.newlyFailing.isEmpty || (!allowMissing && !$0.missing.isEmpty) }
        }
    }

    /// Inputs that cannot be compared: no clips, other configs, nothing paired (exit 3).
    public struct NotComparable: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    struct Key: Hashable, Comparable {
        var model: String, prompt: String, seed: Int
        static func < (a: Key, b: Key) -> Bool { (a.model, a.prompt, a.seed) < (b.model, b.prompt, b.seed) }
    }

    public static func run(candidate: [ClipResult], baseline: [ClipResult], options: Options) throws(NotComparable) -> Result {
        guard !baseline.isEmpty else { throw NotComparable(message: "the baseline has no result rows") }
        guard !candidate.isEmpty else { throw NotComparable(message: "the candidate has no result rows") }
        for (side, rows) in [("baseline", baseline), ("candidate", candidate)] {
            let fps = Set(rows.map(\.fingerprint))
            if fps.count > 1 {
                throw NotComparable(message: "the \(side) mixes rows of \(fps.count) configs (\(fps.sorted().joined(separator: ", "))); check one run at a time")
            }
        }
        let differences = ConfigDifference.between(baseline[0].config, candidate[0].config)
        if baseline[0].fingerprint != candidate[0].fingerprint && !options.allowConfigChange {
            let what = differences.isEmpty ? "" : ": " + differences.prefix(6).joined(separator: "; ")
            throw NotComparable(message: "baseline and candidate were scored with different configs (fingerprints \(baseline[0].fingerprint) and \(candidate[0].fingerprint))\(what). Score both with the same settings, or pass --allow-config-change")
        }
        // Pair by (baseline model, prompt, seed); a seedless clip pairs as seed -1.
        func index(_ rows: [ClipResult], map: [String: String]) -> [Key: ClipResult] {
            var out: [Key: ClipResult] = [:]
            for row in rows.sorted(by: { $0.path < $1.path }) {
                let key = Key(model: map[row.name.model] ?? row.name.model, prompt: row.name.prompt, seed: row.name.seed ?? -1)
                if out[key] == nil { out[key] = row }
            }
            return out
        }
        let base = index(baseline, map: [:]), cand = index(candidate, map: options.modelMap)
        let paired = Set(base.keys).intersection(cand.keys)
        guard !paired.isEmpty else {
            let bm = Set(base.keys.map(\.model)).sorted(), cm = Set(candidate.map(\.name.model)).sorted()
            throw NotComparable(message: "no candidate clip pairs with a baseline clip by model, prompt and seed (baseline models: \(bm.joined(separator: ", ")); candidate models: \(cm.joined(separator: ", ")); --model-map NEW=OLD pairs renamed models)")
        }
        var reverse: [String: String] = [:]
        for row in candidate { reverse[options.modelMap[row.name.model] ?? row.name.model] = row.name.model }
        let models = Set(base.keys.map(\.model)).union(cand.keys.map(\.model)).sorted()
        var results: [ModelResult] = []
        for model in models {
            let keys = paired.filter { $0.model == model }.sorted()
            guard cand.keys.contains(where: { $0.model == model }) else { continue }  // a baseline model with no candidate clips is not checked
            var result = ModelResult(name: reverse[model] ?? model, baselineName: model, paired: keys.count, metrics: [], newlyFailing: [], missing: [], extra: [])
            for key in keys where base[key]!.status == .ok && cand[key]!.status == .error {
                let row = cand[key]!
                result.newlyFailing.append(ClipProblem(path: row.path, message: row.error ?? "error"))
            }
            result.missing = base.keys.filter { $0.model == model && cand[$0] == nil }.sorted().map { base[$0]!.path }
            result.extra = cand.keys.filter { $0.model == model && base[$0] == nil }.sorted().map { cand[$0]!.path }
            let okPairs = keys.filter { base[$0]!.status == .ok && cand[$0]!.status == .ok }.map { (base[$0]!, cand[$0]!) }
            result.metrics = metricNames(okPairs, options).map { compare($0, okPairs, model: model, options) }
            results.append(result)
        }
        return Result(models: results, configDifferences: differences, allowMissing: options.allowMissing,
                      baselineFingerprint: baseline[0].fingerprint, candidateFingerprint: candidate[0].fingerprint,
                      gate: options.gate, bootstrap: options.bootstrap)
    }

    /// The headline values both sides have, in the baseline's order.
    static func metricNames(_ pairs: [(ClipResult, ClipResult)], _ options: Options) -> [String] {
        var order: [String] = []
        var seen = Set<String>()
        for (b, _) in pairs { for (k, _) in b.metrics where seen.insert(k).inserted { order.append(k) } }
        return order.filter { options.directions[$0] != nil }
    }

    static func compare(_ metric: String, _ pairs: [(ClipResult, ClipResult)], model: String, _ options: Options) -> MetricResult {
        let direction = options.directions[metric] ?? .none
        var byPrompt: [String: [Double]] = [:]
        var bSum = 0.0, cSum = 0.0, n = 0
        for (b, c) in pairs {
            guard let x = b.value(metric), let y = c.value(metric), x.isFinite, y.isFinite else { continue }
            byPrompt[b.name.prompt, default: []].append(y - x)
            bSum += x
            cSum += y
            n += 1
        }
        let clusters = byPrompt.keys.sorted().map { byPrompt[$0]! }
        let means = clusters.map { $0.reduce(0, +) / Double($0.count) }
        let difference = means.isEmpty ? .nan : means.reduce(0, +) / Double(means.count)
        let baselineMean = n > 0 ? bSum / Double(n) : .nan
        var r = MetricResult(metric: metric, direction: direction, pairs: n, prompts: clusters.count, baselineMean: baselineMean,
                             candidateMean: n > 0 ? cSum / Double(n) : .nan, difference: difference, interval: nil,
                             tolerance: nil, toleranceAmount: nil, verdict: .notGated)
        guard direction != .none else { return r }
        let tolerance = options.gate.tolerance(for: metric)
        r.tolerance = tolerance
        r.toleranceAmount = tolerance.amount(baselineMean: baselineMean)
        let ids = byPrompt.keys.sorted()
        guard ids.count >= Bootstrap.minimumUnits,
              let interval = Bootstrap.clusteredMean(clusters, settings: options.bootstrap, stream: Bootstrap.stream(["check", metric] + ids)) else {
            r.verdict = .tooFew
            return r
        }
        r.interval = interval
        let worse = direction == .higher ? Interval(low: -interval.high, high: -interval.low) : interval
        let t = r.toleranceAmount!
        r.verdict = worse.low > t ? .regression : worse.high < -t ? .improvement : .unchanged
        return r
    }
}
