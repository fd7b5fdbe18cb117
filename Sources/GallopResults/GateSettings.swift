/// How much worse a metric may get before `gallop check` calls it a
/// regression: per metric, an absolute amount in the metric's unit or a
/// fraction of the baseline mean, always in the metric's bad direction. A
/// regression needs the whole interval of the mean paired difference past
/// the tolerance, so noise alone does not fail a job.
public struct GateSettings: Sendable, Hashable {
    /// For a metric with a better side and no entry of its own.
    public var fallback = Tolerance(kind: .relative, value: 0.05)
    public var tolerances: [String: Tolerance] = GateSettings.defaults

    public init() {}

    public struct Tolerance: Sendable, Hashable {
        public enum Kind: String, Sendable { case absolute, relative }
        public var kind: Kind
        public var value: Double
        public init(kind: Kind, value: Double) {
            self.kind = kind
            self.value = value
        }

        /// The tolerance in the metric's unit, given the baseline mean.
        public func amount(baselineMean: Double) -> Double {
            kind == .absolute ? value : value * abs(baselineMean)
        }

        public var text: String { kind == .absolute ? "\(value)" : "\(value * 100)%" }
    }

    public func tolerance(for metric: String) -> Tolerance { tolerances[metric] ?? fallback }

    /// Chosen so that a re-encode that looks the same (x264 CRF 18 against 20)
    /// passes and the demo's defects fail; measured in `GateTests` and
    /// `scripts/check-sim` (README, "Setting tolerances").
    public static let defaults: [String: Tolerance] = [
        "temporal_flickering": Tolerance(kind: .absolute, value: 0.002),
        "flicker_index": Tolerance(kind: .absolute, value: 0.5),
        "freeze_ratio": Tolerance(kind: .absolute, value: 0.05),
        "scene_cuts": Tolerance(kind: .absolute, value: 0.1),
        "warping_error": Tolerance(kind: .relative, value: 0.2),
        "motion_smoothness": Tolerance(kind: .absolute, value: 0.002),
        "camera_agreement": Tolerance(kind: .absolute, value: 0.1),
        "sharpness": Tolerance(kind: .relative, value: 0.15),
        "noise_sigma": Tolerance(kind: .relative, value: 0.15),
        "psnr": Tolerance(kind: .absolute, value: 0.5),
        "ssim": Tolerance(kind: .absolute, value: 0.005),
        "ssim_fast": Tolerance(kind: .absolute, value: 0.005),
        "ms_ssim": Tolerance(kind: .absolute, value: 0.005),
    ]

    /// Every setting in a fixed order.
    public var canonical: String {
        (["default=\(fallback.kind.rawValue):\(fallback.value)"]
            + tolerances.keys.sorted().map { "\($0)=\(tolerances[$0]!.kind.rawValue):\(tolerances[$0]!.value)" }).joined(separator: ";")
    }
}
