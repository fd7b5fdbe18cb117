import CFFmpeg
import GallopCore

/// Encodes frames to a clip through libavcodec: for tests, demos and `gallop synth`.
///
/// Frames are given as 8-bit YUV 4:2:0 planes (the luma plane plus optional
/// half-size chroma) or as packed RGB24, converted with BT.601 limited range.
/// An optional audio track takes interleaved float samples (``appendAudio(_:)``);
/// the muxer interleaves the two streams by time.
public final class VideoWriter {
    /// A sound track written beside the picture.
    public struct AudioTrack: Sendable, Equatable {
        public enum Codec: Sendable, Equatable {
            /// 16-bit PCM: no encoder delay, so a sample written at time t is read back at t (MKV and MOV; not MP4).
            case pcm16
            /// FFmpeg's native AAC at a bit rate (bit/s): what real clips carry; MP4 stores its 1024-sample priming
            /// as an edit, which the demuxer drops.
            case aac(bitrate: Int)
            /// FLAC, lossless; keeps a 7.1 layout in MKV (PCM in MKV keeps only the channel count).
            case flac
            /// libopus (48 kHz only).
            case opus
        }
        public var sampleRate: Int
        /// 1 to 8: FFmpeg's default layout for the count (mono, stereo, … 5.1, 7.1).
        public var channels: Int
        public var codec: Codec
        /// Time of the first sample (s) on the picture's clock: a track that starts after the first frame.
        public var start: Double

        public init(sampleRate: Int = 48000, channels: Int = 1, codec: Codec = .pcm16, start: Double = 0) {
            self.sampleRate = sampleRate
            self.channels = channels
            self.codec = codec
            self.start = start
        }
    }

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

    private var audioEncoder: AudioEncoder?

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
                threads: Int = 1, rotation: Int = 0, keyframeInterval: Int = 12, openGOP: Bool = false,
                audio: AudioTrack? = nil) throws(VideoError) {
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

        if let audio {
            audioEncoder = try AudioEncoder(track: audio, format: format, path: path)
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

    /// Appends interleaved samples (channel by channel within each sample, nominally within ±1; written
    /// as given, clamped only by integer formats) to the audio track, after those appended before.
    public func appendAudio(_ samples: [Float]) throws(VideoError) {
        guard !finished else { throw .writeFailed(path: path, reason: "append after finish") }
        guard let audioEncoder else { throw .writeFailed(path: path, reason: "the clip was opened without an audio track") }
        try audioEncoder.append(samples, to: format)
    }

    /// Flushes the encoder, writes the container trailer and closes the file,
    /// so that a write error at the very end (a full disk) is thrown here.
    public func finish() throws(VideoError) {
        guard !finished else { return }
        finished = true
        try drain(sending: nil)
        try audioEncoder?.finish(to: format)
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
        let rc = avcodec_send_frame(codec.pointer, f)
        if rc < 0 { throw .writeFailed(path: path, reason: "encoder refused frame \(count): \(ffmpegErrorString(rc))") }
        try VideoWriter.writePackets(codec: codec.pointer, stream: stream, packet: packet.pointer, format: format.pointer, path: path)
    }

    /// Writes every packet the encoder has ready to the muxer, in the stream's time base.
    fileprivate static func writePackets(codec: UnsafeMutablePointer<AVCodecContext>, stream: UnsafeMutablePointer<AVStream>,
                                         packet: UnsafeMutablePointer<AVPacket>, format: UnsafeMutablePointer<AVFormatContext>,
                                         path: String) throws(VideoError) {
        var rc: Int32
        while true {
            rc = avcodec_receive_packet(codec, packet)
            if rc == averrorEAGAIN || rc == averrorEOF { return }
            if rc < 0 { throw .writeFailed(path: path, reason: "the encoder failed: \(ffmpegErrorString(rc))") }
            av_packet_rescale_ts(packet, codec.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            // av_interleaved_write_frame takes the packet's reference (and unreferences it on failure too).
            rc = av_interleaved_write_frame(format, packet)
            if rc < 0 { throw .writeFailed(path: path, reason: "cannot write a packet: \(ffmpegErrorString(rc))") }
        }
    }
}

/// The writer's audio track: its encoder and stream, and the samples waiting for a full encoder frame.
/// Samples are converted by hand to the first format of the encoder's own list that is 16-bit or float
/// (pcm_s16le and FLAC: s16; AAC: planar float; libopus: s16), so a sample of k/32768 is written exactly.
private final class AudioEncoder {
    let track: VideoWriter.AudioTrack
    let codec: CodecContextHandle
    let stream: UnsafeMutablePointer<AVStream>
    let frame: FrameHandle
    let packet: PacketHandle
    let layout: ChannelLayoutBox
    let sampleFormat: AVSampleFormat
    /// Samples per channel in each frame sent (the encoder's, or 1024 when it takes any size).
    let frameSize: Int
    let path: String
    private var pending: [Float] = []
    private var sent: Int64 = 0

    init(track: VideoWriter.AudioTrack, format: OutputFormatHandle, path: String) throws(VideoError) {
        self.track = track
        self.path = path
        guard (1...8).contains(track.channels) else {
            throw .writeFailed(path: path, reason: "an audio track of \(track.channels) channels (1 to 8 are written)")
        }
        guard track.sampleRate >= 1000, track.sampleRate <= 384_000 else {
            throw .writeFailed(path: path, reason: "an audio track at \(track.sampleRate) Hz")
        }
        let name: String
        switch track.codec {
        case .pcm16: name = "pcm_s16le"
        case .aac: name = "aac"
        case .flac: name = "flac"
        case .opus: name = "libopus"
        }
        guard let encoder = avcodec_find_encoder_by_name(name) else {
            throw .writeFailed(path: path, reason: "this FFmpeg has no \(name) encoder")
        }
        let supported: [AVSampleFormat] = [AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P, AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_FLTP]
        var chosen: AVSampleFormat?
        if var list = encoder.pointee.sample_fmts {
            while list.pointee != AV_SAMPLE_FMT_NONE {
                if supported.contains(list.pointee) { chosen = list.pointee; break }
                list += 1
            }
        }
        guard let chosen else { throw .writeFailed(path: path, reason: "the \(name) encoder takes no 16-bit or float samples") }
        sampleFormat = chosen
        layout = ChannelLayoutBox(defaultFor: track.channels)
        guard let st = avformat_new_stream(format.pointer, nil) else {
            throw .writeFailed(path: path, reason: "cannot add an audio stream (out of memory)")
        }
        stream = st
        guard let codec = CodecContextHandle(codec: encoder), let frame = FrameHandle(), let packet = PacketHandle() else {
            throw .writeFailed(path: path, reason: "out of memory allocating the \(name) encoder")
        }
        self.codec = codec
        self.frame = frame
        self.packet = packet
        let ctx = codec.pointer
        ctx.pointee.sample_rate = Int32(track.sampleRate)
        ctx.pointee.sample_fmt = chosen
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(track.sampleRate))
        if case .aac(let bitrate) = track.codec { ctx.pointee.bit_rate = Int64(bitrate) }
        var rc = av_channel_layout_copy(&ctx.pointee.ch_layout, &layout.layout)
        guard rc >= 0 else { throw .writeFailed(path: path, reason: "cannot set the audio layout: \(ffmpegErrorString(rc))") }
        if format.pointer.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        rc = avcodec_open2(ctx, encoder, nil)
        guard rc >= 0 else { throw .writeFailed(path: path, reason: "cannot open the \(name) encoder: \(ffmpegErrorString(rc))") }
        rc = avcodec_parameters_from_context(st.pointee.codecpar, ctx)
        guard rc >= 0 else {
            throw .writeFailed(path: path, reason: "cannot copy the audio encoder's parameters to the stream: \(ffmpegErrorString(rc))")
        }
        st.pointee.time_base = ctx.pointee.time_base
        frameSize = ctx.pointee.frame_size > 0 ? Int(ctx.pointee.frame_size) : 1024
        sent = Int64((track.start * Double(track.sampleRate)).rounded())
    }

    func append(_ samples: [Float], to format: OutputFormatHandle) throws(VideoError) {
        guard samples.count % track.channels == 0 else {
            throw .writeFailed(path: path, reason: "\(samples.count) audio samples are not a whole number of \(track.channels)-channel samples")
        }
        pending += samples
        let whole = frameSize * track.channels
        var used = 0
        while pending.count - used >= whole {
            try encode(pending[used..<(used + whole)], to: format)
            used += whole
        }
        pending.removeFirst(used)
    }

    /// Sends what is left (a shorter last frame), then drains the encoder.
    func finish(to format: OutputFormatHandle) throws(VideoError) {
        if !pending.isEmpty { try encode(pending[...], to: format) }
        pending = []
        let rc = avcodec_send_frame(codec.pointer, nil)
        if rc < 0 && rc != averrorEOF { throw .writeFailed(path: path, reason: "the audio encoder would not drain: \(ffmpegErrorString(rc))") }
        try VideoWriter.writePackets(codec: codec.pointer, stream: stream, packet: packet.pointer, format: format.pointer, path: path)
    }

    private func encode(_ samples: ArraySlice<Float>, to format: OutputFormatHandle) throws(VideoError) {
        let f = frame.pointer, channels = track.channels, n = samples.count / channels
        av_frame_unref(f)
        f.pointee.nb_samples = Int32(n)
        f.pointee.format = sampleFormat.rawValue
        f.pointee.sample_rate = Int32(track.sampleRate)
        var rc = av_channel_layout_copy(&f.pointee.ch_layout, &layout.layout)
        if rc >= 0 { rc = av_frame_get_buffer(f, 0) }
        guard rc >= 0 else { throw .writeFailed(path: path, reason: "cannot allocate an audio frame: \(ffmpegErrorString(rc))") }
        let planar = av_sample_fmt_is_planar(sampleFormat) != 0
        let start = samples.startIndex
        func s16(_ x: Float) -> Int16 { Int16(max(-32768, min(32767, (Double(x) * 32768).rounded()))) }
        for c in 0..<channels {
            let plane = UnsafeMutableRawPointer(f.pointee.extended_data[planar ? c : 0]!)
            for i in 0..<n {
                let x = samples[start + i * channels + c]
                let at = planar ? i : i * channels + c
                switch sampleFormat {
                case AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P: plane.assumingMemoryBound(to: Int16.self)[at] = s16(x)
                default: plane.assumingMemoryBound(to: Float.self)[at] = x
                }
            }
        }
        f.pointee.pts = sent
        sent += Int64(n)
        rc = avcodec_send_frame(codec.pointer, f)
        if rc < 0 { throw .writeFailed(path: path, reason: "the audio encoder refused a frame: \(ffmpegErrorString(rc))") }
        try VideoWriter.writePackets(codec: codec.pointer, stream: stream, packet: packet.pointer, format: format.pointer, path: path)
    }
}
