import CFFmpeg
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

// One Swift owner per FFmpeg allocation: each class here holds exactly one
// handle, made by its initialiser (which fails rather than hold NULL) and freed
// by its deinit alone. A reader or writer keeps these as properties, so an
// error thrown anywhere, even half-way through an initialiser, frees what was
// made so far and nothing twice. The pointers never leave GallopVideo.

/// An `AVFrame` (`av_frame_alloc` / `av_frame_free`).
final class FrameHandle {
    let pointer: UnsafeMutablePointer<AVFrame>
    init?() {
        guard let p = av_frame_alloc() else { return nil }
        pointer = p
    }
    deinit {
        var p: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&p)
    }
}

/// A reference to a frame the decoder made (`av_frame_ref` into an `AVFrame` of its own, freed with it):
/// the pixels stay valid, and are not copied, however far the reader has gone on. Held by the scorer for
/// the few frames a thumbnail may be wanted of (``VideoReader/decodedFrame()``); each one held keeps one
/// decoded picture alive (a frame's worth of memory), so only a handful ever are.
public final class DecodedFrame {
    let handle: FrameHandle
    init?(referencing source: UnsafePointer<AVFrame>) {
        guard let handle = FrameHandle(), av_frame_ref(handle.pointer, source) >= 0 else { return nil }
        self.handle = handle
    }
}

/// An `AVPacket` (`av_packet_alloc` / `av_packet_free`).
final class PacketHandle {
    let pointer: UnsafeMutablePointer<AVPacket>
    init?() {
        guard let p = av_packet_alloc() else { return nil }
        pointer = p
    }
    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }
}

/// An `AVCodecContext` (`avcodec_alloc_context3` / `avcodec_free_context`).
final class CodecContextHandle {
    let pointer: UnsafeMutablePointer<AVCodecContext>
    init?(codec: UnsafePointer<AVCodec>) {
        guard let p = avcodec_alloc_context3(codec) else { return nil }
        pointer = p
    }
    deinit {
        var p: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&p)
    }
}

/// A demuxer opened on a file (`avformat_open_input` / `avformat_close_input`).
final class InputFormatHandle {
    let pointer: UnsafeMutablePointer<AVFormatContext>
    /// Returns FFmpeg's error code when the file cannot be opened.
    init(path: String) throws(FFmpegCode) {
        var p: UnsafeMutablePointer<AVFormatContext>?
        // On failure avformat_open_input frees what it made and leaves p NULL.
        let rc = avformat_open_input(&p, path, nil, nil)
        guard rc >= 0, let p else { throw FFmpegCode(rc < 0 ? rc : -1) }
        pointer = p
    }
    deinit {
        var p: UnsafeMutablePointer<AVFormatContext>? = pointer
        avformat_close_input(&p)
    }
}

/// A muxer context (`avformat_alloc_output_context2` / `avformat_free_context`)
/// and the file it writes to (`avio_open` / `avio_closep`), closed first.
final class OutputFormatHandle {
    let pointer: UnsafeMutablePointer<AVFormatContext>
    init(path: String) throws(FFmpegCode) {
        var p: UnsafeMutablePointer<AVFormatContext>?
        let rc = avformat_alloc_output_context2(&p, nil, nil, path)
        guard rc >= 0, let p else { throw FFmpegCode(rc < 0 ? rc : -1) }
        pointer = p
    }

    /// Whether the muxer writes through an AVIOContext of its own (most do).
    var needsFile: Bool { pointer.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 }

    func openFile(_ path: String) -> Int32 {
        avio_open(&pointer.pointee.pb, path, AVIO_FLAG_WRITE)
    }

    /// Flushes and closes the file; the code tells whether the last bytes reached the disk.
    func closeFile() -> Int32 {
        guard needsFile, pointer.pointee.pb != nil else { return 0 }
        return avio_closep(&pointer.pointee.pb)
    }

    deinit {
        _ = closeFile()
        avformat_free_context(pointer)
    }
}

/// A libswscale context (`sws_getContext` / `sws_freeContext`).
final class ScaleHandle {
    let pointer: OpaquePointer
    init?(srcWidth: Int32, srcHeight: Int32, srcFormat: AVPixelFormat,
          dstWidth: Int32, dstHeight: Int32, dstFormat: AVPixelFormat, flags: Int32) {
        guard let p = sws_getContext(srcWidth, srcHeight, srcFormat, dstWidth, dstHeight, dstFormat, flags, nil, nil, nil) else {
            return nil
        }
        pointer = p
    }
    deinit { sws_freeContext(pointer) }
}

/// A negative FFmpeg return code, carried to where the file name is known.
struct FFmpegCode: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    var text: String { ffmpegErrorString(code) }
}

/// A clip opened for decoding its video: the demuxer on the file, its best
/// video stream (every other stream discarded) and that stream's decoder,
/// started. ``VideoReader`` and ``FrameGrabber`` both open clips through it,
/// so a file either refuses is refused in the same words.
struct VideoInput {
    let format: InputFormatHandle
    let codec: CodecContextHandle
    let streamIndex: Int32
    /// The codec's name, or the container's tag when FFmpeg does not know it.
    let codecName: String

    var stream: UnsafeMutablePointer<AVStream> { format.pointer.pointee.streams[Int(streamIndex)]! }
    var parameters: UnsafeMutablePointer<AVCodecParameters> { stream.pointee.codecpar! }

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

    /// `configure` sets decoder options (threads) before the decoder starts.
    init(path: String, configure: (UnsafeMutablePointer<AVCodecContext>) -> Void = { _ in }) throws(VideoError) {
        _ = quietFFmpegLog
        var st = stat()
        guard stat(path, &st) == 0 else { throw .notFound(path: path) }
        // Only a regular file is opened: the open of a FIFO named like a clip blocks until someone writes to it,
        // and a device may never end.
        if let kind = VideoInput.notRegular(st.st_mode) { throw .cannotOpen(path: path, reason: "it is \(kind), not a regular file") }
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
        let par = stream.pointee.codecpar!
        var name = String(cString: avcodec_get_name(par.pointee.codec_id))
        if par.pointee.codec_id == AV_CODEC_ID_NONE {
            // An identifier the demuxer does not know: name it by the container's four-character tag.
            let tag = par.pointee.codec_tag
            let chars = (0..<4).map { UInt8(truncatingIfNeeded: tag >> (8 * $0)) }
            let printable = chars.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
            name = tag != 0 && printable ? "unknown (tag \(String(decoding: chars, as: UTF8.self)))" : "unknown"
        }
        codecName = name
        guard let decoder = avcodec_find_decoder(par.pointee.codec_id) else {
            throw .noDecoder(path: path, codec: name)
        }
        guard let codec = CodecContextHandle(codec: decoder) else {
            throw .decoderFailed(path: path, reason: "out of memory allocating the \(name) decoder")
        }
        self.codec = codec
        let ctx = codec.pointer
        rc = avcodec_parameters_to_context(ctx, par)
        if rc < 0 {
            throw .decoderFailed(path: path, reason: "cannot copy codec parameters: \(ffmpegErrorString(rc))")
        }
        configure(ctx)
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        rc = avcodec_open2(ctx, decoder, nil)
        if rc < 0 {
            throw .decoderFailed(path: path, reason: ffmpegErrorString(rc))
        }
        guard par.pointee.width > 0, par.pointee.height > 0 else {
            throw .decoderFailed(path: path, reason: "the stream declares no frame size")
        }
    }
}

/// An `AVChannelLayout` of Gallop's own (`av_channel_layout_copy` or `av_channel_layout_default` /
/// `av_channel_layout_uninit`). A layout is a struct, but a custom-order one owns its channel map: copying
/// the struct would share that map, so a layout kept beyond the frame or stream it came from is kept here.
final class ChannelLayoutBox {
    var layout = AVChannelLayout()

    /// A copy of `source` (nil when out of memory).
    init?(copying source: UnsafePointer<AVChannelLayout>) {
        guard av_channel_layout_copy(&layout, source) >= 0 else { return nil }
    }

    /// FFmpeg's default layout for `channels` channels (mono, stereo, … 7.1), or an unspecified-order one
    /// when it has none; what the ffmpeg CLI guesses for a stream that declares only a count.
    init(defaultFor channels: Int) {
        av_channel_layout_default(&layout, Int32(channels))
    }

    deinit { av_channel_layout_uninit(&layout) }

    var count: Int { Int(layout.nb_channels) }

    /// Whether the order is unspecified (a count and no positions).
    var unspecified: Bool { layout.order == AV_CHANNEL_ORDER_UNSPEC }

    /// Each channel's position (`AV_CHAN_NONE` where the layout does not say).
    var channels: [AVChannel] {
        let n = count
        return withUnsafePointer(to: &layout) { p in (0..<n).map { av_channel_layout_channel_from_index(p, UInt32($0)) } }
    }

    /// FFmpeg's name for the layout ("mono", "7.1", "8 channels").
    var name: String {
        var buffer = [CChar](repeating: 0, count: 128)
        let size = buffer.count
        let rc = withUnsafePointer(to: &layout) { p in av_channel_layout_describe(p, &buffer, size) }
        guard rc >= 0 else { return "\(count) channels" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A libswresample context (`swr_alloc_set_opts2` and `swr_init` / `swr_free`), with its default options:
/// the polyphase filter and the downmix matrix the ffmpeg CLI uses (stereo to mono 0.7071 each; 5.1 and 7.1
/// to mono FL/FR 0.7071, FC 1, LFE 0, back and side 0.5; no normalisation for float output).
final class ResampleHandle {
    let pointer: OpaquePointer
    let outRate: Int32

    /// Nil when libswresample refuses the pair of formats (or is out of memory).
    init?(outLayout: ChannelLayoutBox, outFormat: AVSampleFormat, outRate: Int32,
          inLayout: ChannelLayoutBox, inFormat: AVSampleFormat, inRate: Int32) {
        _ = quietFFmpegLog
        var p: OpaquePointer?
        // Shallow copies for the call alone (the two may be one box): libswresample copies what it keeps.
        var outCopy = outLayout.layout, inCopy = inLayout.layout
        let made = swr_alloc_set_opts2(&p, &outCopy, outFormat, outRate, &inCopy, inFormat, inRate, 0, nil)
        guard made >= 0, let context = p, swr_init(context) >= 0 else {
            swr_free(&p)
            return nil
        }
        pointer = context
        self.outRate = outRate
    }

    deinit {
        var p: OpaquePointer? = pointer
        swr_free(&p)
    }

    /// Samples (per channel, at the output rate) still held in the filter: the output lags the input by this.
    var delay: Int64 { swr_get_delay(pointer, Int64(outRate)) }

    /// Converts all of a decoded frame's samples (nil: drains what the filter holds) into `out`, grown to fit.
    /// Returns the samples written per channel, or a negative AVERROR.
    func convert(_ frame: UnsafePointer<AVFrame>?, into out: SampleBuffer) -> Int32 {
        let room = swr_get_out_samples(pointer, frame.map { $0.pointee.nb_samples } ?? 0)
        guard room >= 0 else { return room }
        out.reserve(Int(room) + 16)
        return out.planes.withUnsafeMutableBufferPointer { planes in
            gallop_swr_convert_frame_data(pointer, planes.baseAddress, Int32(out.capacity), frame)
        }
    }

    /// Converts `count` samples per channel held in `input`'s planes (in the input format) into `out`.
    func convert(_ input: SampleBuffer, count: Int, into out: SampleBuffer) -> Int32 {
        let room = swr_get_out_samples(pointer, Int32(count))
        guard room >= 0 else { return room }
        out.reserve(Int(room) + 16)
        return input.planes.withUnsafeBufferPointer { source in
            out.planes.withUnsafeMutableBufferPointer { planes in
                gallop_swr_convert(pointer, planes.baseAddress, Int32(out.capacity), source.baseAddress, Int32(count))
            }
        }
    }
}

/// Sample storage a resampler writes into: one plane per channel (planar formats) or one interleaved plane,
/// each of `capacity` samples per channel, grown on demand and freed with its owner.
final class SampleBuffer {
    let format: AVSampleFormat
    let channels: Int
    let planar: Bool
    private let bytesPerSample: Int
    private(set) var capacity = 0
    private var storage: UnsafeMutableRawPointer?
    /// The plane pointers libswresample takes (`channels` of them when planar, else one).
    var planes: [UnsafeMutablePointer<UInt8>?]

    init(format: AVSampleFormat, channels: Int) {
        self.format = format
        self.channels = channels
        planar = av_sample_fmt_is_planar(format) != 0
        bytesPerSample = Int(av_get_bytes_per_sample(format))
        planes = Array(repeating: nil, count: planar ? channels : 1)
    }

    deinit { storage?.deallocate() }

    /// Makes room for `samples` per channel (the contents are not kept).
    func reserve(_ samples: Int) {
        guard samples > capacity else { return }
        storage?.deallocate()
        let size = samples * channels * bytesPerSample
        let s = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
        storage = s
        capacity = samples
        let step = planar ? samples * bytesPerSample : 0
        for i in planes.indices { planes[i] = (s + i * step).assumingMemoryBound(to: UInt8.self) }
    }

    /// Channel `c`'s samples (planar formats), or all of them interleaved (`c` 0, packed formats), as `T`.
    func samples<T>(_ c: Int, as: T.Type, count: Int) -> UnsafeMutableBufferPointer<T> {
        let base = UnsafeMutableRawPointer(planes[planar ? c : 0]!).assumingMemoryBound(to: T.self)
        return UnsafeMutableBufferPointer(start: base, count: planar ? count : count * channels)
    }
}
