import CFFmpeg
import Foundation

/// Everything that can go wrong reading or writing a clip. Every message
/// names the file and the cause, in words a user can act on.
public enum VideoError: Error, CustomStringConvertible, Sendable, Equatable {
    case notFound(path: String)
    case emptyFile(path: String)
    case cannotOpen(path: String, reason: String)
    case noVideoStream(path: String, streams: String)
    case noDecoder(path: String, codec: String)
    case decoderFailed(path: String, reason: String)
    case noFrames(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    /// A decoded frame that libswscale cannot turn into the planes metrics need, or into a thumbnail.
    case conversionFailed(path: String, reason: String)
    /// The decoder failed again and again while the grabber decoded towards a time.
    case decodingFailed(path: String, reason: String)
    /// No frame at the time asked (s from the first frame): `last` is the last frame's time
    /// when the clip ends before it, nil when the time itself is not one (negative or not finite).
    case noFrameAt(path: String, time: Double, last: Double?)
    /// The demuxer could not seek to the keyframe before a time (`reason` nil: every seek landed after it).
    case seekFailed(path: String, time: Double, reason: String?)
    /// The thumbnail encoder (libavcodec's MJPEG or PNG) is missing, would not start or gave no image.
    case encodingFailed(path: String, reason: String)

    public var path: String {
        switch self {
        case .notFound(let p), .emptyFile(let p), .cannotOpen(let p, _), .noVideoStream(let p, _),
             .noDecoder(let p, _), .decoderFailed(let p, _), .noFrames(let p, _), .writeFailed(let p, _),
             .conversionFailed(let p, _), .decodingFailed(let p, _), .noFrameAt(let p, _, _), .seekFailed(let p, _, _),
             .encodingFailed(let p, _):
            return p
        }
    }

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no such file"
        case .emptyFile(let p): return "\(p): the file is empty (0 bytes)"
        case .cannotOpen(let p, let r): return "\(p): cannot be read as a video container: \(r)"
        case .noVideoStream(let p, let s): return "\(p): has no video stream (\(s))"
        case .noDecoder(let p, let c): return "\(p): no decoder for codec '\(c)' in this FFmpeg build"
        case .decoderFailed(let p, let r): return "\(p): the video decoder could not start: \(r)"
        case .noFrames(let p, let r): return "\(p): no frame could be decoded: \(r)"
        case .writeFailed(let p, let r): return "\(p): cannot write the clip: \(r)"
        case .conversionFailed(let p, let r): return "\(p): a decoded frame cannot be converted: \(r)"
        case .decodingFailed(let p, let r): return "\(p): the decoder keeps failing: \(r)"
        case .noFrameAt(let p, let t, let last?):
            return "\(p): no frame at or after \(seconds(t)) s (the last frame is at \(seconds(last)) s)"
        case .noFrameAt(let p, let t, nil): return "\(p): no frame at \(seconds(t)) s"
        case .seekFailed(let p, let t, let r): return "\(p): cannot seek to \(seconds(t)) s" + (r.map { ": \($0)" } ?? "")
        case .encodingFailed(let p, let r): return "\(p): \(r)"
        }
    }
}

/// Seconds as text for messages (three decimals).
private func seconds(_ t: Double) -> String { String(format: "%.3f", t) }

/// FFmpeg's text for an error code, e.g. "Invalid data found when processing input".
func ffmpegErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    return buffer.withUnsafeMutableBufferPointer { buf in
        String(cString: gallop_error_string(code, buf.baseAddress!, buf.count))
    }
}

/// FFmpeg's codes that are part of the normal protocol, not failures.
let averrorEAGAIN = gallop_averror_eagain()
let averrorEOF = gallop_averror_eof()

/// FFmpeg's own log goes to stderr from every thread; Gallop reports problems
/// itself (row errors and warnings), so only fatal library messages pass.
let quietFFmpegLog: Void = {
    av_log_set_level(AV_LOG_FATAL)
}()
