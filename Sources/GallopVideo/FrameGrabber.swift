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
/// quantiser) or PNG encoder (RGB24). The clip is opened as ``VideoReader``
/// opens it (``VideoInput``), the scaling goes through the reader's
/// ``Converter``, every FFmpeg allocation is held by one owner from
/// Handles.swift, and every failure is a ``VideoError``.
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

    public let path: String
    public let format: ImageFormat
    /// Width and height of the images.
    public let imageWidth: Int
    public let imageHeight: Int
    /// Frames the decoder produced and seeks made so far (for tests and timing).
    public private(set) var framesDecoded = 0
    public private(set) var seeks = 0

    private let input: VideoInput
    private let packet: PacketHandle
    private let decoded: FrameHandle
    private let encoder: ThumbnailEncoder
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
    public convenience init(path: String, maxWidth: Int = 320, format: ImageFormat = .jpeg) throws(VideoError) {
        try self.init(path: path, maxWidth: maxWidth, format: format, thrifty: true)
    }

    init(path: String, maxWidth: Int, format: ImageFormat, thrifty: Bool) throws(VideoError) {
        self.path = path
        self.format = format
        self.thrifty = thrifty
        input = try VideoInput(path: path)
        streamIndex = input.streamIndex
        timeBase = input.stream.pointee.time_base
        let par = input.parameters
        skipsNonReference = par.pointee.codec_id == AV_CODEC_ID_H264
        guard let packet = PacketHandle(), let decoded = FrameHandle() else {
            throw .decoderFailed(path: path, reason: "out of memory allocating frames")
        }
        self.packet = packet
        self.decoded = decoded

        encoder = try ThumbnailEncoder(parameters: par, maxWidth: maxWidth, format: format, path: path)
        imageWidth = encoder.width
        imageHeight = encoder.height

        guard let first = try decodeNext(before: nil) else {
            throw .noFrames(path: path, reason: "the video stream holds no decodable frame")
        }
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
    public func image(at time: Double) throws(VideoError) -> Image {
        guard time.isFinite, time >= -FrameGrabber.slack else { throw .noFrameAt(path: path, time: time, last: nil) }
        // Forward from the last frame: keep decoding unless a seek would skip frames.
        if let position, !drained, position <= time + FrameGrabber.slack, !seekSaves(from: position, to: time) {
            if case .found(let image) = try decode(until: time) { return image }
        }
        // Seek a little before the time; further back when the demuxer landed after it.
        for back in [0.0, 1, 5, .infinity] {
            try seek(to: back.isFinite ? max(0, time - back) : nil)
            switch try decode(until: time) {
            case .found(let image): return image
            case .end: throw .noFrameAt(path: path, time: time, last: position ?? 0)
            case .late: continue
            }
        }
        throw .seekFailed(path: path, time: time, reason: nil)
    }

    /// Whether seeking to `time` would decode less than decoding on from `position`: only
    /// when the keyframe at or before it (by the container's index) has not been read since
    /// the last seek. A seek never saves within a second; without an index, always beyond.
    /// (An index entry's timestamp is its dts or pts; one at or before the last dts sent was read,
    /// as every packet before an unread keyframe in decode order has a lower dts, and dts <= pts.)
    private func seekSaves(from position: Double, to time: Double) -> Bool {
        guard time - position >= 1 else { return false }
        guard thrifty, let lastSent else { return true }
        let stream = input.stream
        guard avformat_index_get_entries_count(stream) > 0,
              let key = avformat_index_get_entry_from_timestamp(stream, timestamp(of: time), AVSEEK_FLAG_BACKWARD) else { return true }
        return key.pointee.timestamp > lastSent
    }

    /// A time (s from the first frame) in the stream's time base.
    private func timestamp(of time: Double) -> Int64 { start + Int64((time / av_q2d(timeBase)).rounded(.down)) }

    /// Seeks to the keyframe at or before `time` (nil: the start) and resets the decoder.
    private func seek(to time: Double?) throws(VideoError) {
        let target = time.map { timestamp(of: $0) } ?? start
        let rc = av_seek_frame(input.format.pointer, streamIndex, target, AVSEEK_FLAG_BACKWARD)
        guard rc >= 0 else { throw .seekFailed(path: path, time: time ?? 0, reason: ffmpegErrorString(rc)) }
        avcodec_flush_buffers(input.codec.pointer)
        seeks += 1
        drained = false
        lastSent = nil
        // Unknown until the first frame after the seek arrives.
        position = nil
    }

    private enum Outcome { case found(Image), late, end }

    /// Decodes forward to the first frame at or after `time`. `late` when the first frame
    /// after a seek is already past it (the demuxer landed too late); `end` at the end of the stream.
    private func decode(until time: Double) throws(VideoError) -> Outcome {
        var first = position == nil
        // The frame already decoded may be the one asked for (two moments on one frame).
        if let position, holding, abs(position - time) <= FrameGrabber.slack {
            return .found(try encoder.encode(decoded.pointer, time: max(0, position)))
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
            return .found(try encoder.encode(decoded.pointer, time: max(0, t)))
        }
        return .end
    }

    /// Decodes the next frame into `decoded`; returns its best-effort timestamp, or nil at the end.
    /// Non-reference frames of packets whose time is before `time` (nil: none) are skipped when thrifty.
    private func decodeNext(before time: Double?) throws(VideoError) -> Int64? {
        let fmt = input.format.pointer, ctx = input.codec.pointer, pkt = packet.pointer, frame = decoded.pointer
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
                if errors > 100 { throw .decodingFailed(path: path, reason: ffmpegErrorString(rc)) }
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
                if errors > 100 { throw .decodingFailed(path: path, reason: ffmpegErrorString(sent)) }
            }
        }
    }
}

/// Scales a decoded frame to the image size and encodes it with libavcodec's MJPEG or PNG encoder: the one
/// code that makes `report.html`'s images, used by ``FrameGrabber`` on frames it decodes again and by the
/// scorer on frames the reader decoded (``VideoReader/thumbnailEncoder(maxWidth:format:)``), so a frame
/// kept while scoring is the same bytes as the grabber's image of it. Cost: one bicubic libswscale pass to
/// at most 320 px and one small JPEG encode (well under a millisecond at 320 × 180), only for frames kept.
public final class ThumbnailEncoder {
    public let format: FrameGrabber.ImageFormat
    /// Width and height of the images.
    public let width: Int
    public let height: Int
    let path: String
    private let codec: CodecContextHandle
    private let packet: PacketHandle
    private var scaler = Converter()
    private var count: Int64 = 0

    /// MJPEG quantiser: 3 keeps a 320 px thumbnail clean at about 15 KB.
    static let jpegQuantiser: Int32 = 3

    /// The encoder for a stream's frames: the display size (stored size stretched by the sample aspect
    /// ratio) fitted by ``FrameGrabber/imageSize(displayWidth:height:maxSide:)``.
    convenience init(parameters par: UnsafePointer<AVCodecParameters>, maxWidth: Int, format: FrameGrabber.ImageFormat, path: String) throws(VideoError) {
        let w = Int(par.pointee.width), h = Int(par.pointee.height)
        let sar = par.pointee.sample_aspect_ratio
        let displayWidth = sar.num > 0 && sar.den > 0 ? Double(w) * Double(sar.num) / Double(sar.den) : Double(w)
        let size = FrameGrabber.imageSize(displayWidth: displayWidth, height: Double(h), maxSide: maxWidth)
        try self.init(format: format, width: size.width, height: size.height, path: path)
    }

    init(format: FrameGrabber.ImageFormat, width: Int, height: Int, path: String) throws(VideoError) {
        self.format = format
        self.width = width
        self.height = height
        self.path = path
        let id = format == .jpeg ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_PNG
        guard let encoder = avcodec_find_encoder(id) else {
            throw .encodingFailed(path: path, reason: "this FFmpeg has no \(format == .jpeg ? "MJPEG" : "PNG") encoder")
        }
        guard let codec = CodecContextHandle(codec: encoder), let packet = PacketHandle(), scaler.ready else {
            throw .encodingFailed(path: path, reason: "out of memory allocating the \(format.rawValue) encoder")
        }
        self.codec = codec
        self.packet = packet
        let ctx = codec.pointer
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.time_base = AVRational(num: 1, den: 25)
        if format == .jpeg {
            // JPEG is full-range BT.601 4:2:0; yuv420p tagged full range is the spelling FFmpeg 5 to 7 all accept.
            ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            ctx.pointee.color_range = AVCOL_RANGE_JPEG
            ctx.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
            ctx.pointee.global_quality = Int32(FF_QP2LAMBDA) * ThumbnailEncoder.jpegQuantiser
        } else {
            ctx.pointee.pix_fmt = AV_PIX_FMT_RGB24
        }
        let rc = avcodec_open2(ctx, encoder, nil)
        guard rc >= 0 else { throw .encodingFailed(path: path, reason: "the \(format.rawValue) encoder could not start: \(ffmpegErrorString(rc))") }
    }

    /// A frame the reader decoded (``VideoReader/decodedFrame()``), encoded as the grabber encodes it.
    public func encode(_ frame: DecodedFrame, time: Double) throws(VideoError) -> FrameGrabber.Image {
        try encode(frame.handle.pointer, time: time)
    }

    func encode(_ source: UnsafeMutablePointer<AVFrame>, time: Double) throws(VideoError) -> FrameGrabber.Image {
        let ctx = codec.pointer, pkt = packet.pointer
        let full = VideoReader.range(of: AVPixelFormat(rawValue: source.pointee.format), declared: source.pointee.color_range) == .full
        let out = try scaler.image(from: source, dstFormat: ctx.pointee.pix_fmt, dstRange: ctx.pointee.color_range,
                                   width: width, height: height, full: full, path: path)
        out.pointee.quality = ctx.pointee.global_quality
        // Encoders want rising timestamps, one image after another.
        out.pointee.pts = count
        count += 1
        var rc = avcodec_send_frame(ctx, out)
        guard rc >= 0 else { throw .encodingFailed(path: path, reason: "the \(format.rawValue) encoder refused the frame: \(ffmpegErrorString(rc))") }
        rc = avcodec_receive_packet(ctx, pkt)
        guard rc >= 0 else { throw .encodingFailed(path: path, reason: "the \(format.rawValue) encoder gave no image: \(ffmpegErrorString(rc))") }
        defer { av_packet_unref(pkt) }
        let bytes = Array(UnsafeBufferPointer(start: pkt.pointee.data, count: Int(pkt.pointee.size)))
        return FrameGrabber.Image(bytes: bytes, format: format, width: width, height: height, time: time)
    }
}
