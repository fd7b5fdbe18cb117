import CFFmpeg

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
