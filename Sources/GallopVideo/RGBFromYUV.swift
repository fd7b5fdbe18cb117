import CFFmpeg
import Foundation
import GallopCore

/// libswscale's conversion of 8-bit 4:2:0 planes to RGB0 at their own size,
/// set up as the reader sets up its RGB conversion (bicubic, the given
/// matrix and source range, full-range RGB). Used to check ``YUVToRGB``
/// against libswscale, by the tests and by the kernel bench.
public final class SwscaleRGB0 {
    public let width: Int, height: Int
    /// Bytes from one output row to the next.
    public let stride: Int
    private let sws: ScaleHandle
    private let out: UnsafeMutablePointer<UInt8>

    /// nil when libswscale refuses the size, the matrix or the range.
    /// `colorspace`: the stream's matrix coefficients (`AVColorSpace`, ISO/IEC 23091-4 numbering).
    public init?(width: Int, height: Int, colorspace: Int, fullRange: Bool) {
        guard width > 0, height > 0,
              let sws = ScaleHandle(srcWidth: Int32(width), srcHeight: Int32(height), srcFormat: AV_PIX_FMT_YUV420P,
                                    dstWidth: Int32(width), dstHeight: Int32(height), dstFormat: AV_PIX_FMT_RGB0, flags: SWS_BICUBIC),
              sws_setColorspaceDetails(sws.pointer, sws_getCoefficients(Int32(colorspace)), fullRange ? 1 : 0,
                                       sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16) >= 0 else { return nil }
        self.width = width
        self.height = height
        self.sws = sws
        // Rows padded to 64 bytes: libswscale's SIMD writes whole 16-pixel blocks.
        stride = (width * 4 + 63) / 64 * 64
        out = .allocate(capacity: stride * height)
    }

    deinit { out.deallocate() }

    /// libswscale's four inverse-matrix numbers for this stream's matrix (`sws_getCoefficients`).
    public static func inverseTable(colorspace: Int) -> [Int32] {
        let p = sws_getCoefficients(Int32(colorspace))!
        return (0..<4).map { p[$0] }
    }

    /// RGB0 of these planes, valid until the next call. Each input row must be
    /// readable for 64 bytes past its end (FFmpeg pads its frames so), as
    /// libswscale's SIMD reads whole blocks.
    public func convert(luma: Plane, cb: Plane, cr: Plane) -> Plane {
        precondition(luma.width == width && luma.height == height && cb.width == (width + 1) / 2 && cb.height == (height + 1) / 2
                     && cr.width == cb.width && cr.height == cb.height, "planes differ from the converter's 4:2:0 size")
        var src: [UnsafePointer<UInt8>?] = [luma.base, cb.base, cr.base, nil]
        var srcStride: [Int32] = [Int32(luma.stride), Int32(cb.stride), Int32(cr.stride), 0]
        var dst: [UnsafeMutablePointer<UInt8>?] = [out, nil, nil, nil]
        var dstStride: [Int32] = [Int32(stride), 0, 0, 0]
        let rows = sws_scale(sws.pointer, &src, &srcStride, 0, Int32(height), &dst, &dstStride)
        precondition(rows == Int32(height), "libswscale converted \(rows) of \(height) rows")
        return Plane(base: UnsafePointer(out), width: width, height: height, stride: stride, channels: 4)
    }
}

/// Whether the reader may hand out 4:2:0 planes with ``YUVToRGB`` in place of
/// libswscale's RGB: decided once per process for each matrix and range, by
/// converting a probe through libswscale and comparing every byte. The
/// probe, 256 × 512 pixels, meets every (Y, V) and every (Y, U) pair, which
/// fix R and B, and 32768 (U, V) pairs for G. Applies to yuv420p and
/// yuvj420p of even height at their own size, the inputs libswscale
/// converts without scaling (an odd height goes through its scaler, which
/// interpolates chroma).
enum DirectRGB {
    nonisolated(unsafe) private static var decided: [Int: YUVToRGB?] = [:]
    private static let lock = NSLock()

    static func conversion(colorspace: Int, fullRange: Bool) -> YUVToRGB? {
        let key = colorspace * 2 + (fullRange ? 1 : 0)
        lock.lock()
        defer { lock.unlock() }
        if let known = decided[key] { return known }
        let result = probe(colorspace: colorspace, fullRange: fullRange)
        decided[key] = result
        return result
    }

    private static func probe(colorspace: Int, fullRange: Bool) -> YUVToRGB? {
        let w = 256, h = 512, cw = w / 2, ch = h / 2
        guard let sws = SwscaleRGB0(width: w, height: h, colorspace: colorspace, fullRange: fullRange) else { return nil }
        let conversion = YUVToRGB(inverse: SwscaleRGB0.inverseTable(colorspace: colorspace), fullRange: fullRange)
        // Padded rows and a spare row: libswscale reads past the last row's end.
        let ls = w + 64, cs = cw + 64
        var y = [UInt8](repeating: 0, count: ls * (h + 1)), u = [UInt8](repeating: 0, count: cs * (ch + 1)), v = u
        // Chroma sample k: V = k mod 256, t = k div 256, U = (167 V + t) mod 256 (a permutation of V for each t);
        // its four pixels take Y = 4t + j mod 256, j = 0…3.
        for k in 0..<(cw * ch) {
            let cx = k % cw, cy = k / cw, vv = k % 256, t = k / 256
            v[cy * cs + cx] = UInt8(vv)
            u[cy * cs + cx] = UInt8((167 * vv + t) % 256)
            for j in 0..<4 { y[(2 * cy + j / 2) * ls + 2 * cx + j % 2] = UInt8((4 * t + j) % 256) }
        }
        return y.withUnsafeBufferPointer { yp in
            u.withUnsafeBufferPointer { up in
                v.withUnsafeBufferPointer { vp in
                    let luma = Plane(base: yp.baseAddress!, width: w, height: h, stride: ls)
                    let cb = Plane(base: up.baseAddress!, width: cw, height: ch, stride: cs)
                    let cr = Plane(base: vp.baseAddress!, width: cw, height: ch, stride: cs)
                    let theirs = sws.convert(luma: luma, cb: cb, cr: cr)
                    // R, G and B of every pixel; RGB0's padding byte is not compared.
                    return conversion.rgb(luma: luma, cb: cb, cr: cr, channels: 4).withPlane { ours in
                        for row in 0..<h {
                            let o = theirs.row(row), p = ours.row(row)
                            for i in 0..<(4 * w) where i % 4 != 3 && o[i] != p[i] { return nil }
                        }
                        return conversion
                    }
                }
            }
        }
    }
}
