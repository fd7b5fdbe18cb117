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
    /// Also hand out the luma scaled to exactly this size by this filter (`Frame.scaledLuma`): a clip and a
    /// reference of other sizes, each at the other's size.
    public var scaledLuma: ScaledLuma?
    /// Also decode the clip's sound track in the same pass and lend it to ``VideoReader/audioSink`` (nil: the
    /// track is not even demuxed, and the frames are exactly those of a read without it).
    public var audio: AudioRequest?

    public init(maxSide: Int? = nil, every: Int = 1, maxFrames: Int? = nil, rgb: Bool = false, threads: Int = 0,
                motionSide: Int? = nil, size: FrameSize? = nil, chroma: Bool = false, rgbFromYUV: Bool = true,
                scaledLuma: ScaledLuma? = nil, audio: AudioRequest? = nil) {
        self.maxSide = maxSide
        self.every = max(1, every)
        self.maxFrames = maxFrames
        self.rgb = rgb
        self.threads = max(0, threads)
        self.motionSide = motionSide
        self.size = size
        self.chroma = chroma
        self.rgbFromYUV = rgbFromYUV
        self.scaledLuma = scaledLuma
        self.audio = audio
    }
}

/// A second luma plane the reader hands out: its size (as displayed) and libswscale's filter.
public struct ScaledLuma: Sendable, Hashable {
    public enum Filter: String, Sendable, Hashable {
        /// Area averaging: the reader's filter for every smaller plane.
        case area
        /// Bicubic (libswscale's default parameters): FFmpeg's `scale` filter by default, as libvmaf's users scale a clip.
        case bicubic
    }
    public var size: FrameSize
    public var filter: Filter
    public init(size: FrameSize, filter: Filter) {
        self.size = size
        self.filter = filter
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
    /// Problems that did not stop the read (corrupt packets, 10-bit input, size changes; the sound track's,
    /// when it was asked for, once the read has ended).
    public private(set) var warnings: [String] = []
    /// The sound track (``AudioStatus/notRequested`` unless ``ReadOptions/audio`` asks for it).
    public private(set) var audio: AudioStatus = .notRequested
    /// Where the decoded sound goes, as it decodes (set before the first ``next()``): each ``AudioChunk``
    /// is valid during its call only. Chunks arrive in stream order between the frames.
    public var audioSink: ((AudioChunk) -> Void)?
    /// Seconds of sound decoded so far (nil without a decodable sound track).
    public var audioDuration: Double? { audioDecoder.map(\.duration) }

    private let format: InputFormatHandle
    private let codec: CodecContextHandle
    private let streamIndex: Int32
    private let timeBase: AVRational
    /// The stream's codec parameters (owned by `format`), for the thumbnails' size.
    private let parameters: UnsafeMutablePointer<AVCodecParameters>
    private let packet: PacketHandle
    private let scratch: FrameHandle
    private var slots: [OutputSlot] = []
    private var startTime: Double?
    /// The first frame's time on the stream clock (s), which the sound's times are measured from.
    private var clockStart: Double?
    private var audioDecoder: AudioDecoder?
    private var lastTime: Double = -1
    private var nominalDuration: Double
    /// The frame size as stored (before the display rotation).
    fileprivate let storedWidth: Int
    fileprivate let storedHeight: Int

    public init(path: String, options: ReadOptions = ReadOptions()) throws(VideoError) {
        self.path = path
        self.options = options
        let input = try VideoInput(path: path) { ctx in
            ctx.pointee.thread_count = Int32(options.threads)
            ctx.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        }
        format = input.format
        codec = input.codec
        streamIndex = input.streamIndex
        let fmt = format.pointer, stream = input.stream, par = input.parameters
        timeBase = stream.pointee.time_base
        parameters = par
        storedWidth = Int(par.pointee.width)
        storedHeight = Int(par.pointee.height)
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
        } else if let tagged = VideoReader.taggedDuration(of: stream) {
            duration = tagged
        } else if fmt.pointee.duration > 0 {
            duration = Double(fmt.pointee.duration) / Double(AV_TIME_BASE)
        }
        let pixfmt = AVPixelFormat(rawValue: par.pointee.format)
        let desc = av_pix_fmt_desc_get(pixfmt)
        let depth = desc.map { Int($0.pointee.comp.0.depth) } ?? 8
        info = VideoInfo(
            width: width, height: height, outputWidth: ow, outputHeight: oh, motionWidth: mw, motionHeight: mh,
            fps: fps, duration: duration,
            codec: input.codecName,
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
        if let request = options.audio {
            (audioDecoder, audio) = AudioDecoder.open(format: fmt, videoIndex: streamIndex, request: request)
            if case .unusable(let reason) = audio { warnings.append(reason) }
        }
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

    /// A reference to the decoded frame of the last frame ``next()`` returned (also after it returned nil at
    /// the end): no copy, an `av_frame_ref` (nil before the first frame, or when out of memory).
    public func decodedFrame() -> DecodedFrame? {
        guard delivered > 0 else { return nil }
        return DecodedFrame(referencing: slots[(delivered - 1) % 2].frame.pointer)
    }

    /// The encoder that makes ``FrameGrabber``'s images of this clip (same size, scaling and codec), for
    /// frames kept while the clip is read.
    public func thumbnailEncoder(maxWidth: Int, format: FrameGrabber.ImageFormat = .jpeg) throws(VideoError) -> ThumbnailEncoder {
        try ThumbnailEncoder(parameters: parameters, maxWidth: maxWidth, format: format, path: path)
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
                audioDecoder?.flush(start: clockStart, sink: audioSink)
                // Enter draining; the buffered frames come out of receive_frame.
                let flushed = avcodec_send_packet(codec, nil)
                if flushed < 0 && flushed != averrorEOF {
                    corruptPackets += 1
                    if firstError == nil { firstError = ffmpegErrorString(flushed) }
                }
                continue
            }
            defer { av_packet_unref(packet) }
            if let audioDecoder, packet.pointee.stream_index == audioDecoder.streamIndex {
                audioDecoder.decode(packet, start: clockStart, sink: audioSink)
                continue
            }
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
        if let audioDecoder {
            audioDecoder.end(start: clockStart, sink: audioSink)
            warnings += audioDecoder.finalWarnings(videoEnd: lastTime + nominalDuration, start: clockStart, early: early)
        }
        return nil
    }

    /// The stream's own duration as Matroska muxers (FFmpeg's, mkvmerge) tag it, `DURATION` = `H:MM:SS.fffffffff`,
    /// where the stream states none (Matroska's header holds only the longest stream's).
    static func taggedDuration(of stream: UnsafeMutablePointer<AVStream>) -> Double? {
        guard let entry = av_dict_get(stream.pointee.metadata, "DURATION", nil, 0), let value = entry.pointee.value else { return nil }
        let parts = String(cString: value).split(separator: ":")
        guard parts.count == 3, let h = Double(parts[0]), let m = Double(parts[1]), let sec = Double(parts[2]) else { return nil }
        let seconds = h * 3600 + m * 60 + sec
        return seconds.isFinite && seconds > 0 ? seconds : nil
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
            if clockStart == nil { clockStart = t }
            time = t - startTime!
        } else {
            time = lastTime < 0 ? 0 : lastTime + duration
            if clockStart == nil { clockStart = 0 }
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
    var scaled = Converter()
    /// Display-orientation copies, used only when the stream is turned.
    let turnedLuma = RotationBuffer(), turnedRGB = RotationBuffer(), turnedMotion = RotationBuffer(), turnedScaled = RotationBuffer()
    let turnedCb = RotationBuffer(), turnedCr = RotationBuffer()

    init?() {
        guard let f = FrameHandle() else { return nil }
        frame = f
        guard luma.ready, rgb.ready, motion.ready, scaled.ready else { return nil }
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
            storedLuma = try luma.lumaPlane(from: f, width: ow, height: oh, full: range == .full, path: reader.path, warn: reader.noteWarning)
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
                rgbPlane = display(try rgb.rgbPlane(from: f, width: ow, height: oh, full: range == .full, path: reader.path, warn: reader.noteWarning), turnedRGB)
            }
        }
        var motionPlane: Plane?
        if reader.options.motionSide != nil {
            let (mw, mh) = PlaneRotation.turned(width: info.motionWidth, height: info.motionHeight, degrees: degrees)
            motionPlane = mw == ow && mh == oh ? lumaPlane
                : display(try motion.lumaPlane(from: f, width: mw, height: mh, full: range == .full, path: reader.path, warn: reader.noteWarning), turnedMotion)
        }
        var scaledPlane: Plane?
        if let s = reader.options.scaledLuma {
            let (sw, sh) = PlaneRotation.turned(width: s.size.width, height: s.size.height, degrees: degrees)
            if sw == w && sh == h && Converter.hasDirectLuma(fmt) {
                scaledPlane = display(Plane(base: UnsafePointer(f.pointee.data.0!), width: w, height: h, stride: Int(f.pointee.linesize.0)), turnedScaled)
            } else {
                scaledPlane = display(try scaled.lumaPlane(from: f, width: sw, height: sh, full: range == .full, filter: s.filter,
                                                           path: reader.path, warn: reader.noteWarning), turnedScaled)
            }
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
                     motion: motionPlane, chroma: chroma, rgbFromYUV: rgbFromYUV, range: range, scaledLuma: scaledPlane)
    }
}
