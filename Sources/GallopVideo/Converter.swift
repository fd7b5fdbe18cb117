import CFFmpeg
import GallopCore

/// One libswscale context and its output frame, made again when the input or
/// the output changes: the reader's luma, RGB and motion planes and the
/// grabber's images all come through one of these. `path` names the clip in
/// errors; `warn` takes what did not stop the conversion.
struct Converter {
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
                         width: Int, height: Int, flags: Int32 = SWS_BICUBIC, extra: Int32, path: String,
                         warn: (String) -> Void, setup: (OpaquePointer) -> Int32) throws(VideoError) -> (OpaquePointer, UnsafeMutablePointer<AVFrame>) {
        let out = box.out!.pointer
        let inFormat = srcFormat ?? AVPixelFormat(rawValue: src.pointee.format)
        let key = [src.pointee.width, src.pointee.height, inFormat.rawValue, dstFormat.rawValue, Int32(width), Int32(height), flags, extra]
        if key != box.key || box.sws == nil {
            box.sws = nil
            box.key = []
            guard let sws = ScaleHandle(srcWidth: src.pointee.width, srcHeight: src.pointee.height, srcFormat: inFormat,
                                        dstWidth: Int32(width), dstHeight: Int32(height), dstFormat: dstFormat, flags: flags) else {
                let name = av_get_pix_fmt_name(inFormat).map { String(cString: $0) } ?? "unknown"
                throw .conversionFailed(path: path, reason: "libswscale cannot convert pixel format \(name) at \(src.pointee.width)x\(src.pointee.height)")
            }
            if setup(sws.pointer) < 0 {
                // The conversion still runs, with libswscale's default coefficients.
                warn("libswscale refused the frame's colour matrix or range: frames were converted with its defaults (BT.601)")
            }
            av_frame_unref(out)
            out.pointee.format = dstFormat.rawValue
            out.pointee.width = Int32(width)
            out.pointee.height = Int32(height)
            let rc = av_frame_get_buffer(out, 64)
            if rc < 0 {
                throw .conversionFailed(path: path, reason: "cannot allocate a \(width)x\(height) frame: \(ffmpegErrorString(rc))")
            }
            box.sws = sws
            box.key = key
        }
        return (box.sws!.pointer, out)
    }

    /// 8-bit luma at the output size. Plane-0 luma is scaled as a grey image
    /// (no range change) by `filter`; other formats go through 8-bit YUV 4:4:4
    /// with the source range kept (bicubic).
    mutating func lumaPlane(from src: UnsafeMutablePointer<AVFrame>, width: Int, height: Int, full: Bool,
                            filter: ScaledLuma.Filter = .area, path: String, warn: (String) -> Void) throws(VideoError) -> Plane {
        let flags = filter == .area ? SWS_AREA : SWS_BICUBIC
        let fmt = AVPixelFormat(rawValue: src.pointee.format)
        let out: UnsafeMutablePointer<AVFrame>
        if Converter.hasDirectLuma(fmt) {
            // Scale plane 0 alone, grey in and grey out: no range conversion.
            let (sws, o) = try prepare(src: src, srcFormat: AV_PIX_FMT_GRAY8, dstFormat: AV_PIX_FMT_GRAY8,
                                       width: width, height: height, flags: flags, extra: 0, path: path, warn: warn) { _ in 0 }
            out = o
            var srcData: [UnsafePointer<UInt8>?] = [UnsafePointer(src.pointee.data.0), nil, nil, nil]
            var srcStride: [Int32] = [src.pointee.linesize.0, 0, 0, 0]
            var dstData: [UnsafeMutablePointer<UInt8>?] = [out.pointee.data.0, nil, nil, nil]
            var dstStride: [Int32] = [out.pointee.linesize.0, 0, 0, 0]
            // sws_scale returns the height of the output slice written, 0 or negative on failure.
            let rows = sws_scale(sws, &srcData, &srcStride, 0, src.pointee.height, &dstData, &dstStride)
            if rows <= 0 { throw .conversionFailed(path: path, reason: "luma scaling failed: \(rows < 0 ? ffmpegErrorString(rows) : "no rows written")") }
        } else {
            let dst = full ? AV_PIX_FMT_YUVJ444P : AV_PIX_FMT_YUV444P
            let (sws, o) = try prepare(src: src, dstFormat: dst, width: width, height: height, extra: full ? 1 : 0, path: path, warn: warn) { sws in
                let r: Int32 = full ? 1 : 0
                return sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), r, sws_getCoefficients(SWS_CS_DEFAULT), r, 0, 1 << 16, 1 << 16)
            }
            out = o
            let rc = sws_scale_frame(sws, out, src)
            if rc < 0 { throw .conversionFailed(path: path, reason: "luma conversion failed: \(ffmpegErrorString(rc))") }
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
    mutating func rgbPlane(from src: UnsafeMutablePointer<AVFrame>, width: Int, height: Int, full: Bool, path: String,
                            warn: (String) -> Void) throws(VideoError) -> Plane {
        let space = src.pointee.colorspace
        let padded = width == Int(src.pointee.width) && height == Int(src.pointee.height)
            && Converter.rgb0Formats.contains(src.pointee.format)
        let (sws, out) = try prepare(src: src, dstFormat: padded ? AV_PIX_FMT_RGB0 : AV_PIX_FMT_RGB24, width: width, height: height,
                                     extra: Int32(space.rawValue) * 2 + (full ? 1 : 0), path: path, warn: warn) { sws in
            let coefficients = sws_getCoefficients(Int32(space.rawValue))
            return sws_setColorspaceDetails(sws, coefficients, full ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
        }
        let rc = sws_scale_frame(sws, out, src)
        if rc < 0 { throw .conversionFailed(path: path, reason: "RGB conversion failed: \(ffmpegErrorString(rc))") }
        return Plane(base: UnsafePointer(out.pointee.data.0!), width: width, height: height, stride: Int(out.pointee.linesize.0),
                     channels: padded ? 4 : 3)
    }

    /// The frame scaled (bicubic) to `width` × `height` in `dstFormat`, tagged
    /// `dstRange`: the grabber's images. Source: its own matrix (BT.601 when
    /// untagged) and range; destination: full range, BT.601. Formats without a
    /// YUV matrix (RGB, grey) have no colour details to set and convert as
    /// they are: not a failure, and no warning.
    mutating func image(from src: UnsafeMutablePointer<AVFrame>, dstFormat: AVPixelFormat, dstRange: AVColorRange,
                        width: Int, height: Int, full: Bool, path: String) throws(VideoError) -> UnsafeMutablePointer<AVFrame> {
        let space = src.pointee.colorspace
        let (sws, out) = try prepare(src: src, dstFormat: dstFormat, width: width, height: height,
                                     extra: Int32(space.rawValue) * 2 + (full ? 1 : 0), path: path, warn: { _ in }) { sws in
            sws_setColorspaceDetails(sws, sws_getCoefficients(Int32(space.rawValue)), full ? 1 : 0,
                                     sws_getCoefficients(SWS_CS_ITU601), 1, 0, 1 << 16, 1 << 16)
        }
        out.pointee.color_range = dstRange
        var rc = av_frame_make_writable(out)
        if rc < 0 { throw .conversionFailed(path: path, reason: "cannot write the image buffer: \(ffmpegErrorString(rc))") }
        rc = sws_scale_frame(sws, out, src)
        if rc < 0 { throw .conversionFailed(path: path, reason: "scaling the frame failed: \(ffmpegErrorString(rc))") }
        return out
    }
}
