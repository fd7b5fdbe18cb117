import CFFmpeg

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
    /// A decoded frame that libswscale cannot turn into the planes metrics need.
    case conversionFailed(path: String, reason: String)

    public var path: String {
        switch self {
        case .notFound(let p), .emptyFile(let p), .cannotOpen(let p, _), .noVideoStream(let p, _),
             .noDecoder(let p, _), .decoderFailed(let p, _), .noFrames(let p, _), .writeFailed(let p, _),
             .conversionFailed(let p, _):
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
        case .conversionFailed(let p, let r): return "\(p): a decoded frame cannot be converted for scoring: \(r)"
        }
    }
}

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
