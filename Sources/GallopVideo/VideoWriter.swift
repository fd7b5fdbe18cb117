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
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var rgbConverter: OpaquePointer?
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
    public init(path: String, width: Int, height: Int, fps: Int = 24, codec kind: Codec = .ffv1, bitDepth: Int = 8, threads: Int = 1) throws(VideoError) {
        guard bitDepth == 8 || (bitDepth == 10 && !kind.isMPEG4) else {
            throw .writeFailed(path: path, reason: "\(bitDepth)-bit output is not supported for this codec")
        }
        guard width > 1, height > 1, width % 2 == 0, height % 2 == 0 else {
            throw .writeFailed(path: path, reason: "frame size \(width)x\(height) must be even and at least 2x2")
        }
        _ = quietFFmpegLog
        self.path = path
        self.width = width
        self.height = height
        self.fps = fps
        self.bitDepth = bitDepth
        let pixelFormat = bitDepth == 10 ? AV_PIX_FMT_YUV420P10LE : AV_PIX_FMT_YUV420P
        var fmt: UnsafeMutablePointer<AVFormatContext>?
        var rc = avformat_alloc_output_context2(&fmt, nil, nil, path)
        guard rc >= 0, let fmt else { throw .writeFailed(path: path, reason: "no container for this file name: \(ffmpegErrorString(rc))") }
        format = fmt

        let encoderName: String
        switch kind {
        case .ffv1: encoderName = "ffv1"
        case .h264: encoderName = "libx264"
        case .mpeg4: encoderName = "mpeg4"
        }
        // Until `stream` is set the object is not whole and `deinit` will not run: free by hand.
        guard let encoder = avcodec_find_encoder_by_name(encoderName) else {
            avformat_free_context(fmt)
            throw .writeFailed(path: path, reason: "this FFmpeg has no \(encoderName) encoder")
        }
        guard let st = avformat_new_stream(fmt, nil) else {
            avformat_free_context(fmt)
            throw .writeFailed(path: path, reason: "cannot add a stream")
        }
        // From here on the contexts belong to this object: a failure throws and `deinit` frees them
        // (and, the encoder never having been opened, flushes nothing).
        stream = st
        let ctx = avcodec_alloc_context3(encoder)!
        codec = ctx
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.pix_fmt = pixelFormat
        ctx.pointee.time_base = VideoWriter.timeBase
        ctx.pointee.framerate = AVRational(num: Int32(fps), den: 1)
        ctx.pointee.thread_count = Int32(threads)
        ctx.pointee.color_range = AVCOL_RANGE_MPEG
        ctx.pointee.gop_size = 12
        if fmt.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        var opts: OpaquePointer?
        switch kind {
        case .ffv1:
            av_dict_set(&opts, "level", "3", 0)
        case .h264(let crf):
            av_dict_set(&opts, "crf", String(crf), 0)
            av_dict_set(&opts, "preset", "veryfast", 0)
        case .mpeg4(let q):
            ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
            ctx.pointee.global_quality = Int32(q) * FF_QP2LAMBDA
        }
        rc = avcodec_open2(ctx, encoder, &opts)
        av_dict_free(&opts)
        guard rc >= 0 else {
            throw .writeFailed(path: path, reason: "cannot open the \(encoderName) encoder: \(ffmpegErrorString(rc))")
        }
        avcodec_parameters_from_context(st.pointee.codecpar, ctx)
        st.pointee.time_base = VideoWriter.timeBase
        st.pointee.avg_frame_rate = AVRational(num: Int32(fps), den: 1)

        if fmt.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
            rc = avio_open(&fmt.pointee.pb, path, AVIO_FLAG_WRITE)
            guard rc >= 0 else {
                throw .writeFailed(path: path, reason: ffmpegErrorString(rc))
            }
        }
        rc = avformat_write_header(fmt, nil)
        guard rc >= 0 else {
            throw .writeFailed(path: path, reason: "cannot write the container header: \(ffmpegErrorString(rc))")
        }
        frame = av_frame_alloc()
        frame!.pointee.format = pixelFormat.rawValue
        frame!.pointee.width = Int32(width)
        frame!.pointee.height = Int32(height)
        av_frame_get_buffer(frame, 0)
        packet = av_packet_alloc()
        ready = true
    }

    deinit {
        if ready && !finished { try? finish() }
        sws_freeContext(rgbConverter)
        av_frame_free(&frame)
        av_packet_free(&packet)
        avcodec_free_context(&codec)
        if let format {
            if format.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 { avio_closep(&format.pointee.pb) }
            avformat_free_context(format)
        }
    }

    /// Appends one frame from its luma plane (width × height) and optional
    /// chroma planes (width/2 × height/2; mid-grey 128 when nil). `time` is the
    /// presentation time in seconds (default: index / fps), for variable-rate clips.
    public func append(luma: PlaneBuffer, cb: PlaneBuffer? = nil, cr: PlaneBuffer? = nil, time: Double? = nil) throws(VideoError) {
        guard luma.width == width, luma.height == height, luma.channels == 1 else {
            throw .writeFailed(path: path, reason: "frame \(count) is \(luma.width)x\(luma.height), the clip is \(width)x\(height)")
        }
        try makeWritable()
        let f = frame!
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
            rgbConverter = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height),
                                          AV_PIX_FMT_YUV420P, SWS_BICUBIC, nil, nil, nil)
        }
        let f = frame!
        rgb.samples.withUnsafeBufferPointer { buf in
            var srcData: [UnsafePointer<UInt8>?] = [buf.baseAddress, nil, nil, nil]
            var srcStride: [Int32] = [Int32(width * 3), 0, 0, 0]
            var dstData: [UnsafeMutablePointer<UInt8>?] = [f.pointee.data.0, f.pointee.data.1, f.pointee.data.2, nil]
            var dstStride: [Int32] = [f.pointee.linesize.0, f.pointee.linesize.1, f.pointee.linesize.2, 0]
            _ = sws_scale(rgbConverter, &srcData, &srcStride, 0, Int32(height), &dstData, &dstStride)
        }
        try send(time: time)
    }

    /// Flushes the encoder and writes the container trailer.
    public func finish() throws(VideoError) {
        guard !finished else { return }
        finished = true
        try drain(sending: nil)
        let rc = av_write_trailer(format)
        if rc < 0 { throw .writeFailed(path: path, reason: "cannot write the trailer: \(ffmpegErrorString(rc))") }
    }

    private func makeWritable() throws(VideoError) {
        guard !finished else { throw .writeFailed(path: path, reason: "append after finish") }
        let rc = av_frame_make_writable(frame)
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
        frame!.pointee.pts = pts
        count += 1
        try drain(sending: frame)
    }

    private func drain(sending f: UnsafeMutablePointer<AVFrame>?) throws(VideoError) {
        var rc = avcodec_send_frame(codec, f)
        if rc < 0 { throw .writeFailed(path: path, reason: "encoder refused frame \(count): \(ffmpegErrorString(rc))") }
        while true {
            rc = avcodec_receive_packet(codec, packet)
            if rc == averrorEAGAIN || rc == averrorEOF { return }
            if rc < 0 { throw .writeFailed(path: path, reason: ffmpegErrorString(rc)) }
            av_packet_rescale_ts(packet, codec!.pointee.time_base, stream.pointee.time_base)
            packet!.pointee.stream_index = stream.pointee.index
            rc = av_interleaved_write_frame(format, packet)
            if rc < 0 { throw .writeFailed(path: path, reason: ffmpegErrorString(rc)) }
        }
    }
}
