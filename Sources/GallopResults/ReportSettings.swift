import GallopCore

/// How results are aggregated into scorecards: the bootstrap, the prompts
/// each metric is read on, and the composite. These change summaries only,
/// never a clip's numbers, so they are recorded in `summary.json` under their
/// own fingerprint rather than in the rows' config fingerprint.
public struct ReportSettings: Sendable, Hashable {
    public var bootstrap = BootstrapSettings()
    /// Metric → the prompt tags it is read on (any of them), and tags that
    /// rule a prompt out. A metric listed here is aggregated only over clips
    /// whose prompt qualifies, when a prompt suite is given (without one, over
    /// every clip, and the scorecard says so). Empty here: the defaults are
    /// each metric's own (its `readOn`), filled in by the caller that knows the
    /// metrics (GallopConfig's `Configuration`).
    public var restrict: [Restriction] = []
    /// Group scores, in order; `overall` is the mean of the scores of the groups that count in it (``CompositeGroup/inOverall``).
    /// Empty here: the defaults are each metric's composite term, filled in as `restrict`.
    public var composite: [CompositeGroup] = []

    public init() {}

    public struct Restriction: Sendable, Hashable {
        public var metric: String
        public var tags: [String]
        public var except: [String]
        public init(metric: String, tags: [String], except: [String] = []) {
            self.metric = metric
            self.tags = tags
            self.except = except
        }

        /// Whether a prompt with these tags qualifies.
        public func admits(_ promptTags: [String]) -> Bool {
            promptTags.contains { tags.contains($0) } && !promptTags.contains { except.contains($0) }
        }

        public var text: String { tags.joined(separator: ", ") + (except.isEmpty ? "" : " except " + except.joined(separator: ", ")) }
    }

    public func restriction(for metric: String) -> Restriction? { restrict.first { $0.metric == metric } }

    /// Every setting in a fixed order, for ``fingerprint``.
    public var canonical: String {
        var parts = ["bootstrap=\(bootstrap.resamples),\(bootstrap.seed),\(bootstrap.level)"]
        parts += restrict.map { "restrict.\($0.metric)=\($0.tags.joined(separator: ","))-\($0.except.joined(separator: ","))" }
        for group in composite {
            parts += group.terms.map { "composite.\(group.name).\($0.metric)=\($0.weight),\($0.worst),\($0.best)" }
            if !group.inOverall { parts.append("composite.\(group.name)=apart") }
        }
        return parts.joined(separator: ";")
    }

    public var fingerprint: String { fnv1a64(canonical) }
}

/// One composite group: a weighted mean of metrics mapped to 0–1.
public struct CompositeGroup: Sendable, Hashable {
    public var name: String
    public var terms: [CompositeTerm]
    /// Whether its score counts in `overall`. False for `audio`: only clips with sound have it, and `overall`
    /// must compare a model whose clips are silent with one whose clips have sound.
    public var inOverall: Bool
    public init(name: String, terms: [CompositeTerm], inOverall: Bool = true) {
        self.name = name
        self.terms = terms
        self.inOverall = inOverall
    }
}

/// A metric mapped linearly from `worst` (0) to `best` (1), clamped to 0–1.
/// The order of the bounds carries the metric's direction.
public struct CompositeTerm: Sendable, Hashable {
    public var metric: String
    public var weight: Double
    public var worst: Double
    public var best: Double
    public init(metric: String, weight: Double, worst: Double, best: Double) {
        self.metric = metric
        self.weight = weight
        self.worst = worst
        self.best = best
    }

    /// The value mapped to 0–1; nil when the bounds cannot map it (equal or not finite: the
    /// config reader refuses such a term, and a term built otherwise is left out, never divided by zero).
    public func score(_ value: Double) -> Double? {
        guard best != worst, best.isFinite, worst.isFinite, value.isFinite else { return nil }
        return min(1, max(0, (value - worst) / (best - worst)))
    }
}
