import GallopConfig
import GallopCore
import GallopResults

/// `gallop check`: a candidate's results against a baseline's, clip paired
/// with clip by model, prompt id and seed.
///
/// Per model and gated metric (a headline or derived value with a better side, or a secondary value the
/// gate has a tolerance for, as `av_offset_abs_ms`: ``CheckRun/knownDirections(gate:)``), the paired
/// differences candidate − baseline are averaged per prompt; `worse` is that
/// mean in the metric's bad direction (positive = worse) and t the tolerance.
///
/// - At least ``Bootstrap/minimumUnits`` (8) prompts: the mean of `worse` gets
///   a seeded bootstrap interval resampling prompts
///   (``Bootstrap/clusteredMean(_:settings:stream:)``); the metric regressed
///   when the whole interval lies above t, and improved when it lies below −t.
/// - 1 to 7 prompts: the exact one-sided sign-flip test
///   (``SignFlip/pValue(_:)``) of the per-prompt `worse − t` (regression) and
///   `−worse − t` (improvement) at α = 1 − the bootstrap level (0.05 by
///   default); the metric regressed when p ≤ α. A relative tolerance is taken
///   per prompt there (the fraction of that prompt's baseline mean): prompts
///   of real footage differ a lot (sharpness 300 on one, 6000 on another), and
///   one amount for all would let a 96% sharpness loss on a low-sharpness
///   prompt count as within tolerance. Its smallest p is 2⁻ⁿ, so it
///   decides from ``SignFlip/smallestDecisive(alpha:)`` prompts on (5 at
///   0.05). Below that nothing can reach α: a mean change past t in the bad
///   direction is ``Verdict/undecided`` (never a silent pass: `gallop check`
///   exits 4 unless undecided metrics are allowed), one within t (or better)
///   is ``Verdict/untested``.
///
/// Both means and the relative tolerance are taken over the same prompts
/// (prompt means). A metric defined in the baseline and undefined (null) in
/// the candidate on some clip fails; a metric the candidate did not score at
/// all (absent from every candidate row of the model: another config, fewer
/// metrics) is reported as not scored and not compared. With a prompt suite,
/// `camera_agreement` is derived per clip and a restricted metric is compared
/// on the prompts it is read on, as in the scorecard. Clip level: a clip `ok`
/// in the baseline and an error in the candidate fails the check, and so does
/// a baseline clip with no candidate (unless missing clips are allowed).
public struct Check: Sendable {
    public struct Options: Sendable {
        /// The metrics' declared tolerances unless the caller's config says otherwise.
        public var gate = ValueCatalog.gate
        public var bootstrap = BootstrapSettings()
        /// Candidate model name → baseline model name.
        public var modelMap: [String: String] = [:]
        public var allowMissing = false
        public var allowConfigChange = false
        /// Undecided metrics (too few prompts to decide a change past the tolerance) are a warning, not exit 4.
        public var allowUndecided = false
        /// Value name → direction, for the metrics the caller knows (others are not gated).
        public var directions: [String: Direction] = [:]
        /// With a suite: the derived values per clip (`derived`), and restricted metrics compared on their prompts.
        public var suite: PromptSuite?
        /// The values derived per clip with a suite (the caller's catalogue: `camera_agreement`).
        public var derived: [ValueDescriptor] = ValueCatalog.derived
        public var restrict: [ReportSettings.Restriction] = []
        public init() {}
    }

    public enum Verdict: String, Sendable {
        case regression, improvement, unchanged
        /// Defined in the baseline and null in the candidate on some clip: fails.
        case lost = "became undefined"
        /// Absent from every candidate row of the model (the candidate ran without it): not compared.
        case notScored = "not scored in the candidate"
        case notGated = "not gated"
        /// Fewer prompts than the exact test needs to reach α, and the mean change is past the
        /// tolerance in the bad direction: neither a pass nor a failure (`gallop check` exits 4).
        case undecided
        /// Fewer prompts than the exact test needs to reach α, and the mean change is within the
        /// tolerance or better: not tested, not a failure.
        case untested
        /// No paired prompt reads the metric (a restriction none of them meets).
        case noPrompts = "no prompts"
    }

    /// How a metric's verdict was reached.
    public enum Method: String, Sendable {
        /// The bootstrap interval of the mean change (at least ``Bootstrap/minimumUnits`` prompts).
        case bootstrap
        /// The exact sign-flip test (fewer prompts).
        case signFlip = "sign-flip"
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
        /// The test that decided (nil when none ran).
        public var method: Method?
        /// With the sign-flip test: the one-sided p-values of "worse by more than the tolerance"
        /// and "better by more than the tolerance", and the level they are read at.
        public var pRegression: Double?
        public var pImprovement: Double?
        public var alpha: Double?

        /// The mean change in the bad direction (positive = worse).
        public var worseBy: Double { direction == .higher ? -difference : difference }

        /// The interval of the change in the bad direction (positive = worse).
        public var worse: Interval? {
            interval.map { direction == .higher ? Interval(low: -$0.high, high: -$0.low) : $0 }
        }

        /// How far past the tolerance the interval (or, without one, the mean change) lies, in
        /// tolerances (for ordering the worst first).
        public var severity: Double {
            if verdict == .lost { return .infinity }
            guard let t = toleranceAmount else { return 0 }
            let past: Double
            if let w = worse {
                past = verdict == .regression ? w.low - t : -t - w.high
            } else {
                past = verdict == .improvement ? -worseBy - t : worseBy - t
            }
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
        public var undecided: [MetricResult] { metrics.filter { $0.verdict == .undecided } }
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
        public var allowUndecided: Bool
        /// The one-sided level of the small-set test (1 − the bootstrap level).
        public var alpha: Double
        public var baselineFingerprint: String
        public var candidateFingerprint: String
        public var gate: GateSettings
        public var bootstrap: BootstrapSettings

        public var failed: Bool { models.contains { $0.failed(allowMissing: allowMissing) } }
        /// No failure, and some metric undecided (too few prompts to decide a change past its tolerance).
        public var hasUndecided: Bool { !failed && models.contains { !$0.undecided.isEmpty } }
        /// Undecided and not allowed: `gallop check` exits 4.
        public var blockedByUndecided: Bool { hasUndecided && !allowUndecided }
        /// The fewest paired prompts on which a regression can fail at ``alpha``.
        public var smallestDecisive: Int { SignFlip.smallestDecisive(alpha: alpha) }
        /// `fail`, `undecided` (not allowed) or `pass`.
        public var verdictWord: String { failed ? "fail" : blockedByUndecided ? "undecided" : "pass" }
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
        // A prompt suite that matches none of the rows would compare nothing and pass: refused, as `score` and `report` refuse it.
        if let suite = options.suite, let error = suite.noClipIn(prompts: (baseline + candidate).map(\.name.prompt)) {
            throw UsageError(message: error.description)
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
        let derivedBase = Dictionary(uniqueKeysWithValues: base.map { ($0.key, Aggregation.derive($0.value, suite: options.suite, derived: options.derived)) })
        let derivedCand = Dictionary(uniqueKeysWithValues: cand.map { ($0.key, Aggregation.derive($0.value, suite: options.suite, derived: options.derived)) })
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
                      allowUndecided: options.allowUndecided, alpha: 1 - options.bootstrap.level, baselineFingerprint: baseline[0].fingerprint, candidateFingerprint: candidate[0].fingerprint,
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
        // The candidate scored the metric when some candidate row has it (a number or null).
        let scored = pairs.contains { isScored(metric, $0.1.row, derived: options.derived) }
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
        if !scored {
            r.verdict = .notScored
            r.lostClips = []
            return r
        }
        guard direction != .none else { return r }
        let tolerance = options.gate.tolerance(for: metric)
        r.tolerance = tolerance
        r.toleranceAmount = tolerance.amount(baselineMean: baselineMean)
        if !lost.isEmpty {
            r.verdict = .lost
            return r
        }
        guard !ids.isEmpty else {
            r.verdict = .noPrompts
            return r
        }
        let t = r.toleranceAmount!
        if ids.count < Bootstrap.minimumUnits {
            // The per-prompt mean change in the bad direction.
            let worse = clusters.map { c in (direction == .higher ? -1 : 1) * c.reduce(0, +) / Double(c.count) }
            let alpha = 1 - options.bootstrap.level
            r.alpha = alpha
            if ids.count < SignFlip.smallestDecisive(alpha: alpha) {
                r.verdict = r.worseBy > t ? .undecided : .untested
                return r
            }
            r.method = .signFlip
            // Each prompt against its own tolerance: a relative one is a fraction of that prompt's
            // baseline (their mean is t when the baseline means share a sign), so a prompt with a
            // small baseline is not held to the large prompts' amount.
            let own = baseMeans.map { tolerance.kind == .relative ? tolerance.value * abs($0) : t }
            let pWorse = SignFlip.pValue(zip(worse, own).map { $0 - $1 }), pBetter = SignFlip.pValue(zip(worse, own).map { -$0 - $1 })
            r.pRegression = pWorse
            r.pImprovement = pBetter
            // A relative slack so that p = α exactly (2⁻ⁿ at α = 2⁻ⁿ) decides.
            let level = alpha * (1 + 1e-9)
            r.verdict = pWorse <= level ? .regression : pBetter <= level ? .improvement : .unchanged
            return r
        }
        // The stream: the seed with the metric and the prompt ids (not the model), as the scorecard's.
        let interval = Bootstrap.clusteredMean(clusters, settings: options.bootstrap, stream: Bootstrap.stream(["check", metric] + ids))!
        r.interval = interval
        r.method = .bootstrap
        let worse = r.worse!
        r.verdict = worse.low > t ? .regression : worse.high < -t ? .improvement : .unchanged
        return r
    }

    /// Whether `row` has `metric` at all (a number or null); a derived value (`camera_agreement`,
    /// from `camera_motion`'s class; `loudness_off_target`, from `loudness_lufs`) was scored when the metric it is derived from was.
    static func isScored(_ metric: String, _ row: ClipResult, derived: [ValueDescriptor]) -> Bool {
        if let match = derived.first(where: { $0.name == metric })?.match { return row.extras.contains { $0.0 == match.metric } }
        if let t = derived.first(where: { $0.name == metric })?.offTarget { return row.metrics.contains { $0.0 == t.metric } }
        return row.metrics.contains { $0.0 == metric }
    }
}
