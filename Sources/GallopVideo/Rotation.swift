import CFFmpeg
import Foundation
import GallopCore

/// Turns stored planes to display orientation: a clockwise quarter turn, half
/// turn or three quarters, as a stream's display matrix asks (`rotation`
/// 90 is the MP4 `rotate=90` tag: a phone held upright). Exact integer moves
/// of whole pixels (1, 3 or 4 bytes), checked against a per-pixel reference in
/// the tests. Quarter turns are done in 32×32 tiles so that both the rows read
/// and the rows written stay in cache, 1-byte samples as 8×8 blocks transposed
/// in 64-bit registers.
public enum PlaneRotation {
    /// The size of a `width` × `height` plane once turned by `degrees`.
    public static func turned(width: Int, height: Int, degrees: Int) -> (width: Int, height: Int) {
        degrees == 90 || degrees == 270 ? (height, width) : (width, height)
    }

    /// Writes `src` turned clockwise by `degrees` (0, 90, 180 or 270) to `dst`, whose rows are
    /// `dstStride` bytes apart and hold the turned width × `src.channels` bytes.
    public static func rotate(_ src: Plane, degrees: Int, into dst: UnsafeMutablePointer<UInt8>, dstStride: Int) {
        precondition([0, 90, 180, 270].contains(degrees), "rotation must be a multiple of 90 degrees")
        let (dw, _) = turned(width: src.width, height: src.height, degrees: degrees)
        precondition(dstStride >= dw * src.channels)
        switch src.channels {
        case 1: turn(src, UInt8.self, degrees, dst, dstStride)
        case 3: turn(src, Pixel3.self, degrees, dst, dstStride)
        case 4: turn(src, UInt32.self, degrees, dst, dstStride)
        default:
            // Any other pixel size: byte by byte (no reader hands these out).
            for y in 0..<src.height {
                for x in 0..<src.width {
                    let (tx, ty) = target(x, y, src.width, src.height, degrees)
                    for c in 0..<src.channels { dst[ty * dstStride + tx * src.channels + c] = src.base[y * src.stride + x * src.channels + c] }
                }
            }
        }
    }

    /// The clockwise quarter turns a display matrix (nine int32, libavutil/display.h) asks for,
    /// and a warning when it is one the reader does not apply: a mirror, an angle that is not a
    /// multiple of 90 degrees, or a singular matrix. Those give 0 (frames scored as stored).
    public static func rotation(displayMatrix m: [Int32]) -> (degrees: Int, warning: String?) {
        precondition(m.count == 9)
        // av_display_rotation_get: counter-clockwise degrees in [-180, 180], NaN for a singular matrix.
        let counterClockwise = m.withUnsafeBufferPointer { av_display_rotation_get($0.baseAddress!) }
        guard counterClockwise.isFinite else {
            return (0, "the display matrix is singular: frames are scored as stored, unrotated")
        }
        var clockwise = (-counterClockwise).truncatingRemainder(dividingBy: 360)
        if clockwise < 0 { clockwise += 360 }
        // The upper-left 2×2 block (16.16 fixed point) has a negative determinant for a mirror.
        let determinant = Double(m[0]) * Double(m[4]) - Double(m[1]) * Double(m[3])
        if determinant < 0 {
            return (0, String(format: "the display matrix mirrors the picture (and turns it %.0f degrees): frames are scored as stored, unrotated and unmirrored", clockwise))
        }
        let quarters = (clockwise / 90).rounded()
        guard abs(clockwise - quarters * 90) < 0.5 else {
            return (0, String(format: "the display matrix turns the picture %.1f degrees, not a multiple of 90: frames are scored as stored, unrotated", clockwise))
        }
        return (Int(quarters) % 4 * 90, nil)
    }

    /// An owned copy of `src` turned clockwise by `degrees`.
    public static func rotated(_ src: PlaneBuffer, degrees: Int) -> PlaneBuffer {
        let (w, h) = turned(width: src.width, height: src.height, degrees: degrees)
        var out = [UInt8](repeating: 0, count: w * h * src.channels)
        src.withPlane { p in
            out.withUnsafeMutableBufferPointer { rotate(p, degrees: degrees, into: $0.baseAddress!, dstStride: w * src.channels) }
        }
        return PlaneBuffer(width: w, height: h, channels: src.channels, samples: out)
    }

    /// Where source pixel (x, y) of a w × h plane lands.
    @inline(__always)
    static func target(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ degrees: Int) -> (Int, Int) {
        switch degrees {
        case 90: return (h - 1 - y, x)
        case 180: return (w - 1 - x, h - 1 - y)
        case 270: return (y, w - 1 - x)
        default: return (x, y)
        }
    }

    /// Three bytes moved as one value (packed RGB24).
    struct Pixel3 { var r: UInt8, g: UInt8, b: UInt8 }

    static let tile = 32

    @inline(__always)
    private static func turn<P>(_ src: Plane, _: P.Type, _ degrees: Int, _ dst: UnsafeMutablePointer<UInt8>, _ dstStride: Int) {
        let size = MemoryLayout<P>.size
        let w = src.width, h = src.height, sStride = src.stride
        let s = UnsafeRawPointer(src.base), d = UnsafeMutableRawPointer(dst)
        switch degrees {
        case 0:
            for y in 0..<h { (dst + y * dstStride).update(from: src.row(y), count: w * size) }
        case 180:
            for y in 0..<h {
                let from = s + y * sStride
                let to = d + (h - 1 - y) * dstStride + (w - 1) * size
                var x = 0
                if size == 1 {
                    // Eight samples at a time: one 64-bit load, its bytes reversed.
                    while x + 8 <= w {
                        let v = from.loadUnaligned(fromByteOffset: x, as: UInt64.self).byteSwapped
                        (to - x - 7).storeBytes(of: v, as: UInt64.self)
                        x += 8
                    }
                }
                while x < w {
                    (to - x * size).storeBytes(of: from.loadUnaligned(fromByteOffset: x * size, as: P.self), as: P.self)
                    x += 1
                }
            }
        default:
            // Quarter turns: the output is h wide and w tall. Output (tx, ty) is source
            // (ty, h - 1 - tx) for 90 and (w - 1 - ty, tx) for 270. Walk the output in
            // 32 × 32 tiles; within a tile, 8 × 8 blocks of bytes are transposed in registers.
            let clockwise = degrees == 90
            var ty0 = 0
            while ty0 < w {
                let ty1 = min(ty0 + tile, w)
                var tx0 = 0
                while tx0 < h {
                    let tx1 = min(tx0 + tile, h)
                    if size == 1 && ty1 - ty0 == tile && tx1 - tx0 == tile {
                        var by = ty0
                        while by < ty1 {
                            var bx = tx0
                            while bx < tx1 {
                                turnBlock8(s, sStride, d, dstStride, bx, by, w, h, clockwise)
                                bx += 8
                            }
                            by += 8
                        }
                    } else {
                        for ty in ty0..<ty1 {
                            let row = d + ty * dstStride
                            // The source column this output row reads, and the step between its samples.
                            var from = clockwise ? s + (h - 1 - tx0) * sStride + ty * size : s + tx0 * sStride + (w - 1 - ty) * size
                            let step = clockwise ? -sStride : sStride
                            for tx in tx0..<tx1 {
                                (row + tx * size).storeBytes(of: from.loadUnaligned(as: P.self), as: P.self)
                                from += step
                            }
                        }
                    }
                    tx0 = tx1
                }
                ty0 = ty1
            }
        }
    }

    /// One 8 × 8 block of a quarter turn of 1-byte samples, output columns bx..<bx+8 of
    /// output rows by..<by+8: eight 64-bit loads, a transpose in three rounds of masked
    /// swaps (bytes, byte pairs, byte quads), eight 64-bit stores.
    @inline(__always)
    private static func turnBlock8(_ s: UnsafeRawPointer, _ sStride: Int, _ d: UnsafeMutableRawPointer, _ dStride: Int,
                                   _ bx: Int, _ by: Int, _ w: Int, _ h: Int, _ clockwise: Bool) {
        // Row i of the block: for 90, source row h-1-bx-i from column by (its byte k is output
        // (bx+i, by+k)); for 270, source row bx+i from column w-8-by (byte k is output (bx+i, by+7-k)).
        @inline(__always) func load(_ i: Int) -> UInt64 {
            clockwise ? s.loadUnaligned(fromByteOffset: (h - 1 - bx - i) * sStride + by, as: UInt64.self)
                      : s.loadUnaligned(fromByteOffset: (bx + i) * sStride + (w - 8 - by), as: UInt64.self)
        }
        var r0 = load(0), r1 = load(1), r2 = load(2), r3 = load(3), r4 = load(4), r5 = load(5), r6 = load(6), r7 = load(7)
        @inline(__always) func swap(_ a: inout UInt64, _ b: inout UInt64, _ shift: UInt64, _ mask: UInt64) {
            let t = ((a >> shift) ^ b) & mask
            b ^= t
            a ^= t << shift
        }
        let m1: UInt64 = 0x00FF_00FF_00FF_00FF, m2: UInt64 = 0x0000_FFFF_0000_FFFF, m4: UInt64 = 0x0000_0000_FFFF_FFFF
        swap(&r0, &r1, 8, m1); swap(&r2, &r3, 8, m1); swap(&r4, &r5, 8, m1); swap(&r6, &r7, 8, m1)
        swap(&r0, &r2, 16, m2); swap(&r1, &r3, 16, m2); swap(&r4, &r6, 16, m2); swap(&r5, &r7, 16, m2)
        swap(&r0, &r4, 32, m4); swap(&r1, &r5, 32, m4); swap(&r2, &r6, 32, m4); swap(&r3, &r7, 32, m4)
        // Now row k holds byte k of every loaded row, in load order.
        @inline(__always) func store(_ k: Int, _ v: UInt64) {
            (d + (clockwise ? by + k : by + 7 - k) * dStride + bx).storeBytes(of: v, as: UInt64.self)
        }
        store(0, r0); store(1, r1); store(2, r2); store(3, r3); store(4, r4); store(5, r5); store(6, r6); store(7, r7)
    }
}

/// Memory for turned planes, reused frame after frame and grown when needed.
final class RotationBuffer {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0

    deinit { storage?.deallocate() }

    /// `src` turned by `degrees` into this buffer; the view is valid until the next call.
    func turn(_ src: Plane, degrees: Int) -> Plane {
        let (w, h) = PlaneRotation.turned(width: src.width, height: src.height, degrees: degrees)
        let stride = (w * src.channels + 63) & ~63
        if stride * h > capacity {
            storage?.deallocate()
            capacity = stride * h
            storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        }
        let base = storage!.assumingMemoryBound(to: UInt8.self)
        PlaneRotation.rotate(src, degrees: degrees, into: base, dstStride: stride)
        return Plane(base: UnsafePointer(base), width: w, height: h, stride: stride, channels: src.channels)
    }
}
