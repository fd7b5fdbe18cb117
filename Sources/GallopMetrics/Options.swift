import GallopCore
import GallopLearned

/// Every metric threshold and analysis parameter that changes a number, typed,
/// with its default (as libvmaf's per-extractor `VmafOption` tables: name,
/// type, default, range, help). Configs set them by `section.key`; the config
/// fingerprint covers every one, so changing any of them changes it.
public struct MetricSettings: Sendable, Hashable {
    /// One value per section. A metric's struct is declared in its file, beside the options table that names its fields.
    public var cuts = CutOptions()
    public var freeze = FreezeOptions()
    public var flicker = FlickerOptions()
    public var camera = CameraOptions()
    public var dynamic = DynamicOptions()
    public var flow = FlowOptions()
    public var silence = SilenceOptions()
    public var sync = SyncOptions()
    /// The configured learned models (resolved and hashed once by the run; see ``ModelRef``). Not an option: the
    /// run's fingerprint records their hashes for the selected metrics (`RunConfig.canonical`), ``canonical`` does not.
    public var models: [ModelKey: ModelRef] = [:]
    /// The clip's prompt id and the suite's text for it (`--prompts`), set per clip by the scorer for `clip_score`;
    /// not an option and not in ``canonical``.
    public var promptID: String?
    public var promptText: String?

    public init() {}

    /// The shared optical flow's (``DISFlow``).
    public struct FlowOptions: Sendable, Hashable {
        /// DIS patch stride and Gauss–Newton iterations (the patch is 8 px: one SIMD8 row).
        public var stride = 5
        public var iterations = 16
        /// How the backward flow (`warping_error`'s forward-backward check) is
        /// searched: 0 from scratch, coarse to fine; 1 at the motion size alone,
        /// starting from the negated forward flow, when the motion size's long side
        /// is at least 256 px (smaller frames cost little in full); 2 so always.
        public var warmBackward = 1
        /// The two-apart pair (`motion_smoothness`) is searched down to the
        /// smallest pyramid level whose long side is still at least this (px), the
        /// motion size when it is smaller: at the default motion size, 512, half of
        /// it, a quarter of the patches. The forward flow is always searched in full.
        public var skipSide = 256
        public init() {}
    }

    /// Every option in config order: each metric declares its own section in
    /// its file (``MetricInfo/options``); the shared flow analysis's section is
    /// declared here. Sections keep the order the fingerprints have always
    /// listed them in (``canonical``), then any other metric's in registry
    /// order, then `flow`.
    public static let options: [MetricOption] = {
        let first: [any Metric.Type] = [SceneCuts.self, Freeze.self, FlickerIndex.self, CameraMotion.self, DynamicDegree.self]
        let rest = MetricRegistry.all.filter { t in !first.contains { ObjectIdentifier($0) == ObjectIdentifier(t) } }
        return (first + rest).flatMap { $0.info.options } + flowOptions
    }()

    /// The optical flow (``DISFlow``) that every motion metric reads.
    static let flowOptions: [MetricOption] = [
        .int("flow", "stride", \.flow.stride, 1...8, "DIS patch stride (px; 4 at most on frames under 256 px)"),
        .int("flow", "iterations", \.flow.iterations, 1...200, "Gauss–Newton iterations per patch"),
        .int("flow", "warm_backward", \.flow.warmBackward, 0...2, "backward flow: 0 searched in full; 1 from the forward flow when the long side is 256 px or more; 2 always"),
        .int("flow", "skip_side", \.flow.skipSide, 16...8192, "the two-apart flows are searched down to a long side of at least this (px)"),
    ]

    /// The sections, in config order.
    public static var sections: [String] {
        var seen = Set<String>()
        return options.map(\.section).filter { seen.insert($0).inserted }
    }

    public static func option(section: String, key: String) -> MetricOption? {
        options.first { $0.section == section && $0.key == key }
    }

    /// `section.key=value;…` over every option: the fingerprint's share of the settings.
    public var canonical: String {
        MetricSettings.options.map { "\($0.section).\($0.key)=\($0.text(self))" }.joined(separator: ";")
    }
}

/// One typed option: where it lives in ``MetricSettings``, its range and help.
public struct MetricOption: @unchecked Sendable {
    public enum Kind: String, Sendable { case int, double }
    public let section: String
    public let key: String
    public let kind: Kind
    public let range: ClosedRange<Double>
    public let help: String
    private let read: (MetricSettings) -> Double
    private let write: (inout MetricSettings, Double) -> Void

    static func double(_ section: String, _ key: String, _ path: WritableKeyPath<MetricSettings, Double>,
                       _ range: ClosedRange<Double>, _ help: String) -> MetricOption {
        MetricOption(section: section, key: key, kind: .double, range: range, help: help,
                     read: { $0[keyPath: path] }, write: { $0[keyPath: path] = $1 })
    }

    static func int(_ section: String, _ key: String, _ path: WritableKeyPath<MetricSettings, Int>,
                    _ range: ClosedRange<Double>, _ help: String) -> MetricOption {
        MetricOption(section: section, key: key, kind: .int, range: range, help: help,
                     read: { Double($0[keyPath: path]) }, write: { $0[keyPath: path] = Int($1) })
    }

    public func value(_ settings: MetricSettings) -> Double { read(settings) }
    public var defaultValue: Double { read(MetricSettings()) }

    /// The value as a config file writes it.
    public func text(_ settings: MetricSettings) -> String {
        let v = read(settings)
        return kind == .int ? String(Int(v)) : "\(v)"
    }

    /// Sets a value, or says why it cannot be one (type, range).
    public func assign(_ value: Double, to settings: inout MetricSettings) throws(OptionError) {
        if kind == .int && value.rounded() != value { throw OptionError("must be a whole number") }
        guard range.contains(value) else {
            throw OptionError("must be in \(kind == .int ? "\(Int(range.lowerBound))...\(Int(range.upperBound))" : "\(range.lowerBound)...\(range.upperBound)")")
        }
        write(&settings, value)
    }
}

public struct OptionError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
