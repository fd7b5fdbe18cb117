import GallopCore

/// How much worse a metric may get before `gallop check` calls it a
/// regression: per metric, an absolute amount in the metric's unit or a
/// fraction of the baseline mean, always in the metric's bad direction. A
/// regression needs the whole interval of the mean paired difference past
/// the tolerance, so noise alone does not fail a job.
public struct GateSettings: Sendable, Hashable {
    /// For a metric with a better side and no entry of its own.
    public var fallback = Tolerance(kind: .relative, value: 0.05)
    /// Per value. Empty here: the defaults are declared by each metric and
    /// filled in by the caller that knows the metrics (GallopConfig's
    /// `Configuration`), chosen so that a re-encode that looks the same (x264
    /// CRF 18 against 20) passes and the demo's defects fail (README, "Setting tolerances").
    public var tolerances: [String: Tolerance] = [:]

    public init() {}

    public typealias Tolerance = GallopCore.Tolerance

    public func tolerance(for metric: String) -> Tolerance { tolerances[metric] ?? fallback }

    /// Every setting in a fixed order.
    public var canonical: String {
        (["default=\(fallback.kind.rawValue):\(fallback.value)"]
            + tolerances.keys.sorted().map { "\($0)=\(tolerances[$0]!.kind.rawValue):\(tolerances[$0]!.value)" }).joined(separator: ";")
    }
}
