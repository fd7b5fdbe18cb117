import CFFmpeg
import GallopCore

/// Encodes frames to a clip through libavcodec: for tests, demos and `gallop synth`.
///
/// Frames are given as 8-bit YUV 4:2:0 planes (the luma plane plus optional
/// half-size chroma) or as packed RGB24, converted with BT.601 limited range.
public final class VideoWriter {
    public enum Codec: Sendable, Equatable {
        /// FFV1, lossless: decoded planes equal the written ones exactly.
        case ffv1
        /// H.264 through libx264 at a constant rate factor (lower = better).
        case h264(crf: Int)
        /// FFmpeg's MPEG-4 part 2 encoder at a fixed quantiser (2 = best, 31 = worst).
        case mpeg4(q: Int)

        var isMPEG4: Bool { if case .mpeg4 = self { return true } else { return false } }
    }

    public let path: String
    public let width: Int
    public let height: Int
    public let fps: Int
    /// Bits per sample of the encoded planes: 8, or 10 (FFV1 and H.264 only).
    public let bitDepth: Int
    /// Clockwise degrees a player turns the frames for display (0, 90, 180 or 270),
    /// stored as the stream's display matrix; the frames are written as given.
    public let rotation: Int
    private let format: OutputFormatHandle
    private let codec: CodecContextHandle
    private let stream: UnsafeMutablePointer<AVStream>
    private let frame: FrameHandle
    private let packet: PacketHandle
    private var rgbConverter: ScaleHandle?
    private var count = 0
    private var lastPTS: Int64 = -1
    private var finished = false
    /// The encoder is open and the header written: only then does `deinit` flush and write the trailer.
    private var ready = false

    /// Milliseconds: fine enough for variable-rate test clips, valid for every codec here.
    private static let timeBase = AVRational(num: 1, den: 1000)

    /// Opens `path` for writing; the container follows the file extension
    /// (`.mkv` for FFV1, `.mp4` or `.mkv` for the others).
    /// `bitDepth` 10 writes yuv420p10 (8-bit input samples shifted up by two
    /// bits), as generators often do, to test the reader's conversion path.
    /// `rotation` (clockwise degrees) is kept only by containers that store a
    /// display matrix: MP4/MOV (the track matrix); FFmpeg 5.1's Matroska muxer drops it.
    /// `keyframeInterval` is the most frames from one keyframe to the next (x264 may add more at scene cuts);
    /// `openGOP` lets H.264 B-frames shown before a keyframe refer to the previous group (x264's open-gop).
    public init(path: String, width: Int, height: Int, fps: Int = 24, codec kind: Codec = .ffv1, bitDepth: Int = 8,
                threads: Int = 1, rotation: Int = 0, keyframeInterval: Int = 12, openGOP: Bool = false) throws(VideoError) {
        guard bitDepth == 8 || (bitDepth == 10 && !kind.isMPEG4) else {
            throw .writeFailed(path: path, reason: "\(bitDepth)-bit output is not supported for this codec")
        }
        guard width > 1, height > 1, width % 2 == 0, height % 2 == 0 else {
            throw .writeFailed(path: path, reason: "frame size \(width)x\(height) must be even and at least 2x2")
        }
        guard [0, 90, 180, 270].contains(rotation) else {
            throw .writeFailed(path: path, reason: "rotation \(rotation) is not 0, 90, 180 or 270 degrees")
        }
        _ = quietFFmpegLog
        self.path = path
        self.width = width
        self.height = height
        self.fps = fps
        self.bitDepth = bitDepth
        self.rotation = rotation
        let pixelFormat = bitDepth == 10 ? AV_PIX_FMT_YUV420P10LE : AV_PIX_FMT_YUV420P
        // Each handle below is owned by this object from the moment it exists: a throw anywhere frees
        // what was made (and, the encoder not being open or the header not written, flushes nothing).
        do {
            format = try OutputFormatHandle(path: path)
        } catch {
            throw .writeFailed(path: path, reason: "no container for this file name: \(error.text)")
        }
        let fmt = format.pointer

        let encoderName: String
        switch kind {
        case .ffv1: encoderName = "ffv1"
        case .h264: encoderName = "libx264"
        case .mpeg4: encoderName = "mpeg4"
        }
        guard let encoder = avcodec_find_encoder_by_name(encoderName) else {
            throw .writeFailed(path: path, reason: "this FFmpeg has no \(encoderName) encoder")
        }
        // The stream belongs to the format context and is freed with it.
        guard let st = avformat_new_stream(fmt, nil) else {
            throw .writeFailed(path: path, reason: "cannot add a stream (out of memory)")
        }
        stream = st
        guard let codec = CodecContextHandle(codec: encoder) else {
            throw .writeFailed(path: path, reason: "out of memory allocating the \(encoderName) encoder")
        }
        self.codec = codec
        let ctx = codec.pointer
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.pix_fmt = pixelFormat
        ctx.pointee.time_base = VideoWriter.timeBase
        ctx.pointee.framerate = AVRational(num: Int32(fps), den: 1)
        ctx.pointee.thread_count = Int32(threads)
        ctx.pointee.color_range = AVCOL_RANGE_MPEG
        ctx.pointee.gop_size = Int32(max(1, keyframeInterval))
        if fmt.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        var opts: OpaquePointer?
        defer { av_dict_free(&opts) }
        var settings: [(String, String)] = []
        switch kind {
        case .ffv1:
            settings = [("level", "3")]
        case .h264(let crf):
            settings = [("crf", String(crf)), ("preset", "veryfast")] + (openGOP ? [("x264-params", "open-gop=1")] : [])
        case .mpeg4(let q):
            ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
            ctx.pointee.global_quality = Int32(q) * FF_QP2LAMBDA
        }
        for (key, value) in settings {
            let rc = av_dict_set(&opts, key, value, 0)
            if rc < 0 { throw .writeFailed(path: path, reason: "cannot set \(key)=\(value): \(ffmpegErrorString(rc))") }
        }
        var rc = avcodec_open2(ctx, encoder, &opts)
        guard rc >= 0 else {
            throw .writeFailed(path: path, reason: "cannot open the \(encoderName) encoder: \(ffmpegErrorString(rc))")
        }
        rc = avcodec_parameters_from_context(st.pointee.codecpar, ctx)
        guard rc >= 0 else {
            throw .writeFailed(path: path, reason: "cannot copy the encoder's parameters to the stream: \(ffmpegErrorString(rc))")
        }
        st.pointee.time_base = VideoWriter.timeBase
        st.pointee.avg_frame_rate = AVRational(num: Int32(fps), den: 1)
        if rotation != 0 {
            // av_display_rotation_set takes clockwise degrees (av_display_rotation_get returns counter-clockwise ones).
            var matrix = [Int32](repeating: 0, count: 9)
            av_display_rotation_set(&matrix, Double(rotation))
            rc = gallop_stream_set_display_matrix(st, matrix)
            guard rc >= 0 else {
                throw .writeFailed(path: path, reason: "cannot attach the display matrix: \(ffmpegErrorString(rc))")
            }
        }

        if format.needsFile {
            rc = format.openFile(path)
            guard rc >= 0 else {
                throw .writeFailed(path: path, reason: ffmpegErrorString(rc))
            }
        }
        rc = avformat_write_header(fmt, nil)
        guard rc >= 0 else {
            throw .writeFailed(path: path, reason: "cannot write the container header: \(ffmpegErrorString(rc))")
        }
        guard let frame = FrameHandle(), let packet = PacketHandle() else {
            throw .writeFailed(path: path, reason: "out of memory allocating a frame")
        }
        self.frame = frame
        self.packet = packet
        frame.pointer.pointee.format = pixelFormat.rawValue
        frame.pointer.pointee.width = Int32(width)
        frame.pointer.pointee.height = Int32(height)
        rc = av_frame_get_buffer(frame.pointer, 0)
        guard rc >= 0 else {
            throw .writeFailed(path: path, reason: "cannot allocate a \(width)x\(height) frame: \(ffmpegErrorString(rc))")
        }
        ready = true
    }

    /// An unfinished clip is finished here; its errors are lost, so call ``finish()`` to see them.
    deinit {
        if ready && !finished { try? finish() }
    }

    /// Appends one frame from its luma plane (width × height) and optional
    /// chroma planes (width/2 × height/2; mid-grey 128 when nil). `time` is the
    /// presentation time in seconds (default: index / fps), for variable-rate clips.
    public func append(luma: PlaneBuffer, cb: PlaneBuffer? = nil, cr: PlaneBuffer? = nil, time: Double? = nil) throws(VideoError) {
        guard luma.width == width, luma.height == height, luma.channels == 1 else {
            throw .writeFailed(path: path, reason: "frame \(count) is \(luma.width)x\(luma.height), the clip is \(width)x\(height)")
        }
        try makeWritable()
        let f = frame.pointer
        let grey = PlaneBuffer(width: width / 2, height: height / 2, fill: 128)
        copy(luma, into: f.pointee.data.0!, stride: Int(f.pointee.linesize.0))
        copy(cb ?? grey, into: f.pointee.data.1!, stride: Int(f.pointee.linesize.1))
        copy(cr ?? grey, into: f.pointee.data.2!, stride: Int(f.pointee.linesize.2))
        try send(time: time)
    }

    /// Appends one packed RGB24 frame, converted to YUV 4:2:0 (BT.601, limited range).
    public func append(rgb: PlaneBuffer, time: Double? = nil) throws(VideoError) {
        guard bitDepth == 8 else { throw .writeFailed(path: path, reason: "RGB input is written at 8 bits only") }
        guard rgb.width == width, rgb.height == height, rgb.channels == 3 else {
            throw .writeFailed(path: path, reason: "RGB frame \(count) must be \(width)x\(height) with 3 channels")
        }
        try makeWritable()
        if rgbConverter == nil {
            rgbConverter = ScaleHandle(srcWidth: Int32(width), srcHeight: Int32(height), srcFormat: AV_PIX_FMT_RGB24,
                                       dstWidth: Int32(width), dstHeight: Int32(height), dstFormat: AV_PIX_FMT_YUV420P, flags: SWS_BICUBIC)
        }
        guard let sws = rgbConverter?.pointer else { throw .writeFailed(path: path, reason: "libswscale cannot convert RGB24 to YUV 4:2:0") }
        let f = frame.pointer
        let rows = rgb.samples.withUnsafeBufferPointer { buf in
            var srcData: [UnsafePointer<UInt8>?] = [buf.baseAddress, nil, nil, nil]
            var srcStride: [Int32] = [Int32(width * 3), 0, 0, 0]
            var dstData: [UnsafeMutablePointer<UInt8>?] = [f.pointee.data.0, f.pointee.data.1, f.pointee.data.2, nil]
            var dstStride: [Int32] = [f.pointee.linesize.0, f.pointee.linesize.1, f.pointee.linesize.2, 0]
            return sws_scale(sws, &srcData, &srcStride, 0, Int32(height), &dstData, &dstStride)
        }
        guard rows == Int32(height) else {
            throw .writeFailed(path: path, reason: "RGB frame \(count) was not converted (\(rows < 0 ? ffmpegErrorString(rows) : "\(rows) rows written"))")
        }
        try send(time: time)
    }

    /// Flushes the encoder, writes the container trailer and closes the file,
    /// so that a write error at the very end (a full disk) is thrown here.
    public func finish() throws(VideoError) {
        guard !finished else { return }
        finished = true
        try drain(sending: nil)
        var rc = av_write_trailer(format.pointer)
        if rc < 0 { throw .writeFailed(path: path, reason: "cannot write the trailer: \(ffmpegErrorString(rc))") }
        rc = format.closeFile()
        if rc < 0 { throw .writeFailed(path: path, reason: "cannot finish writing the file: \(ffmpegErrorString(rc))") }
    }

    private func makeWritable() throws(VideoError) {
        guard !finished else { throw .writeFailed(path: path, reason: "append after finish") }
        let rc = av_frame_make_writable(frame.pointer)
        if rc < 0 { throw .writeFailed(path: path, reason: ffmpegErrorString(rc)) }
    }

    /// Copies 8-bit samples into a frame plane, shifted up to 10 bits when asked.
    private func copy(_ plane: PlaneBuffer, into dst: UnsafeMutablePointer<UInt8>, stride: Int) {
        plane.samples.withUnsafeBufferPointer { src in
            for y in 0..<plane.height {
                let row = src.baseAddress! + y * plane.width
                if bitDepth == 8 {
                    (dst + y * stride).update(from: row, count: plane.width)
                } else {
                    let out = UnsafeMutableRawPointer(dst + y * stride).assumingMemoryBound(to: UInt16.self)
                    for x in 0..<plane.width { out[x] = UInt16(row[x]) << 2 }
                }
            }
        }
    }

    private func send(time: Double?) throws(VideoError) {
        var pts = Int64(((time ?? Double(count) / Double(fps)) * 1000).rounded())
        if pts <= lastPTS { pts = lastPTS + 1 }
        lastPTS = pts
        frame.pointer.pointee.pts = pts
        count += 1
        try drain(sending: frame.pointer)
    }

    private func drain(sending f: UnsafeMutablePointer<AVFrame>?) throws(VideoError) {
        let codec = codec.pointer, packet = packet.pointer
        var rc = avcodec_send_frame(codec, f)
        if rc < 0 { throw .writeFailed(path: path, reason: "encoder refused frame \(count): \(ffmpegErrorString(rc))") }
        while true {
            rc = avcodec_receive_packet(codec, packet)
            if rc == averrorEAGAIN || rc == averrorEOF { return }
            if rc < 0 { throw .writeFailed(path: path, reason: "the encoder failed: \(ffmpegErrorString(rc))") }
            av_packet_rescale_ts(packet, codec.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            // av_interleaved_write_frame takes the packet's reference (and unreferences it on failure too).
            rc = av_interleaved_write_frame(format.pointer, packet)
            if rc < 0 { throw .writeFailed(path: path, reason: "cannot write a packet: \(ffmpegErrorString(rc))") }
        }
    }
}
