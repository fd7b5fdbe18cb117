import GallopCore
import GallopMetrics
import GallopVideo

/// Scores one clip: one decode, every selected metric fed from it.
public struct Scorer: Sendable {
    public let config: RunConfig
    public let types: [any Metric.Type]
    /// Decoder threads per clip (0: FFmpeg's choice).
    public let threads: Int

    public init(config: RunConfig, threads: Int = 0) throws {
        self.types = try MetricRegistry.select(config.metrics)
        var config = config
        config.metrics = types.map { $0.info.name }
        self.config = config
        self.threads = threads
    }

    /// Never throws: a clip that cannot be read is an `error` row naming the cause.
    public func score(path: String, relativePath: String, name: ClipName) -> ClipResult {
        var result = ClipResult(path: relativePath, name: name, status: .ok)
        result.config = config
        result.fingerprint = config.fingerprint
        let engine = MetricEngine(metrics: types.map { $0.init() })
        let options = ReadOptions(maxSide: config.maxSide, every: config.every, maxFrames: config.maxFrames,
                                  rgb: engine.needsRGB, threads: threads,
                                  motionSide: engine.needsMotion ? config.motionSide : nil)
        let reader: VideoReader
        do {
            reader = try VideoReader(path: path, options: options)
        } catch {
            result.status = .error
            result.error = error.description
            return result
        }
        let info = reader.info
        result.fps = info.fps
        result.width = info.width
        result.height = info.height
        do {
            try reader.forEachFrame { engine.consume($0) }
        } catch {
            result.status = .error
            result.error = (error as? VideoError)?.description ?? "\(path): \(error)"
            result.warnings = reader.warnings
            return result
        }
        result.warnings = reader.warnings
        result.frames = engine.frameCount
        result.frameTimes = engine.times
        if let last = engine.times.last {
            // The last frame shows for its own duration (every N-th frame: N of them).
            result.duration = last + Double(config.every) * engine.lastDuration
        }
        if !config.nativeAndComplete {
            let peers = types.filter { $0.info.resolution == .native }.map { $0.info.name }
            if !peers.isEmpty {
                result.warnings.append("\(peers.joined(separator: ", ")) ran on sampled or scaled frames, not every frame at native size: not comparable with the peer's number")
            }
        }
        for (info, output) in engine.finish() {
            for (key, value) in output.values {
                result.metrics.append((key, value))
                if value == nil || !(value!.isFinite) {
                    if output.warnings.isEmpty { result.warnings.append("\(key) is undefined for this clip") }
                }
            }
            result.warnings += output.warnings
            var extras: [(String, JSONValue)] = output.extras
            extras.append(("series", .array(output.series.map { $0.map { .number(rounded($0, 6)) } ?? .null })))
            result.extras.append((info.name, .object(extras)))
        }
        return result
    }
}
