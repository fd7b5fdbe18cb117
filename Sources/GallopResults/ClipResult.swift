import GallopCore

/// One row of `clips.jsonl` (schema version ``Gallop/schemaVersion``).
///
/// Fields, in output order: `schema_version`, `path` (relative to the scored
/// folder), `model`, `prompt`, `seed` (null when none), `status` (`ok` or
/// `error`), `error` (null when ok), `warnings` (strings), `frames` (frames
/// scored), `fps`, `width`, `height` (native, as displayed), `rotation`
/// (clockwise degrees the stored frames were turned for display: 0, 90, 180
/// or 270; 0 in rows written before it existed), `duration` (s, from the last
/// frame's end), `metrics` (public name → finite number or null), `extras`
/// (metric name → object: `series`, one value per scored frame, and
/// non-numeric results), `frame_times` (s, per scored frame), `config`
/// (`fingerprint` and the resolved settings it covers, as the scorer wrote them),
/// `content_key` (identifies the file's content, for resuming), `timing`
/// (`wall_s`: what differs from run to run; comparisons ignore it).
public struct ClipResult: Sendable {
    public var path: String
    public var name: ClipName
    public var status: Status
    public var error: String?
    public var warnings: [String] = []
    public var frames = 0
    public var fps = 0.0
    public var width = 0
    public var height = 0
    /// Clockwise degrees the clip's display matrix turns its stored frames (0 when none).
    public var rotation = 0
    public var duration = 0.0
    /// Whether the clip has a sound track (an undecodable one counts); nil when no audio metric ran, or in a row
    /// written before schema 3.
    public var audio: Bool?
    public var metrics: [(String, Double?)] = []
    public var extras: [(String, JSONValue)] = []
    public var frameTimes: [Double] = []
    /// The resolved scoring settings (an object with `fingerprint` first), or null.
    public var config: JSONValue = .null
    public var fingerprint: String = ""
    /// The row's `schema_version` as read (this Gallop's when written).
    public var schemaVersion = Gallop.schemaVersion
    /// Identifies the scored file's content (`size:<bytes>:<FNV-1a of sampled blocks>`); "" when unknown.
    public var contentKey = ""
    /// Wall seconds spent on the clip: differs from run to run, kept apart under `timing`.
    public var wallSeconds: Double?
    /// The frames kept while the clip was scored, for report.html (written to `thumbnails.jsonl`, not to the row).
    public var keptFrames: KeptFrames?

    public enum Status: String, Sendable { case ok, error }

    public init(path: String, name: ClipName, status: Status, error: String? = nil) {
        self.path = path
        self.name = name
        self.status = status
        self.error = error
    }

    public func value(_ metric: String) -> Double? {
        metrics.first { $0.0 == metric }?.1 ?? nil
    }

    public var json: JSONValue {
        .object([
            ("schema_version", .int(Gallop.schemaVersion)),
            ("path", .string(path)),
            ("model", .string(name.model)),
            ("prompt", .string(name.prompt)),
            ("seed", name.seed.map { .int($0) } ?? .null),
            ("status", .string(status.rawValue)),
            ("error", error.map { .string($0) } ?? .null),
            ("warnings", .array(warnings.map { .string($0) })),
            ("frames", .int(frames)),
            ("fps", .number(rounded(fps, 6))),
            ("width", .int(width)),
            ("height", .int(height)),
            ("rotation", .int(rotation)),
            ("duration", .number(rounded(duration, 6))),
            ("audio", audio.map { .bool($0) } ?? .null),
            ("metrics", .object(metrics.map { ($0.0, .number($0.1)) })),
            ("extras", .object(extras)),
            ("frame_times", .array(frameTimes.map { .number(rounded($0, 6)) })),
            ("config", config),
            ("content_key", .string(contentKey)),
            ("timing", .object([("wall_s", .number(wallSeconds.map { rounded($0, 3) }))])),
        ])
    }

    /// The row as JSON without `timing`: equal for equal results on any run, machine or `--jobs`.
    public var comparableJSON: JSONValue {
        guard case .object(let pairs) = json else { return json }
        return .object(pairs.filter { $0.0 != "timing" })
    }

    /// Reads a row back; unknown fields are ignored.
    public init(json: JSONValue) throws(ResultsError) {
        guard let path = json["path"]?.stringValue, let status = json["status"]?.stringValue.flatMap(Status.init) else {
            throw ResultsError("the row has no path or status")
        }
        guard let v = json["schema_version"]?.intValue else { throw ResultsError("\(path): the row has no schema_version") }
        if v > Gallop.schemaVersion {
            throw ResultsError("\(path): schema_version \(v) is newer than this gallop understands (\(Gallop.schemaVersion))")
        }
        guard json["config"]?["fingerprint"]?.stringValue != nil else { throw ResultsError("\(path): the row has no config fingerprint") }
        schemaVersion = v
        contentKey = json["content_key"]?.stringValue ?? ""
        wallSeconds = json["timing"]?["wall_s"]?.doubleValue
        self.path = path
        self.status = status
        name = ClipName(model: json["model"]?.stringValue ?? "default", prompt: json["prompt"]?.stringValue ?? path,
                        seed: json["seed"]?.intValue)
        error = json["error"]?.stringValue
        warnings = json["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        frames = json["frames"]?.intValue ?? 0
        fps = json["fps"]?.doubleValue ?? 0
        width = json["width"]?.intValue ?? 0
        height = json["height"]?.intValue ?? 0
        rotation = json["rotation"]?.intValue ?? 0
        duration = json["duration"]?.doubleValue ?? 0
        if case .bool(let b)? = json["audio"] { audio = b }
        metrics = json["metrics"]?.objectValue?.map { ($0.0, $0.1.doubleValue) } ?? []
        extras = json["extras"]?.objectValue ?? []
        frameTimes = json["frame_times"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        config = json["config"] ?? .null
        fingerprint = json["config"]?["fingerprint"]?.stringValue ?? ""
    }
}

/// Rounds for storage: per-frame series and timings keep `digits` decimals.
public func rounded(_ v: Double, _ digits: Int) -> Double {
    guard v.isFinite else { return v }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return (v * scale).rounded() / scale
}

/// A results file or row that cannot be used, with the reason.
public struct ResultsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
