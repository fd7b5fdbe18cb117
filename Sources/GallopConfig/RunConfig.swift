import GallopCore
import GallopLearned
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
    /// The configured learned models, resolved and hashed (``ModelRef``). Only the identities of the models the
    /// selected metrics run enter the fingerprint (``usedModels``): a run without learned metrics keeps the
    /// fingerprint it had before they existed.
    public var models: [ModelKey: ModelRef] = [:]

    public static let defaultMotionSide = 512

    /// The models the selected metrics run, in key order.
    public var usedModels: [ModelRef] {
        let keys = Set(metrics.compactMap { MetricRegistry.type(named: $0) }.flatMap { $0.info.models })
        return ModelKey.allCases.filter(keys.contains).compactMap { models[$0] }
    }

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
            + (usedModels.isEmpty ? "" : ";models=" + usedModels.map { "\($0.key):\($0.identity)" }.joined(separator: ","))
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
        var fields: [(String, JSONValue)] = [
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
        ]
        let used = usedModels
        if !used.isEmpty {
            fields.append(("models", .object(used.map {
                ($0.key, .object([("identity", .string($0.identity)), ("file", .string($0.file)), ("layout", .string($0.layout)),
                                  ("files", .array($0.files.map { .object([("name", .string($0.name)), ("sha256", .string($0.sha256))]) }))]))
            })))
        }
        return .object(fields)
    }
}
