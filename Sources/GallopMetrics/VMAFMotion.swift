import Foundation
import GallopCore

/// VMAF's `motion2` feature as libvmaf 2.3.0's integer extractor computes it
/// (`libvmaf/src/feature/integer_motion.c` and `.h` at v2.3.0), on 8-bit luma.
///
/// Each reference frame is blurred with the 5-tap filter
/// {3571, 16004, 26386, 16004, 3571} (sum 65536): a vertical pass
/// `(Σ f·Y + 128) >> 8` into 16 bits, then a horizontal pass
/// `(Σ f·v + 32768) >> 16`. Beyond the edges the rows and columns mirror as
/// v2.3.0's `edge_8`/`edge_16` do: index −t for t < 0 and
/// n − (t − n + ``mirrorShift``) for t ≥ n with the shift 1, that is 2n − 1 − t,
/// so the bottom and right edges repeat their last sample while the top and
/// left do not (libvmaf after v3.0 uses 2, reflecting both sides alike, which
/// moves its 576×324 regression number from 76.668905 to 76.667830).
///
/// motion(t) is the sum of absolute differences of blur(t) and blur(t − 1),
/// divided by 256 and then by w·h, each step rounded to Float as the C code
/// does (`(float)(sad / 256.) / (w * h)`); motion(0) = 0. `motion2` takes
/// the smaller of this frame's and the next one's motion (libvmaf's one-frame
/// lookahead): motion2(0) = 0, motion2(t) = min(motion(t), motion(t + 1)),
/// and the last frame keeps its own motion (the extractor's flush). motion
/// reads the reference clip only.
///
/// Every step is integer except the final division, so the features are
/// bit-exact with libvmaf (its AVX2 kernels give the C code's numbers).
public enum VMAFMotion {
    /// The blur filter (`integer_motion.h`), summing to 65536.
    public static let filter: [UInt32] = [3571, 16004, 26386, 16004, 3571]
    /// libvmaf 2.3.0's mirror beyond the bottom and right edges: n − (t − n + 1).
    public static let mirrorShift = 1

    /// libvmaf's edge index for a tap at `t` on a line of `n` samples (n ≥ 3).
    @inlinable static func mirror(_ t: Int, _ n: Int, shift: Int = mirrorShift) -> Int {
        t < 0 ? -t : (t >= n ? n - (t - n + shift) : t)
    }

    /// A blurred frame: `width × height` 16-bit samples, row-major.
    public struct Blur: Sendable {
        public let width: Int
        public let height: Int
        public var samples: [UInt16]
    }

    /// The blur of an 8-bit plane (at least 3×3; one channel).
    public static func blur(_ y: Plane, mirrorShift shift: Int = mirrorShift) -> Blur {
        let w = y.width, h = y.height
        precondition(w >= 3 && h >= 3 && y.channels == 1, "motion2 needs a one-channel plane of at least 3×3")
        var out = [UInt16](repeating: 0, count: w * h)
        // One vertically filtered row, padded by the mirror on both sides for the horizontal pass.
        var padded = [UInt16](repeating: 0, count: w + 4)
        let f0 = filter[0], f1 = filter[1], f2 = filter[2]
        out.withUnsafeMutableBufferPointer { o in
            padded.withUnsafeMutableBufferPointer { pad in
                let v = pad.baseAddress! + 2
                for i in 0..<h {
                    let r0 = y.row(mirror(i - 2, h, shift: shift)), r1 = y.row(mirror(i - 1, h, shift: shift)), r2 = y.row(i)
                    let r3 = y.row(mirror(i + 1, h, shift: shift)), r4 = y.row(mirror(i + 2, h, shift: shift))
                    for j in 0..<w {
                        let acc = f0 &* (UInt32(r0[j]) &+ UInt32(r4[j])) &+ f1 &* (UInt32(r1[j]) &+ UInt32(r3[j])) &+ f2 &* UInt32(r2[j])
                        v[j] = UInt16(truncatingIfNeeded: (acc &+ 128) >> 8)
                    }
                    for k in 1...2 {
                        v[-k] = v[mirror(-k, w, shift: shift)]
                        v[w - 1 + k] = v[mirror(w - 1 + k, w, shift: shift)]
                    }
                    let row = o.baseAddress! + i * w
                    for j in 0..<w {
                        let acc = f0 &* (UInt32(v[j - 2]) &+ UInt32(v[j + 2])) &+ f1 &* (UInt32(v[j - 1]) &+ UInt32(v[j + 1])) &+ f2 &* UInt32(v[j])
                        row[j] = UInt16(truncatingIfNeeded: (acc &+ 32768) >> 16)
                    }
                }
            }
        }
        return Blur(width: w, height: h, samples: out)
    }

    /// Σ|a − b| over two blurs of one size (`sad_c`).
    public static func sad(_ a: Blur, _ b: Blur) -> UInt64 {
        precondition(a.width == b.width && a.height == b.height)
        var total: UInt64 = 0
        a.samples.withUnsafeBufferPointer { pa in
            b.samples.withUnsafeBufferPointer { pb in
                for i in 0..<a.height {
                    let ra = pa.baseAddress! + i * a.width, rb = pb.baseAddress! + i * a.width
                    var row: UInt32 = 0
                    for j in 0..<a.width {
                        let d = Int32(ra[j]) &- Int32(rb[j])
                        let m = d >> 31
                        row &+= UInt32(bitPattern: (d ^ m) &- m)
                    }
                    total &+= UInt64(row)
                }
            }
        }
        return total
    }

    /// motion between two consecutive blurred reference frames (`normalize_and_scale_sad`).
    public static func motion(_ current: Blur, _ previous: Blur) -> Double {
        let sad = sad(current, previous)
        return Double(Float(Double(sad) / 256.0) / Float(current.width * current.height))
    }

    /// motion2 per frame from motion per frame (motion[0] is the first frame's 0).
    public static func motion2(_ motion: [Double]) -> [Double] {
        let n = motion.count
        guard n > 1 else { return motion.isEmpty ? [] : [0] }
        var out = [Double](repeating: 0, count: n)
        for t in 1..<(n - 1) { out[t] = min(motion[t], motion[t + 1]) }
        out[n - 1] = motion[n - 1]
        return out
    }
}
