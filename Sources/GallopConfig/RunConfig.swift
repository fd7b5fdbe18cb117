import GallopCore
import GallopMetrics

/// The resolved scoring settings of a run: everything that changes a clip's
/// numbers. Its fingerprint keys the rows, so results of different settings
/// are never averaged, resumed or gated together.
public struct RunConfig: Sendable, Hashable {
    public var metrics: [String]
    public var maxSide: Int?
    public var every: Int
    public var maxFrames: Int?
    /// Long side of the optical-flow analysis size (frames are scaled down to it, never up).
    public var motionSide: Int
    /// Folder of reference clips for the full-reference metrics (nil: none).
    /// Only whether there is one enters the fingerprint.
    public var reference: String?
    public var options: MetricSettings

    public static let defaultMotionSide = 512

    public init(metrics: [String], maxSide: Int? = nil, every: Int = 1, maxFrames: Int? = nil,
                motionSide: Int = RunConfig.defaultMotionSide, reference: String? = nil, options: MetricSettings = MetricSettings()) {
        self.reference = reference
        self.metrics = metrics
        self.maxSide = maxSide
        self.every = every
        self.maxFrames = maxFrames
        self.motionSide = motionSide
        self.options = options
    }

    /// Every setting that changes a number, in a fixed order.
    public var canonical: String {
        "gallop=\(Gallop.version);schema=\(Gallop.schemaVersion);metrics=\(metrics.joined(separator: ","));"
            + "max_side=\(maxSide.map(String.init) ?? "native");every=\(every);max_frames=\(maxFrames.map(String.init) ?? "all");"
            + "motion_side=\(motionSide);flow=dis-9;reference=\(reference == nil ? "none" : "yes");" + options.canonical
    }

    public var fingerprint: String { fnv1a64(canonical) }

    /// True when every frame is read at native size, as peer-matching metrics require.
    public var nativeAndComplete: Bool { maxSide == nil && every == 1 && maxFrames == nil }

    /// The `config` object of each row.
    public var json: JSONValue {
        var sections: [(String, JSONValue)] = []
        for section in MetricSettings.sections {
            let values = MetricSettings.options.filter { $0.section == section }.map { ($0.key, JSONValue.number($0.value(options))) }
            sections.append((section, .object(values)))
        }
        return .object([
            ("fingerprint", .string(fingerprint)),
            ("gallop", .string(Gallop.version)),
            ("schema", .int(Gallop.schemaVersion)),
            ("flow", .string("dis-9")),
            ("metrics", .array(metrics.map { .string($0) })),
            ("max_side", maxSide.map { .int($0) } ?? .null),
            ("every", .int(every)),
            ("max_frames", maxFrames.map { .int($0) } ?? .null),
            ("motion_side", .int(motionSide)),
            ("reference", reference.map { .string($0) } ?? .null),
            ("native_every_frame", .bool(nativeAndComplete)),
            ("options", .object(sections)),
        ])
    }
}
