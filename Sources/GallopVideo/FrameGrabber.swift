import CFFmpeg
import Foundation
import GallopCore

/// Decodes single frames of a clip again by time and encodes them as small
/// images: the thumbnails of `report.html`.
///
/// A time is seconds from the clip's first frame, counted as ``VideoReader``
/// counts `frame_times` (best-effort timestamp minus the first frame's). The
/// grabber seeks to the keyframe at or before the time, decodes forward and
/// takes the first frame at or after it (1 ms of slack for the six decimals
/// rows keep), so a row's time gives back the frame that was scored. Times asked
/// in ascending order share one forward decode: the grabber seeks only when the
/// keyframe at or before the time (the container's index) has not been read yet,
/// or, without an index, when the time is a second or more ahead. While decoding
/// towards a time, H.264 frames that no other frame references (nal_ref_idc 0)
/// and that come before the time are not decoded (`skip_frame` = NONREF per
/// packet, by its pts): the frame taken and every frame it depends on are
/// decoded as before, so the images are the same bytes. The frame
/// is scaled (libswscale, bicubic, its own matrix and range) to at most
/// `maxWidth` pixels wide and high, the display aspect kept and both sides even, and
/// encoded by libavcodec's own MJPEG encoder (full-range 4:2:0, fixed
/// quantiser) or PNG encoder (RGB24).
public final class FrameGrabber {
    public enum ImageFormat: String, Sendable {
        case jpeg, png
        public var mimeType: String { self == .jpeg ? "image/jpeg" : "image/png" }
    }

    /// One encoded frame.
    public struct Image: Sendable {
        public let bytes: [UInt8]
        public let format: ImageFormat
        public let width: Int
        public let height: Int
        /// The decoded frame's time (s from the first frame).
        public let time: Double
    }

    /// Why a frame could not be had: one sentence naming the file.
    public struct Failure: Error, CustomStringConvertible, Sendable, Equatable {
        public let message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    public let path: String
    public let format: ImageFormat
    /// Width and height of the images.
    public let imageWidth: Int
    public let imageHeight: Int
    /// Frames the decoder produced and seeks made so far (for tests and timing).
    public private(set) var framesDecoded = 0
    public private(set) var seeks = 0

    private let input = InputOwner()
    private let decoder = CodecOwner()
    private let packet = PacketOwner()
    private let decoded = FrameOwner()
    private let encoder: ImageEncoder
    private let streamIndex: Int32
    private let timeBase: AVRational
    /// The first frame's best-effort timestamp (stream time base); time 0.
    private var start: Int64 = 0
    /// The last frame received and its time, so that times in order need no seek.
    private var position: Double?
    private var drained = false
    /// Whether `decoded` holds the frame at `position`.
    private var holding = false
    /// Whether the savings above are on (`false`: decode every frame, seek whenever
    /// the time is a second or more ahead, as before them; tests compare the two).
    let thrifty: Bool
    /// Whether the codec's non-reference frames are known never to be referenced: H.264 (nal_ref_idc 0).
    /// Not HEVC: its sub-layer non-reference pictures may be referenced by higher temporal sub-layers.
    private let skipsNonReference: Bool
    /// The dts of the last packet sent to the decoder since the last seek (nil: none known).
    private var lastSent: Int64?
    /// Whether every frame so far was placed by its own pts (best effort = pts): only then is a packet's pts its frame's time.
    private var ptsTrusted = true

    /// Slack for times stored with six decimals.
    static let slack = 0.001

    /// Opens `path` and decodes its first frame (time 0 is that frame's timestamp).
    public convenience init(path: String, maxWidth: Int = 320, format: ImageFormat = .jpeg) throws(Failure) {
        try self.init(path: path, maxWidth: maxWidth, format: format, thrifty: true)
    }

    init(path: String, maxWidth: Int, format: ImageFormat, thrifty: Bool) throws(Failure) {
        _ = quietFFmpegLog
        self.path = path
        self.format = format
        self.thrifty = thrifty
        var st = stat()
        guard stat(path, &st) == 0 else { throw Failure("\(path): no such file") }
        var rc = avformat_open_input(&input.ctx, path, nil, nil)
        guard rc >= 0, let fmt = input.ctx else { throw Failure("\(path): cannot be read as a video container: \(ffmpegErrorString(rc))") }
        rc = avformat_find_stream_info(fmt, nil)
        guard rc >= 0 else { throw Failure("\(path): stream information unreadable: \(ffmpegErrorString(rc))") }
        let best = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard best >= 0 else { throw Failure("\(path): has no video stream") }
        streamIndex = best
        for i in 0..<Int(fmt.pointee.nb_streams) where i != Int(best) { fmt.pointee.streams[i]!.pointee.discard = AVDISCARD_ALL }
        let stream = fmt.pointee.streams[Int(best)]!
        timeBase = stream.pointee.time_base
        let par = stream.pointee.codecpar!
        skipsNonReference = par.pointee.codec_id == AV_CODEC_ID_H264
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw Failure("\(path): no decoder for codec '\(String(cString: avcodec_get_name(par.pointee.codec_id)))' in this FFmpeg build")
        }
        decoder.ctx = avcodec_alloc_context3(codec)
        guard let ctx = decoder.ctx else { throw Failure("\(path): cannot allocate a decoder") }
        rc = avcodec_parameters_to_context(ctx, par)
        guard rc >= 0 else { throw Failure("\(path): cannot copy the codec parameters: \(ffmpegErrorString(rc))") }
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        rc = avcodec_open2(ctx, codec, nil)
        guard rc >= 0 else { throw Failure("\(path): the video decoder could not start: \(ffmpegErrorString(rc))") }
        guard packet.packet != nil, decoded.frame != nil else { throw Failure("\(path): out of memory") }

        // The display size: stored size stretched by the sample aspect ratio.
        let w = Int(par.pointee.width), h = Int(par.pointee.height)
        guard w > 0, h > 0 else { throw Failure("\(path): the stream declares no frame size") }
        let sar = par.pointee.sample_aspect_ratio
        let displayWidth = sar.num > 0 && sar.den > 0 ? Double(w) * Double(sar.num) / Double(sar.den) : Double(w)
        let size = FrameGrabber.imageSize(displayWidth: displayWidth, height: Double(h), maxSide: maxWidth)
        imageWidth = size.width
        imageHeight = size.height
        encoder = try ImageEncoder(format: format, width: size.width, height: size.height, path: path)

        guard let first = try decodeNext(before: nil) else { throw Failure("\(path): no frame could be decoded") }
        start = first
        position = 0
    }

    /// Width and height of an image that fits a `maxSide` square (at most that wide, and no taller, so
    /// portrait clips stay small) with the display aspect, never enlarged, both sides even and at least 2.
    public static func imageSize(displayWidth: Double, height: Double, maxSide: Int) -> (width: Int, height: Int) {
        let scale = min(1, Double(max(2, maxSide)) / max(displayWidth, height))
        let even = { (v: Double) in max(2, Int((v / 2).rounded(.down)) * 2) }
        return (even((displayWidth * scale).rounded()), even((height * scale).rounded()))
    }

    /// The frame at or after `time` (s from the first frame), encoded.
    public func image(at time: Double) throws(Failure) -> Image {
        guard time.isFinite, time >= -FrameGrabber.slack else { throw Failure("\(path): no frame at \(time) s") }
        // Forward from the last frame: keep decoding unless a seek would skip frames.
        if let position, !drained, position <= time + FrameGrabber.slack, !seekSaves(from: position, to: time) {
            if case .found(let image) = try decode(until: time) { return image }
        }
        // Seek a little before the time; further back when the demuxer landed after it.
        for back in [0.0, 1, 5, .infinity] {
            try seek(to: back.isFinite ? max(0, time - back) : nil)
            switch try decode(until: time) {
            case .found(let image): return image
            case .end: throw Failure("\(path): no frame at or after \(Scale.seconds(time)) s (the last frame is at \(Scale.seconds(position ?? 0)) s)")
            case .late: continue
            }
        }
        throw Failure("\(path): cannot seek to \(Scale.seconds(time)) s")
    }

    /// Whether seeking to `time` would decode less than decoding on from `position`: only
    /// when the keyframe at or before it (by the container's index) has not been read since
    /// the last seek. A seek never saves within a second; without an index, always beyond.
    /// (An index entry's timestamp is its dts or pts; one at or before the last dts sent was read,
    /// as every packet before an unread keyframe in decode order has a lower dts, and dts <= pts.)
    private func seekSaves(from position: Double, to time: Double) -> Bool {
        guard time - position >= 1 else { return false }
        guard thrifty, let fmt = input.ctx, let lastSent else { return true }
        let stream = fmt.pointee.streams[Int(streamIndex)]!
        guard avformat_index_get_entries_count(stream) > 0,
              let key = avformat_index_get_entry_from_timestamp(stream, timestamp(of: time), AVSEEK_FLAG_BACKWARD) else { return true }
        return key.pointee.timestamp > lastSent
    }

    /// A time (s from the first frame) in the stream's time base.
    private func timestamp(of time: Double) -> Int64 { start + Int64((time / av_q2d(timeBase)).rounded(.down)) }

    /// Seeks to the keyframe at or before `time` (nil: the start) and resets the decoder.
    private func seek(to time: Double?) throws(Failure) {
        guard let fmt = input.ctx, let ctx = decoder.ctx else { throw Failure("\(path): the clip is closed") }
        let target = time.map { timestamp(of: $0) } ?? start
        let rc = av_seek_frame(fmt, streamIndex, target, AVSEEK_FLAG_BACKWARD)
        guard rc >= 0 else { throw Failure("\(path): cannot seek to \(Scale.seconds(time ?? 0)) s: \(ffmpegErrorString(rc))") }
        avcodec_flush_buffers(ctx)
        seeks += 1
        drained = false
        lastSent = nil
        // Unknown until the first frame after the seek arrives.
        position = nil
    }

    private enum Outcome { case found(Image), late, end }

    /// Decodes forward to the first frame at or after `time`. `late` when the first frame
    /// after a seek is already past it (the demuxer landed too late); `end` at the end of the stream.
    private func decode(until time: Double) throws(Failure) -> Outcome {
        var first = position == nil
        // The frame already decoded may be the one asked for (two moments on one frame).
        if let position, holding, abs(position - time) <= FrameGrabber.slack {
            return .found(try encoder.encode(decoded.frame!, time: max(0, position)))
        }
        while let ts = try decodeNext(before: time) {
            let t = Double(ts - start) * av_q2d(timeBase)
            let wasFirst = first
            first = false
            position = t
            guard t + FrameGrabber.slack >= time else { continue }
            // The first frame after a seek already past the time: the seek landed too late (with an open GOP,
            // leading frames skipped or not output), so the caller seeks further back.
            if wasFirst && t > time + FrameGrabber.slack { return .late }
            return .found(try encoder.encode(decoded.frame!, time: max(0, t)))
        }
        return .end
    }

    /// Decodes the next frame into `decoded`; returns its best-effort timestamp, or nil at the end.
    /// Non-reference frames of packets whose time is before `time` (nil: none) are skipped when thrifty.
    private func decodeNext(before time: Double?) throws(Failure) -> Int64? {
        guard let fmt = input.ctx, let ctx = decoder.ctx, let pkt = packet.packet, let frame = decoded.frame else { return nil }
        var errors = 0
        holding = false
        while true {
            av_frame_unref(frame)
            let rc = avcodec_receive_frame(ctx, frame)
            if rc >= 0 {
                let ts = frame.pointee.best_effort_timestamp
                // A frame without a timestamp cannot be placed: skip it.
                if ts == gallop_nopts_value() { continue }
                if ts != frame.pointee.pts { ptsTrusted = false }
                framesDecoded += 1
                holding = true
                return ts
            }
            if rc == averrorEOF { drained = true; return nil }
            if rc != averrorEAGAIN {
                errors += 1
                if errors > 100 { throw Failure("\(path): the decoder keeps failing: \(ffmpegErrorString(rc))") }
            }
            if drained { return nil }
            let read = av_read_frame(fmt, pkt)
            if read < 0 {
                // End of file (or a read error): drain the decoder.
                let sent = avcodec_send_packet(ctx, nil)
                if sent < 0 && sent != averrorEOF { drained = true; return nil }
                continue
            }
            defer { av_packet_unref(pkt) }
            guard pkt.pointee.stream_index == streamIndex else { continue }
            let pts = pkt.pointee.pts, dts = pkt.pointee.dts
            // A frame before the time that nothing references is never shown nor needed; the
            // frame taken (at or after the time, less the slack) and its references are decoded.
            let skip = thrifty && skipsNonReference && ptsTrusted && pts != gallop_nopts_value()
                && time.map { Double(pts - start) * av_q2d(timeBase) + FrameGrabber.slack < $0 } == true
            ctx.pointee.skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
            if dts != gallop_nopts_value() { lastSent = dts }
            let sent = avcodec_send_packet(ctx, pkt)
            if sent < 0 && sent != averrorEAGAIN {
                errors += 1
                if errors > 100 { throw Failure("\(path): the decoder keeps failing: \(ffmpegErrorString(sent))") }
            }
        }
    }
}

/// Seconds as text for messages (three decimals).
enum Scale {
    static func seconds(_ t: Double) -> String { String(format: "%.3f", t) }
}

/// Scales a decoded frame to the image size and encodes it with libavcodec's MJPEG or PNG encoder.
private final class ImageEncoder {
    let format: FrameGrabber.ImageFormat
    let width: Int
    let height: Int
    let path: String
    private let codec = CodecOwner()
    private let scaler = ScalerOwner()
    private let scaled = FrameOwner()
    private let packet = PacketOwner()
    private var key: [Int32] = []
    private var count: Int64 = 0

    /// MJPEG quantiser: 3 keeps a 320 px thumbnail clean at about 15 KB.
    static let jpegQuantiser: Int32 = 3

    init(format: FrameGrabber.ImageFormat, width: Int, height: Int, path: String) throws(FrameGrabber.Failure) {
        self.format = format
        self.width = width
        self.height = height
        self.path = path
        let id = format == .jpeg ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_PNG
        guard let encoder = avcodec_find_encoder(id) else {
            throw FrameGrabber.Failure("this FFmpeg has no \(format == .jpeg ? "MJPEG" : "PNG") encoder")
        }
        codec.ctx = avcodec_alloc_context3(encoder)
        guard let ctx = codec.ctx, let out = scaled.frame, packet.packet != nil else { throw FrameGrabber.Failure("\(path): out of memory") }
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.time_base = AVRational(num: 1, den: 25)
        if format == .jpeg {
            // JPEG is full-range BT.601 4:2:0; yuv420p tagged full range is the spelling FFmpeg 5 to 7 all accept.
            ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            ctx.pointee.color_range = AVCOL_RANGE_JPEG
            ctx.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
            ctx.pointee.global_quality = Int32(FF_QP2LAMBDA) * ImageEncoder.jpegQuantiser
        } else {
            ctx.pointee.pix_fmt = AV_PIX_FMT_RGB24
        }
        let rc = avcodec_open2(ctx, encoder, nil)
        guard rc >= 0 else { throw FrameGrabber.Failure("\(path): the \(format.rawValue) encoder could not start: \(ffmpegErrorString(rc))") }
        out.pointee.format = ctx.pointee.pix_fmt.rawValue
        out.pointee.width = Int32(width)
        out.pointee.height = Int32(height)
        out.pointee.color_range = ctx.pointee.color_range
        let got = av_frame_get_buffer(out, 0)
        guard got >= 0 else { throw FrameGrabber.Failure("\(path): cannot allocate an image: \(ffmpegErrorString(got))") }
    }

    func encode(_ source: UnsafeMutablePointer<AVFrame>, time: Double) throws(FrameGrabber.Failure) -> FrameGrabber.Image {
        guard let ctx = codec.ctx, let out = scaled.frame, let pkt = packet.packet else { throw FrameGrabber.Failure("\(path): the encoder is closed") }
        let sourceFormat = AVPixelFormat(rawValue: source.pointee.format)
        let full = VideoReader.range(of: sourceFormat, declared: source.pointee.color_range) == .full
        let space = source.pointee.colorspace
        let newKey = [source.pointee.width, source.pointee.height, source.pointee.format, Int32(space.rawValue), full ? 1 : 0]
        if newKey != key || scaler.sws == nil {
            sws_freeContext(scaler.sws)
            scaler.sws = sws_getContext(source.pointee.width, source.pointee.height, sourceFormat, Int32(width), Int32(height),
                                        ctx.pointee.pix_fmt, SWS_BICUBIC, nil, nil, nil)
            guard let sws = scaler.sws else {
                let name = av_get_pix_fmt_name(sourceFormat).map { String(cString: $0) } ?? "unknown"
                throw FrameGrabber.Failure("\(path): libswscale cannot convert pixel format \(name)")
            }
            key = newKey
            // Source: its own matrix (BT.601 when untagged) and range; destination: full range, BT.601 for JPEG.
            let rc = sws_setColorspaceDetails(sws, sws_getCoefficients(Int32(space.rawValue)), full ? 1 : 0,
                                              sws_getCoefficients(SWS_CS_ITU601), 1, 0, 1 << 16, 1 << 16)
            // Formats without a YUV matrix (RGB, grey) report -1 and convert as they are: not a failure.
            _ = rc
        }
        var rc = av_frame_make_writable(out)
        guard rc >= 0 else { throw FrameGrabber.Failure("\(path): cannot write the image buffer: \(ffmpegErrorString(rc))") }
        rc = sws_scale_frame(scaler.sws, out, source)
        guard rc >= 0 else { throw FrameGrabber.Failure("\(path): scaling the frame failed: \(ffmpegErrorString(rc))") }
        out.pointee.quality = ctx.pointee.global_quality
        // Encoders want rising timestamps, one image after another.
        out.pointee.pts = count
        count += 1
        rc = avcodec_send_frame(ctx, out)
        guard rc >= 0 else { throw FrameGrabber.Failure("\(path): the \(format.rawValue) encoder refused the frame: \(ffmpegErrorString(rc))") }
        rc = avcodec_receive_packet(ctx, pkt)
        guard rc >= 0 else { throw FrameGrabber.Failure("\(path): the \(format.rawValue) encoder gave no image: \(ffmpegErrorString(rc))") }
        defer { av_packet_unref(pkt) }
        let bytes = Array(UnsafeBufferPointer(start: pkt.pointee.data, count: Int(pkt.pointee.size)))
        return FrameGrabber.Image(bytes: bytes, format: format, width: width, height: height, time: time)
    }
}

// One owner per C resource, freed in its deinit (also when an initialiser throws halfway).

private final class InputOwner {
    var ctx: UnsafeMutablePointer<AVFormatContext>?
    deinit { avformat_close_input(&ctx) }
}

private final class CodecOwner {
    var ctx: UnsafeMutablePointer<AVCodecContext>?
    deinit { avcodec_free_context(&ctx) }
}

private final class FrameOwner {
    var frame: UnsafeMutablePointer<AVFrame>? = av_frame_alloc()
    deinit { av_frame_free(&frame) }
}

private final class PacketOwner {
    var packet: UnsafeMutablePointer<AVPacket>? = av_packet_alloc()
    deinit { av_packet_free(&packet) }
}

private final class ScalerOwner {
    var sws: OpaquePointer?
    deinit { sws_freeContext(sws) }
}
