import CFFmpeg
import Foundation
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import GallopCore

/// How a clip is read.
public struct ReadOptions: Sendable, Hashable {
    /// Scale so that the longer side is at most this many pixels (nil: native size).
    public var maxSide: Int?
    /// Hand every n-th decoded frame to the caller (1: every frame).
    public var every: Int
    /// Stop after this many frames have been handed out (nil: whole clip).
    public var maxFrames: Int?
    /// Also give each frame's RGB (only when a metric needs colour): packed
    /// RGB, or the YUV planes and ``YUVToRGB`` (see `rgbFromYUV`).
    public var rgb: Bool
    /// With `rgb`, frames that libswscale would turn into RGB by exactly
    /// ``YUVToRGB`` (8-bit 4:2:0 of even height at their own size, not turned,
    /// the formula checked against libswscale once per process) come as
    /// their planes and that conversion, not converted; false always converts.
    public var rgbFromYUV: Bool
    /// Decoder threads; 0 lets FFmpeg choose (one per core).
    public var threads: Int
    /// Also hand out luma scaled so its longer side is at most this (for optical flow).
    public var motionSide: Int?
    /// Scale every frame to exactly this size (a reference matched to its clip); overrides `maxSide`.
    public var size: FrameSize?
    /// Also hand out the stored chroma planes (when planar 8-bit YUV at native size).
    public var chroma: Bool

    public init(maxSide: Int? = nil, every: Int = 1, maxFrames: Int? = nil, rgb: Bool = false, threads: Int = 0,
                motionSide: Int? = nil, size: FrameSize? = nil, chroma: Bool = false, rgbFromYUV: Bool = true) {
        self.maxSide = maxSide
        self.every = max(1, every)
        self.maxFrames = maxFrames
        self.rgb = rgb
        self.threads = max(0, threads)
        self.motionSide = motionSide
        self.size = size
        self.chroma = chroma
        self.rgbFromYUV = rgbFromYUV
    }
}

/// A frame size in pixels.
public struct FrameSize: Sendable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }
}

/// What the container and decoder say about a clip before any frame is read.
/// Sizes are as displayed: a stream whose display matrix turns it a quarter
/// turn has its stored width and height swapped here, and every plane the
/// reader hands out is turned the same way.
public struct VideoInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Size of the planes handed to metrics (after `maxSide`).
    public var outputWidth: Int
    public var outputHeight: Int
    /// Size of the motion planes (when `motionSide` is set; else the output size).
    public var motionWidth: Int
    public var motionHeight: Int
    /// Average frame rate from the container (0 when unknown).
    public var fps: Double
    /// Container duration in seconds (0 when unknown).
    public var duration: Double
    public var codec: String
    public var pixelFormat: String
    public var bitDepth: Int
    public var range: ColorRange
    public var colorSpace: String
    /// Clockwise degrees (0, 90, 180 or 270) the stored frames are turned for
    /// display, from the stream's display matrix (the MP4 `rotate` tag's sense;
    /// ffprobe prints the same matrix as a counter-clockwise "rotation of -90.00
    /// degrees"). 0 when there is none, or when it mirrors the picture or turns
    /// it by another angle: those are scored as stored, with a warning.
    public var rotation: Int
}

/// Reads one clip in a single streaming pass: demux, decode on the codec's own
/// threads, convert only what was asked for, and lend each frame to a closure.
///
/// Memory is constant in clip length: two output slots (the frame being lent
/// and the one before it) and the decoder's own buffers. A lent ``Frame`` stays
/// valid during its own call and the next one, so pair metrics can look back
/// one frame without copying. Every FFmpeg allocation is held by one owner
/// from Handles.swift and freed when the reader goes.
public final class VideoReader {
    public let path: String
    public let options: ReadOptions
    public private(set) var info: VideoInfo
    /// Problems that did not stop the read (corrupt packets, 10-bit input, size changes).
    public private(set) var warnings: [String] = []

    private let format: InputFormatHandle
    private let codec: CodecContextHandle
    private let streamIndex: Int32
    private let timeBase: AVRational
    private let packet: PacketHandle
    private let scratch: FrameHandle
    private var slots: [OutputSlot] = []
    private var startTime: Double?
    private var lastTime: Double = -1
    private var nominalDuration: Double
    /// The frame size as stored (before the display rotation).
    fileprivate let storedWidth: Int
    fileprivate let storedHeight: Int

    /// What a file of mode `mode` is when it is not a regular file ("a FIFO"), else nil.
    static func notRegular(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFDIR: return "a folder"
        default: return "not a file"
        }
    }

    public init(path: String, options: ReadOptions = ReadOptions()) throws(VideoError) {
        _ = quietFFmpegLog
        self.path = path
        self.options = options
        var st = stat()
        guard stat(path, &st) == 0 else { throw .notFound(path: path) }
        // Only a regular file is opened: the open of a FIFO named like a clip blocks until someone writes to it,
        // and a device may never end.
        if let kind = VideoReader.notRegular(st.st_mode) { throw .cannotOpen(path: path, reason: "it is \(kind), not a regular file") }
        guard st.st_size > 0 else { throw .emptyFile(path: path) }

        do {
            format = try InputFormatHandle(path: path)
        } catch {
            throw .cannotOpen(path: path, reason: error.text)
        }
        let fmt = format.pointer
        var rc = avformat_find_stream_info(fmt, nil)
        if rc < 0 {
            throw .cannotOpen(path: path, reason: "stream information unreadable: \(ffmpegErrorString(rc))")
        }
        let best = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard best >= 0 else {
            let kinds = (0..<Int(fmt.pointee.nb_streams)).map { i -> String in
                let type = fmt.pointee.streams[i]!.pointee.codecpar.pointee.codec_type
                return av_get_media_type_string(type).map { String(cString: $0) } ?? "unknown"
            }
            throw .noVideoStream(path: path, streams: kinds.isEmpty ? "no streams at all" : "streams: " + kinds.joined(separator: ", "))
        }
        streamIndex = best
        let stream = fmt.pointee.streams[Int(best)]!
        // Only the chosen stream is demuxed further.
        for i in 0..<Int(fmt.pointee.nb_streams) where i != Int(best) {
            fmt.pointee.streams[i]!.pointee.discard = AVDISCARD_ALL
        }
        timeBase = stream.pointee.time_base
        let par = stream.pointee.codecpar!
        var codecName = String(cString: avcodec_get_name(par.pointee.codec_id))
        if par.pointee.codec_id == AV_CODEC_ID_NONE {
            // An identifier the demuxer does not know: name it by the container's four-character tag.
            let tag = par.pointee.codec_tag
            let chars = (0..<4).map { UInt8(truncatingIfNeeded: tag >> (8 * $0)) }
            let printable = chars.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
            codecName = tag != 0 && printable ? "unknown (tag \(String(decoding: chars, as: UTF8.self)))" : "unknown"
        }
        guard let decoder = avcodec_find_decoder(par.pointee.codec_id) else {
            throw .noDecoder(path: path, codec: codecName)
        }
        guard let codec = CodecContextHandle(codec: decoder) else {
            throw .decoderFailed(path: path, reason: "out of memory allocating the \(codecName) decoder")
        }
        self.codec = codec
        let ctx = codec.pointer
        rc = avcodec_parameters_to_context(ctx, par)
        if rc < 0 {
            throw .decoderFailed(path: path, reason: "cannot copy codec parameters: \(ffmpegErrorString(rc))")
        }
        ctx.pointee.thread_count = Int32(options.threads)
        ctx.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        rc = avcodec_open2(ctx, decoder, nil)
        if rc < 0 {
            throw .decoderFailed(path: path, reason: ffmpegErrorString(rc))
        }

        storedWidth = Int(par.pointee.width)
        storedHeight = Int(par.pointee.height)
        guard storedWidth > 0, storedHeight > 0 else {
            throw .decoderFailed(path: path, reason: "the stream declares no frame size")
        }
        let (rotation, rotationNote) = VideoReader.displayRotation(of: stream)
        let (width, height) = PlaneRotation.turned(width: storedWidth, height: storedHeight, degrees: rotation)
        let (ow, oh) = options.size.map { ($0.width, $0.height) }
            ?? VideoReader.outputSize(width: width, height: height, maxSide: options.maxSide)
        let (mw, mh) = VideoReader.outputSize(width: ow, height: oh, maxSide: options.motionSide)
        let rate = stream.pointee.avg_frame_rate.num > 0 ? stream.pointee.avg_frame_rate : stream.pointee.r_frame_rate
        let fps = rate.den > 0 && rate.num > 0 ? av_q2d(rate) : 0
        var duration = 0.0
        if stream.pointee.duration > 0 {
            duration = Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
        } else if fmt.pointee.duration > 0 {
            duration = Double(fmt.pointee.duration) / Double(AV_TIME_BASE)
        }
        let pixfmt = AVPixelFormat(rawValue: par.pointee.format)
        let desc = av_pix_fmt_desc_get(pixfmt)
        let depth = desc.map { Int($0.pointee.comp.0.depth) } ?? 8
        info = VideoInfo(
            width: width, height: height, outputWidth: ow, outputHeight: oh, motionWidth: mw, motionHeight: mh,
            fps: fps, duration: duration,
            codec: codecName,
            pixelFormat: av_get_pix_fmt_name(pixfmt).map { String(cString: $0) } ?? "unknown",
            bitDepth: depth,
            range: VideoReader.range(of: pixfmt, declared: par.pointee.color_range),
            colorSpace: av_color_space_name(par.pointee.color_space).map { String(cString: $0) } ?? "unknown",
            rotation: rotation)
        nominalDuration = fps > 0 ? 1 / fps : 0
        guard let packet = PacketHandle(), let scratch = FrameHandle(), let a = OutputSlot(), let b = OutputSlot() else {
            throw .decoderFailed(path: path, reason: "out of memory allocating frames")
        }
        self.packet = packet
        self.scratch = scratch
        slots = [a, b]
        if let rotationNote { warnings.append(rotationNote) }
        if depth > 8 {
            warnings.append("\(depth)-bit \(info.pixelFormat) input: metrics run on 8-bit planes converted by libswscale")
        }
    }

    /// The clockwise display rotation of a stream (0 without a display matrix).
    static func displayRotation(of stream: UnsafePointer<AVStream>) -> (Int, String?) {
        guard let m = gallop_stream_display_matrix(stream) else { return (0, nil) }
        return PlaneRotation.rotation(displayMatrix: Array(UnsafeBufferPointer(start: m, count: 9)))
    }

    static func outputSize(width: Int, height: Int, maxSide: Int?) -> (Int, Int) {
        guard let maxSide, maxSide > 0, max(width, height) > maxSide else { return (width, height) }
        let scale = Double(maxSide) / Double(max(width, height))
        // Even sizes keep 4:2:0 chroma aligned.
        func even(_ v: Double) -> Int { max(2, Int((v / 2).rounded()) * 2) }
        return width >= height ? (maxSide - maxSide % 2, even(Double(height) * scale)) : (even(Double(width) * scale), maxSide - maxSide % 2)
    }

    static func range(of format: AVPixelFormat, declared: AVColorRange) -> ColorRange {
        switch format {
        case AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUVJ411P:
            return .full
        default:
            return declared == AVCOL_RANGE_JPEG ? .full : .limited
        }
    }

    /// Decodes the clip, lending each selected frame to `body` in presentation order.
    /// Returns the number of frames lent. Throws ``VideoError/noFrames`` when not
    /// one frame decodes; corruption after the first frame becomes a warning.
    @discardableResult
    public func forEachFrame(_ body: (Frame) throws -> Void) throws -> Int {
        while let frame = try next() { try body(frame) }
        return delivered
    }

    // Pull-decoding state.
    private var decoded = 0
    private var delivered = 0
    private var corruptPackets = 0
    private var firstError: String?
    private var inputEnded = false
    private var finished = false

    /// The next selected frame, or nil at the end of the clip. A returned frame
    /// stays valid until `next()` has been called twice more, so two readers
    /// can be stepped side by side (a clip and its reference).
    public func next() throws -> Frame? {
        guard !finished else { return nil }
        let format = format.pointer, codec = codec.pointer, packet = packet.pointer, scratch = scratch.pointer
        if let maxFrames = options.maxFrames, delivered >= maxFrames { return try finish(early: true) }
        while true {
            let rc = avcodec_receive_frame(codec, scratch)
            if rc >= 0 {
                defer { av_frame_unref(scratch) }
                let sourceIndex = decoded
                decoded += 1
                if scratch.pointee.decode_error_flags != 0 || (scratch.pointee.flags & AV_FRAME_FLAG_CORRUPT) != 0 {
                    corruptPackets += 1
                }
                guard sourceIndex % options.every == 0 else { continue }
                let frame = try slots[delivered % 2].fill(from: scratch, reader: self, index: delivered, sourceIndex: sourceIndex)
                delivered += 1
                return frame
            }
            if rc == averrorEOF { return try finish(early: false) }
            if rc != averrorEAGAIN {
                corruptPackets += 1
                if firstError == nil { firstError = ffmpegErrorString(rc) }
                if inputEnded { return try finish(early: false) }
            }
            // The decoder wants input.
            if inputEnded { return try finish(early: false) }
            let read = av_read_frame(format, packet)
            if read < 0 {
                if read != averrorEOF {
                    warnings.append("reading stopped early: \(ffmpegErrorString(read)); the frames decoded until then were scored")
                }
                inputEnded = true
                // Enter draining; the buffered frames come out of receive_frame.
                let flushed = avcodec_send_packet(codec, nil)
                if flushed < 0 && flushed != averrorEOF {
                    corruptPackets += 1
                    if firstError == nil { firstError = ffmpegErrorString(flushed) }
                }
                continue
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == streamIndex else { continue }
            let sent = avcodec_send_packet(codec, packet)
            if sent < 0 && sent != averrorEAGAIN {
                corruptPackets += 1
                if firstError == nil { firstError = ffmpegErrorString(sent) }
            }
        }
    }

    /// Ends the read: the end-of-clip checks, once.
    private func finish(early: Bool) throws -> Frame? {
        finished = true
        if delivered == 0 {
            throw VideoError.noFrames(path: path, reason: firstError ?? (decoded == 0 ? "the video stream holds no decodable frame" : "no frame was selected"))
        }
        // A file cut short often ends without a read error: compare with what the container declared.
        let declaredFrames = Int(format.pointer.pointee.streams[Int(streamIndex)]!.pointee.nb_frames)
        let slack = max(Double(options.every + 1) * nominalDuration, 0.1)
        if !early, info.duration > 0, lastTime + slack < info.duration - nominalDuration {
            warnings.append(String(format: "the stream ends at %.3f s but the container declares %.3f s: the file looks truncated; the frames that decoded were scored", lastTime, info.duration))
        } else if !early, declaredFrames > 0, decoded < declaredFrames - 1 {
            warnings.append("decoded \(decoded) of the \(declaredFrames) frames the container declares: the file looks truncated or damaged")
        }
        if corruptPackets > 0 {
            warnings.append("\(corruptPackets) corrupt packet(s) or frame(s) in the stream\(firstError.map { " (\($0))" } ?? ""); the frames that decoded were scored")
        }
        return nil
    }

    /// Seconds from the first frame, from the best-effort timestamp; frames without
    /// one continue from the previous frame at the nominal rate.
    fileprivate func presentationTime(of frame: UnsafeMutablePointer<AVFrame>) -> (time: Double, duration: Double) {
        let ts = frame.pointee.best_effort_timestamp
        let stated = gallop_frame_duration(frame)
        var duration = stated > 0 ? Double(stated) * av_q2d(timeBase) : nominalDuration
        if duration <= 0 { duration = nominalDuration > 0 ? nominalDuration : 1.0 / 25 }
        var time: Double
        if ts != gallop_nopts_value() {
            let t = Double(ts) * av_q2d(timeBase)
            if startTime == nil { startTime = t }
            time = t - startTime!
        } else {
            time = lastTime < 0 ? 0 : lastTime + duration
        }
        if time <= lastTime { time = lastTime + duration }
        lastTime = time
        return (time, duration)
    }

    fileprivate func noteWarning(_ text: String) {
        if !warnings.contains(text) { warnings.append(text) }
    }
}

/// One of the reader's two output slots: a reference to a decoded frame and the
/// converted (and, for a turned stream, rotated) planes made from it, valid
/// until the slot is filled again.
private final class OutputSlot {
    let frame: FrameHandle
    var luma = Converter()
    var rgb = Converter()
    var motion = Converter()
    /// Display-orientation copies, used only when the stream is turned.
    let turnedLuma = RotationBuffer(), turnedRGB = RotationBuffer(), turnedMotion = RotationBuffer()
    let turnedCb = RotationBuffer(), turnedCr = RotationBuffer()

    init?() {
        guard let f = FrameHandle() else { return nil }
        frame = f
        guard luma.ready, rgb.ready, motion.ready else { return nil }
    }

    func fill(from source: UnsafeMutablePointer<AVFrame>, reader: VideoReader, index: Int, sourceIndex: Int) throws -> Frame {
        let f = frame.pointer
        av_frame_unref(f)
        av_frame_move_ref(f, source)
        let (time, duration) = reader.presentationTime(of: f)
        let info = reader.info
        let degrees = info.rotation
        // Scale in the stored orientation to the size that turns into the output size, then turn.
        let (ow, oh) = PlaneRotation.turned(width: info.outputWidth, height: info.outputHeight, degrees: degrees)
        let w = Int(f.pointee.width), h = Int(f.pointee.height)
        let fmt = AVPixelFormat(rawValue: f.pointee.format)
        if w != reader.storedWidth || h != reader.storedHeight {
            reader.noteWarning("frame size changes mid-stream (\(reader.storedWidth)x\(reader.storedHeight) to \(w)x\(h)); later frames are scaled to the first size")
        }
        let range = VideoReader.range(of: fmt, declared: f.pointee.color_range)
        func display(_ plane: Plane, _ buffer: RotationBuffer) -> Plane {
            degrees == 0 ? plane : buffer.turn(plane, degrees: degrees)
        }

        let storedLuma: Plane
        if w == ow && h == oh && Converter.hasDirectLuma(fmt) {
            storedLuma = Plane(base: UnsafePointer(f.pointee.data.0!), width: w, height: h, stride: Int(f.pointee.linesize.0))
        } else {
            storedLuma = try luma.lumaPlane(from: f, width: ow, height: oh, full: range == .full, reader: reader)
        }
        let lumaPlane = display(storedLuma, turnedLuma)
        var rgbPlane: Plane?
        var rgbFromYUV: YUVToRGB?
        if reader.options.rgb {
            if reader.options.rgbFromYUV, degrees == 0, w == ow, h == oh, h % 2 == 0,
               fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_YUVJ420P {
                rgbFromYUV = DirectRGB.conversion(colorspace: Int(f.pointee.colorspace.rawValue), fullRange: range == .full)
            }
            if rgbFromYUV == nil {
                rgbPlane = display(try rgb.rgbPlane(from: f, width: ow, height: oh, full: range == .full, reader: reader), turnedRGB)
            }
        }
        var motionPlane: Plane?
        if reader.options.motionSide != nil {
            let (mw, mh) = PlaneRotation.turned(width: info.motionWidth, height: info.motionHeight, degrees: degrees)
            motionPlane = mw == ow && mh == oh ? lumaPlane
                : display(try motion.lumaPlane(from: f, width: mw, height: mh, full: range == .full, reader: reader), turnedMotion)
        }
        var chroma: (cb: Plane, cr: Plane)?
        if reader.options.chroma || rgbFromYUV != nil, w == ow && h == oh, let d = av_pix_fmt_desc_get(fmt), Converter.hasDirectLuma(fmt),
           d.pointee.nb_components == 3, d.pointee.comp.1.plane == 1, d.pointee.comp.2.plane == 2,
           d.pointee.comp.1.step == 1, d.pointee.comp.2.step == 1 {
            let cw = (w + (1 << Int(d.pointee.log2_chroma_w)) - 1) >> Int(d.pointee.log2_chroma_w)
            let ch = (h + (1 << Int(d.pointee.log2_chroma_h)) - 1) >> Int(d.pointee.log2_chroma_h)
            chroma = (display(Plane(base: UnsafePointer(f.pointee.data.1!), width: cw, height: ch, stride: Int(f.pointee.linesize.1)), turnedCb),
                      display(Plane(base: UnsafePointer(f.pointee.data.2!), width: cw, height: ch, stride: Int(f.pointee.linesize.2)), turnedCr))
        }
        return Frame(index: index, sourceIndex: sourceIndex, time: time, duration: duration, luma: lumaPlane, rgb: rgbPlane,
                     motion: motionPlane, chroma: chroma, rgbFromYUV: rgbFromYUV, range: range)
    }
}

/// Owns one libswscale context and its output frame, rebuilt when the input changes.
private struct Converter {
    private final class Box {
        var sws: ScaleHandle?
        let out = FrameHandle()
        var key: [Int32] = []
    }
    private let box = Box()

    /// False when the output frame could not be allocated.
    var ready: Bool { box.out != nil }

    /// True when plane 0 is already 8-bit luma, one byte per sample.
    static func hasDirectLuma(_ fmt: AVPixelFormat) -> Bool {
        guard let d = av_pix_fmt_desc_get(fmt) else { return false }
        let flags = Int32(truncatingIfNeeded: d.pointee.flags)
        if flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL) != 0 { return false }
        let c = d.pointee.comp.0
        return c.depth == 8 && c.plane == 0 && c.step == 1 && c.shift == 0
    }

    /// The scaler and output frame for this conversion, made anew when the input or output changes.
    /// `setup` sets the colour details; it returns sws_setColorspaceDetails' code.
    private func prepare(src: UnsafeMutablePointer<AVFrame>, srcFormat: AVPixelFormat? = nil, dstFormat: AVPixelFormat,
                         width: Int, height: Int, flags: Int32 = SWS_BICUBIC, extra: Int32, reader: VideoReader,
                         setup: (OpaquePointer) -> Int32) throws(VideoError) -> (OpaquePointer, UnsafeMutablePointer<AVFrame>) {
        let out = box.out!.pointer
        let inFormat = srcFormat ?? AVPixelFormat(rawValue: src.pointee.format)
        let key = [src.pointee.width, src.pointee.height, inFormat.rawValue, dstFormat.rawValue, Int32(width), Int32(height), flags, extra]
        if key != box.key || box.sws == nil {
            box.sws = nil
            box.key = []
            guard let sws = ScaleHandle(srcWidth: src.pointee.width, srcHeight: src.pointee.height, srcFormat: inFormat,
                                        dstWidth: Int32(width), dstHeight: Int32(height), dstFormat: dstFormat, flags: flags) else {
                let name = av_get_pix_fmt_name(inFormat).map { String(cString: $0) } ?? "unknown"
                throw .conversionFailed(path: reader.path, reason: "libswscale cannot convert pixel format \(name) at \(src.pointee.width)x\(src.pointee.height)")
            }
            if setup(sws.pointer) < 0 {
                // The conversion still runs, with libswscale's default coefficients.
                reader.noteWarning("libswscale refused the frame's colour matrix or range: frames were converted with its defaults (BT.601)")
            }
            av_frame_unref(out)
            out.pointee.format = dstFormat.rawValue
            out.pointee.width = Int32(width)
            out.pointee.height = Int32(height)
            let rc = av_frame_get_buffer(out, 64)
            if rc < 0 {
                throw .conversionFailed(path: reader.path, reason: "cannot allocate a \(width)x\(height) frame: \(ffmpegErrorString(rc))")
            }
            box.sws = sws
            box.key = key
        }
        return (box.sws!.pointer, out)
    }

    /// 8-bit luma at the output size. Plane-0 luma is scaled as a grey image
    /// (no range change); other formats go through 8-bit YUV 4:4:4 with the
    /// source range kept.
    mutating func lumaPlane(from src: UnsafeMutablePointer<AVFrame>, width: Int, height: Int, full: Bool, reader: VideoReader) throws(VideoError) -> Plane {
        let fmt = AVPixelFormat(rawValue: src.pointee.format)
        let out: UnsafeMutablePointer<AVFrame>
        if Converter.hasDirectLuma(fmt) {
            // Scale plane 0 alone, grey in and grey out: no range conversion.
            let (sws, o) = try prepare(src: src, srcFormat: AV_PIX_FMT_GRAY8, dstFormat: AV_PIX_FMT_GRAY8,
                                       width: width, height: height, flags: SWS_AREA, extra: 0, reader: reader) { _ in 0 }
            out = o
            var srcData: [UnsafePointer<UInt8>?] = [UnsafePointer(src.pointee.data.0), nil, nil, nil]
            var srcStride: [Int32] = [src.pointee.linesize.0, 0, 0, 0]
            var dstData: [UnsafeMutablePointer<UInt8>?] = [out.pointee.data.0, nil, nil, nil]
            var dstStride: [Int32] = [out.pointee.linesize.0, 0, 0, 0]
            // sws_scale returns the height of the output slice written, 0 or negative on failure.
            let rows = sws_scale(sws, &srcData, &srcStride, 0, src.pointee.height, &dstData, &dstStride)
            if rows <= 0 { throw .conversionFailed(path: reader.path, reason: "luma scaling failed: \(rows < 0 ? ffmpegErrorString(rows) : "no rows written")") }
        } else {
            let dst = full ? AV_PIX_FMT_YUVJ444P : AV_PIX_FMT_YUV444P
            let (sws, o) = try prepare(src: src, dstFormat: dst, width: width, height: height, extra: full ? 1 : 0, reader: reader) { sws in
                let r: Int32 = full ? 1 : 0
                return sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), r, sws_getCoefficients(SWS_CS_DEFAULT), r, 0, 1 << 16, 1 << 16)
            }
            out = o
            let rc = sws_scale_frame(sws, out, src)
            if rc < 0 { throw .conversionFailed(path: reader.path, reason: "luma conversion failed: \(ffmpegErrorString(rc))") }
        }
        return Plane(base: UnsafePointer(out.pointee.data.0!), width: width, height: height, stride: Int(out.pointee.linesize.0))
    }

    /// 8-bit planar YUV layouts whose unscaled conversion to RGB0 gives the
    /// same R, G and B as to RGB24, byte for byte (checked with FFmpeg 5.1);
    /// scaled or deeper input can round differently between the two.
    static let rgb0Formats = Set([AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV422P,
                                  AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUV444P, AV_PIX_FMT_YUVJ444P].map(\.rawValue))

    /// Packed RGB at the output size, converted with the frame's own matrix
    /// (BT.601 when untagged) and range, bicubic as OpenCV's capture does.
    /// 8-bit planar YUV at its own size comes as RGB0 (R, G, B and a padding
    /// byte of 255): the same colours as RGB24 at the same libswscale cost,
    /// but four-byte pixels let the colour kernels work in 32-bit lanes (half
    /// the time). Anything else comes as RGB24, so that no result depends on
    /// the layout.
    mutating func rgbPlane(from src: UnsafeMutablePointer<AVFrame>, width: Int, height: Int, full: Bool, reader: VideoReader) throws(VideoError) -> Plane {
        let space = src.pointee.colorspace
        let padded = width == Int(src.pointee.width) && height == Int(src.pointee.height)
            && Converter.rgb0Formats.contains(src.pointee.format)
        let (sws, out) = try prepare(src: src, dstFormat: padded ? AV_PIX_FMT_RGB0 : AV_PIX_FMT_RGB24, width: width, height: height,
                                     extra: Int32(space.rawValue) * 2 + (full ? 1 : 0), reader: reader) { sws in
            let coefficients = sws_getCoefficients(Int32(space.rawValue))
            return sws_setColorspaceDetails(sws, coefficients, full ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
        }
        let rc = sws_scale_frame(sws, out, src)
        if rc < 0 { throw .conversionFailed(path: reader.path, reason: "RGB conversion failed: \(ffmpegErrorString(rc))") }
        return Plane(base: UnsafePointer(out.pointee.data.0!), width: width, height: height, stride: Int(out.pointee.linesize.0),
                     channels: padded ? 4 : 3)
    }
}
