import Foundation
import GallopCore

/// VMAF's ADM feature (`adm2`, and `adm_scale0...3`) as libvmaf 2.3.0's
/// integer extractor computes it (`libvmaf/src/feature/integer_adm.c` and
/// `.h` at v2.3.0), on 8-bit luma.
///
/// Per scale (four), on the reference and on the distorted image:
/// 1. an integer db2 wavelet step (filters {15826, 27411, 7345, −4240} and
///    {−4240, −7345, 27411, −15826}; taps 2k − 1...2k + 2 mirrored as
///    −t before the start and 2n − 1 − t past the end) into the bands a
///    (the next scale's input), v, h, d of ceil(n/2) samples per side, with
///    scale 0's 16-bit rounding (the low band biased by −46342·128) and the
///    later scales' 32-bit roundings;
/// 2. decoupling (on the region `n·0.1 − 1.5` in from each edge): the
///    distorted bands split into the part the reference explains, the ratio
///    k = clamp(t/o, 0, 1) in 1/32768 units through libvmaf's reciprocal
///    table, restored where the two (h, v) orientations agree within 1°,
///    and the additive impairment a = t − k·o;
/// 3. the contrast sensitivity weights of the Watson model (scale 0's
///    hard-coded fixed-point factors, later scales' from the Float/Double
///    formula), the 3×3 contrast-masking threshold, and the numerator
///    Σ max(|k·o|·csf − threshold, 0)³ with libvmaf's per-row rounding folds;
///    the denominator Σ|o·csf|³ of the reference on the region `n·0.1 − 0.5`
///    in from each edge; each cube-rooted in Float plus (area/32)^(1/3).
/// adm2 = Σ num / Σ den over the scales (1 when the denominator is 0, as for
/// flat frames). The arithmetic is libvmaf's, wrapping and truncating where
/// its C types do, so the features are bit-exact with it.
///
/// The peer (libvmaf 2.3.0's AVX2 build on x86) computes scale 0's wavelet
/// with `adm_dwt2_8_avx2` when the width is a multiple of 8. It keeps the
/// vertical pass's low and high rows in one buffer (high after low), stores
/// them 16 columns at a time, reads them contiguously, and stores the bands
/// 16 columns at a time, so:
/// - the last column of a and v reads the high row's first sample instead of
///   a mirrored one;
/// - the last column of h and d reads past the high row (zero in a fresh
///   buffer, uninitialised memory in general: the peer's own adm2 then varies
///   by up to 1e-5 from run to run at 48×40);
/// - when the width is 8 mod 16 the last low block overwrites the high row's
///   first 8 samples with the low band of the picture's zero padding
///   (−23171), which h and d read in their first columns and a and v in
///   their last;
/// - the last band row's stores run past the row stride (ceil8 of the band
///   width) into row 0 of the band that follows in memory (a, h, v, d), up
///   to 9 samples.
/// ``peerAVX2`` reproduces this buffer by buffer (`dwt0`): with it adm equals
/// the peer's printed values at every width tried (40, 48, 56, 64, 72, 80,
/// 88, 104 and 200, heights 36 and 40, and the 176×144 carphone pair); the
/// research prototype's quirk alone was up to 3.8e-2 off. The columns and rows concerned reach the scored regions only on
/// narrow frames (below about 400 pixels).
/// Zeroed memory of a fixed size, freed with its owner: the VMAF features' per-size buffers.
final class VMAFBuffer<T: FixedWidthInteger> {
    let p: UnsafeMutablePointer<T>
    init(_ count: Int) {
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { p.deallocate() }
}

public enum VMAFADM {
    /// Reproduce `adm_dwt2_8_avx2`'s last column at scale 0 when the width is a multiple of 8.
    public static let peerAVX2 = true

    static let lo: [Int64] = [15826, 27411, 7345, -4240]
    static let hi: [Int64] = [-4240, -7345, 27411, -15826]

    /// `div_lookup`: ±2³⁰/i at 32768 ± i (integer division), 0 at 32768.
    static let divLookup: [Int64] = {
        var t = [Int64](repeating: 0, count: 65537)
        for i in 1...32768 {
            t[32768 + i] = (1 << 30) / Int64(i)
            t[32768 - i] = -((1 << 30) / Int64(i))
        }
        return t
    }()

    /// ``divLookup`` as a plain pointer for the decoupling loop (never freed, like the table).
    nonisolated(unsafe) static let divPointer: UnsafeMutablePointer<Int64> = {
        let p = UnsafeMutablePointer<Int64>.allocate(capacity: divLookup.count)
        p.initialize(from: divLookup, count: divLookup.count)
        return p
    }()

    /// A band: rows of libvmaf's 16-bit (scale 0) or 32-bit values, held as Int32, in a ``Workspace``.
    struct Band {
        let p: UnsafeMutablePointer<Int32>
        let width: Int
        let height: Int
        @inlinable subscript(i: Int, j: Int) -> Int32 {
            get { p[i * width + j] }
            nonmutating set { p[i * width + j] = newValue }
        }
    }

    /// The four bands of one wavelet step.
    struct Bands {
        var a: Band, v: Band, h: Band, d: Band
    }

    /// Every buffer ADM needs for one frame size: the bands of both images at the four scales, the
    /// wavelet's row buffers and the per-scale decoupling, masking and threshold planes. A ``VMAF``
    /// keeps one for its clip, so frames after the first allocate nothing.
    public final class Workspace {
        let width: Int, height: Int
        /// Per scale: the reference's and the distorted image's bands.
        var ref: [Bands] = [], dis: [Bands] = []
        /// The vertical pass's low and high rows; the peer's combined row buffer; the horizontal pass's
        /// even and odd taps of the low and high rows.
        let rowLo: VMAFBuffer<Int32>, rowHi: VMAFBuffer<Int32>, mem: VMAFBuffer<Int32>
        let evLo: VMAFBuffer<Int32>, odLo: VMAFBuffer<Int32>, evHi: VMAFBuffer<Int32>, odHi: VMAFBuffer<Int32>
        /// Per orientation (h, v, d) at scale 0's band size, reused by the later scales.
        let restored: [VMAFBuffer<Int32>], csfA: [VMAFBuffer<Int32>], csfF: [VMAFBuffer<Int32>]
        let threshold: VMAFBuffer<Int64>, columns: VMAFBuffer<Int64>
        private var keep: [VMAFBuffer<Int32>] = []

        public init(width: Int, height: Int) {
            self.width = width
            self.height = height
            let cols = (width + 15) / 16 * 16 + 16, ow = (width + 1) / 2, oh = (height + 1) / 2
            rowLo = VMAFBuffer(cols); rowHi = VMAFBuffer(cols); mem = VMAFBuffer(2 * width + 64)
            evLo = VMAFBuffer(ow + 2); odLo = VMAFBuffer(ow + 2); evHi = VMAFBuffer(ow + 2); odHi = VMAFBuffer(ow + 2)
            restored = (0..<3).map { _ in VMAFBuffer(ow * oh) }
            csfA = (0..<3).map { _ in VMAFBuffer(ow * oh) }
            csfF = (0..<3).map { _ in VMAFBuffer(ow * oh) }
            threshold = VMAFBuffer(ow * oh); columns = VMAFBuffer(ow + 2)
            var w = width, h = height
            for _ in 0..<4 {
                w = (w + 1) / 2; h = (h + 1) / 2
                func bands() -> Bands {
                    let s = (0..<4).map { _ in VMAFBuffer<Int32>(w * h) }
                    keep += s
                    return Bands(a: Band(p: s[0].p, width: w, height: h), v: Band(p: s[1].p, width: w, height: h),
                                 h: Band(p: s[2].p, width: w, height: h), d: Band(p: s[3].p, width: w, height: h))
                }
                ref.append(bands())
                dis.append(bands())
            }
        }
    }

    /// Wavelet tap index t on a line of n samples: −t before the start, 2n − 1 − t past the end.
    @inlinable static func mirror(_ t: Int, _ n: Int) -> Int { t < 0 ? -t : (t >= n ? 2 * n - t - 1 : t) }

    /// Scale 0's wavelet step (`adm_dwt2_8`) of an 8-bit plane into `out`. Every sum fits in 32 bits
    /// (8-bit samples, then 16-bit ones times taps summing to 54822 in magnitude), so the loops run in
    /// Int32 over contiguous rows. The horizontal pass reads the row's even and odd taps from two
    /// de-interleaved copies (index −1 and the far mirror included), so output c reads
    /// odd[c], even[c], odd[c + 1], even[c + 1].
    static func dwt0(_ x: Plane, into out: Bands, ws: Workspace, avx2: Bool) {
        let w = x.width, h = x.height, ow = (w + 1) / 2, oh = (h + 1) / 2, ch = x.channels
        let l0: Int32 = 15826, l1: Int32 = 27411, l2: Int32 = 7345, l3: Int32 = -4240
        let h0: Int32 = -4240, h1: Int32 = -7345, h2: Int32 = 27411, h3: Int32 = -15826
        let bias: Int32 = 46342 * 128
        // With `avx2` the rows live as adm_dwt2_8_avx2 keeps them: one buffer, low row at 0..<w and high
        // row at w..<2w, stored 16 columns at a time (columns past w read the picture's zero padding),
        // zeros beyond.
        let cols = avx2 ? (w + 15) / 16 * 16 : w
        let rowLo = ws.rowLo.p, rowHi = ws.rowHi.p, mem = ws.mem.p
        let evL = ws.evLo.p, odL = ws.odLo.p, evH = ws.evHi.p, odH = ws.odHi.p
        for k in 0..<oh {
            let r0 = x.row(mirror(2 * k - 1, h)), r1 = x.row(mirror(2 * k, h)), r2 = x.row(mirror(2 * k + 1, h)), r3 = x.row(mirror(2 * k + 2, h))
            if ch == 1 {
                for j in 0..<w {
                    let s0 = Int32(r0[j]), s1 = Int32(r1[j]), s2 = Int32(r2[j]), s3 = Int32(r3[j])
                    let l = l0 &* s0 &+ l1 &* s1 &+ l2 &* s2 &+ l3 &* s3 &- bias
                    let hh = h0 &* s0 &+ h1 &* s1 &+ h2 &* s2 &+ h3 &* s3
                    rowLo[j] = Int32(Int16(truncatingIfNeeded: (l &+ 128) >> 8))
                    rowHi[j] = Int32(Int16(truncatingIfNeeded: (hh &+ 128) >> 8))
                }
            } else {
                for j in 0..<w {
                    let s0 = Int32(r0[j * ch]), s1 = Int32(r1[j * ch]), s2 = Int32(r2[j * ch]), s3 = Int32(r3[j * ch])
                    let l = l0 &* s0 &+ l1 &* s1 &+ l2 &* s2 &+ l3 &* s3 &- bias
                    let hh = h0 &* s0 &+ h1 &* s1 &+ h2 &* s2 &+ h3 &* s3
                    rowLo[j] = Int32(Int16(truncatingIfNeeded: (l &+ 128) >> 8))
                    rowHi[j] = Int32(Int16(truncatingIfNeeded: (hh &+ 128) >> 8))
                }
            }
            for j in w..<cols {
                rowLo[j] = Int32(Int16(truncatingIfNeeded: (0 &- bias &+ 128) >> 8))
                rowHi[j] = 0
            }
            if avx2 {
                mem.update(repeating: 0, count: 2 * w + 64)
                for j in stride(from: 0, to: w, by: 16) {
                    (mem + j).update(from: rowLo + j, count: 16)
                    (mem + w + j).update(from: rowHi + j, count: 16)
                }
                // Column 0 through the mirrored indices, the others read the buffer contiguously.
                splitTaps(mem, minusOne: mem[1], ow: ow, even: evL, odd: odL)
                splitTaps(mem + w, minusOne: mem[w + 1], ow: ow, even: evH, odd: odH)
            } else {
                splitMirrored(rowLo, w: w, ow: ow, even: evL, odd: odL)
                splitMirrored(rowHi, w: w, ow: ow, even: evH, odd: odH)
            }
            let a = out.a.p + k * ow, v = out.v.p + k * ow, hb = out.h.p + k * ow, d = out.d.p + k * ow
            for c in 0..<ow {
                let o0 = odL[c], e0 = evL[c], o1 = odL[c + 1], e1 = evL[c + 1]
                let p0 = odH[c], f0 = evH[c], p1 = odH[c + 1], f1 = evH[c + 1]
                let sa = l0 &* o0 &+ l1 &* e0 &+ l2 &* o1 &+ l3 &* e1
                let sv = h0 &* o0 &+ h1 &* e0 &+ h2 &* o1 &+ h3 &* e1
                let sh = l0 &* p0 &+ l1 &* f0 &+ l2 &* p1 &+ l3 &* f1
                let sd = h0 &* p0 &+ h1 &* f0 &+ h2 &* p1 &+ h3 &* f1
                a[c] = Int32(Int16(truncatingIfNeeded: (sa &+ 32768) >> 16))
                v[c] = Int32(Int16(truncatingIfNeeded: (sv &+ 32768) >> 16))
                hb[c] = Int32(Int16(truncatingIfNeeded: (sh &+ 32768) >> 16))
                d[c] = Int32(Int16(truncatingIfNeeded: (sd &+ 32768) >> 16))
            }
        }
        if avx2 {
            // The last row's 16-wide stores run to column 16·ceil((ow − 1)/16); past the row stride,
            // ceil8(ow), they land in row 0 of the band that follows in memory (a, h, v, d).
            let rowStride = (ow + 7) / 8 * 8, end = 16 * ((ow + 14) / 16)
            if end >= rowStride {
                for c in rowStride...end where c - rowStride < ow {
                    func band(_ base: Int, _ f: [Int64]) -> Int32 {
                        var s: Int64 = 0
                        for t in 0..<4 { s &+= f[t] &* Int64(mem[base + 2 * c - 1 + t]) }
                        return Int32(Int16(truncatingIfNeeded: (s &+ 32768) >> 16))
                    }
                    out.h[0, c - rowStride] = band(0, lo)  // a's
                    out.v[0, c - rowStride] = band(w, lo)  // h's
                    out.d[0, c - rowStride] = band(0, hi)  // v's
                }
            }
        }
    }

    /// even[c] = row[2c], odd[c] = row[2c − 1] for c in 0...ow, odd[0] = `minusOne` (the peer's buffer read as is).
    @inline(__always) static func splitTaps(_ row: UnsafeMutablePointer<Int32>, minusOne: Int32, ow: Int,
                                            even: UnsafeMutablePointer<Int32>, odd: UnsafeMutablePointer<Int32>) {
        even[0] = row[0]
        odd[0] = minusOne
        for c in 1...ow {
            even[c] = row[2 * c]
            odd[c] = row[2 * c - 1]
        }
    }

    /// even[c] = row[mirror(2c)], odd[c] = row[mirror(2c − 1)] for c in 0...ow on a row of w samples.
    @inline(__always) static func splitMirrored(_ row: UnsafeMutablePointer<Int32>, w: Int, ow: Int,
                                                even: UnsafeMutablePointer<Int32>, odd: UnsafeMutablePointer<Int32>) {
        even[0] = row[0]
        odd[0] = row[1]
        for c in 1..<ow {
            even[c] = row[2 * c]
            odd[c] = row[2 * c - 1]
        }
        even[ow] = row[mirror(2 * ow, w)]
        odd[ow] = row[mirror(2 * ow - 1, w)]
    }

    /// A later scale's wavelet step (`adm_dwt2_s123_combined`) of the previous scale's a band: 32-bit
    /// samples, 64-bit sums, each pass rounded and wrapped to 32 bits.
    static func dwt(_ x: Band, scale: Int, into out: Bands, ws: Workspace) {
        let w = x.width, h = x.height, ow = (w + 1) / 2, oh = (h + 1) / 2
        let (vAdd, vShift): (Int64, Int64) = ([0, 32768, 32768][scale - 1], [0, 16, 16][scale - 1])
        let (hAdd, hShift): (Int64, Int64) = ([16384, 32768, 16384][scale - 1], [15, 16, 15][scale - 1])
        let l0: Int64 = 15826, l1: Int64 = 27411, l2: Int64 = 7345, l3: Int64 = -4240
        let h0: Int64 = -4240, h1: Int64 = -7345, h2: Int64 = 27411, h3: Int64 = -15826
        let rowLo = ws.rowLo.p, rowHi = ws.rowHi.p
        let evL = ws.evLo.p, odL = ws.odLo.p, evH = ws.evHi.p, odH = ws.odHi.p
        for k in 0..<oh {
            let r0 = x.p + mirror(2 * k - 1, h) * w, r1 = x.p + mirror(2 * k, h) * w
            let r2 = x.p + mirror(2 * k + 1, h) * w, r3 = x.p + mirror(2 * k + 2, h) * w
            for j in 0..<w {
                let s0 = Int64(r0[j]), s1 = Int64(r1[j]), s2 = Int64(r2[j]), s3 = Int64(r3[j])
                let l = l0 &* s0 &+ l1 &* s1 &+ l2 &* s2 &+ l3 &* s3
                let hh = h0 &* s0 &+ h1 &* s1 &+ h2 &* s2 &+ h3 &* s3
                rowLo[j] = Int32(truncatingIfNeeded: (l &+ vAdd) >> vShift)
                rowHi[j] = Int32(truncatingIfNeeded: (hh &+ vAdd) >> vShift)
            }
            splitMirrored(rowLo, w: w, ow: ow, even: evL, odd: odL)
            splitMirrored(rowHi, w: w, ow: ow, even: evH, odd: odH)
            let a = out.a.p + k * ow, v = out.v.p + k * ow, hb = out.h.p + k * ow, d = out.d.p + k * ow
            for c in 0..<ow {
                let o0 = Int64(odL[c]), e0 = Int64(evL[c]), o1 = Int64(odL[c + 1]), e1 = Int64(evL[c + 1])
                let p0 = Int64(odH[c]), f0 = Int64(evH[c]), p1 = Int64(odH[c + 1]), f1 = Int64(evH[c + 1])
                let sa = l0 &* o0 &+ l1 &* e0 &+ l2 &* o1 &+ l3 &* e1
                let sv = h0 &* o0 &+ h1 &* e0 &+ h2 &* o1 &+ h3 &* e1
                let sh = l0 &* p0 &+ l1 &* f0 &+ l2 &* p1 &+ l3 &* f1
                let sd = h0 &* p0 &+ h1 &* f0 &+ h2 &* p1 &+ h3 &* f1
                a[c] = Int32(truncatingIfNeeded: (sa &+ hAdd) >> hShift)
                v[c] = Int32(truncatingIfNeeded: (sv &+ hAdd) >> hShift)
                hb[c] = Int32(truncatingIfNeeded: (sh &+ hAdd) >> hShift)
                d[c] = Int32(truncatingIfNeeded: (sd &+ hAdd) >> hShift)
            }
        }
    }

    /// `dwt_quant_step`'s reciprocal for scale λ and orientation θ (1: h and v, 2: d), in libvmaf's Float/Double mix.
    static func rfactor(_ lambda: Int, _ theta: Int) -> Float {
        // C's float tables are initialised from double literals: decimal → Double → Float.
        let a = Float(0.495 as Double), k = Float(0.466 as Double), f0 = Float(0.401 as Double)
        let g: [Float] = [1.501, 1, 0.534, 1].map { Float($0 as Double) }
        let amp: [[Float]] = ([[0.62171, 0.67234, 0.72709, 0.67234], [0.34537, 0.41317, 0.49428, 0.41317],
                               [0.18004, 0.22727, 0.28688, 0.22727], [0.091401, 0.11792, 0.15214, 0.11792]] as [[Double]]).map { $0.map { Float($0) } }
        let r = Float(3.0 * 1080 * Double.pi / 180.0)
        let temp = Float(log10(pow(2.0, Double(lambda + 1)) * Double(f0) * Double(g[theta]) / Double(r)))
        let kt = (k * temp) * temp
        let q = Float(2.0 * Double(a) * pow(10.0, Double(kt)) / Double(amp[lambda][theta]))
        return 1 / q
    }

    /// The (low, high) bounds of a region on a band of n samples: `extra` for decoupling and CSF
    /// (n·0.1 − 0.5 − 1 in, 2 more kept at the far side, clamped), else the denominator and masking region.
    static func region(_ n: Int, extra: Bool) -> (Int, Int) {
        if extra {
            let l = Int(Double(n) * 0.1 - 0.5 - 1)
            return (max(l, 0), min(n - l + 2, n))
        }
        let l = Int(Double(n) * 0.1 - 0.5)
        return (l, n - l)
    }

    @inlinable static func cubeRoot(_ x: Float) -> Float { powf(x, 1 / Float(3)) }

    @inlinable static func bitLength(_ x: Int64) -> Int64 { Int64(64 - UInt64(x).leadingZeroBitCount) }

    /// The decoupled (restored) part of one distorted band sample `tt` against its reference `oo`.
    /// The angle case's min(100·r, t) and max(100·r, t) are exact in integers (|r| < 2³¹).
    @inline(__always) static func restore(_ oo: Int64, _ tt: Int64, angle: Bool, i4: Bool, div: UnsafePointer<Int64>) -> Int64 {
        var k: Int64
        if oo == 0 {
            k = 32768
        } else if !i4 {
            k = (div[Int(oo + 32768)] &* tt &+ 16384) >> 15
        } else {
            let ab = abs(oo)
            let sh: Int64 = ab >= 32768 ? bitLength(ab) - 15 : 0
            let msb = ab >= 32768 ? (ab + (Int64(1) << max(sh - 1, 0))) >> sh : ab
            let sign: Int64 = oo < 0 ? -1 : 1
            k = ((div[Int(msb + 32768)] &* tt) &* sign &+ (Int64(1) << (14 + sh))) >> (15 + sh)
        }
        k = min(max(k, 0), 32768)
        let r = (k &* oo &+ 16384) >> 15
        var rst = i4 ? Int64(Int32(truncatingIfNeeded: r)) : Int64(Int16(truncatingIfNeeded: r))
        if angle && k > 0 && oo > 0 { rst = min(rst &* 100, tt) }
        if angle && k > 0 && oo < 0 { rst = max(rst &* 100, tt) }
        return rst
    }

    /// One scale's numerator and denominator (Float), from the reference's and the distorted bands.
    static func scale(_ s: Int, ref: Bands, dis: Bands, ws: Workspace) -> (num: Float, den: Float) {
        let w = ref.h.width, h = ref.h.height, n = w * h
        let rf = [rfactor(s, 1), rfactor(s, 1), rfactor(s, 2)]
        let (top0, bot0) = region(h, extra: true), (left0, right0) = region(w, extra: true)
        let o = [ref.h.p, ref.v.p, ref.d.p], t = [dis.h.p, dis.v.p, dis.d.p]
        // Decoupled restored part r and CSF-weighted impairment A with its masking contribution F (zero outside).
        let restored = ws.restored.map(\.p), csfA = ws.csfA.map(\.p), csfF = ws.csfF.map(\.p)
        for b in 0..<3 { csfF[b].update(repeating: 0, count: n) }
        let c2 = Double(Float(cos(Double.pi / 180) * cos(Double.pi / 180)))
        let i4 = s > 0
        let irScale0: [Int64] = [36453, 36453, 49417], shScale0: [Int64] = [15, 15, 17], addScale0: [Int64] = [16384, 16384, 65535]
        let ir32 = rf.map { Int64(Double($0) * 4294967296.0) }
        if top0 < bot0 && left0 < right0 {
            do {
                let div = UnsafePointer(divPointer)
                let oH = o[0], oV = o[1], oD = o[2], tH = t[0], tV = t[1], tD = t[2]
                for i in top0..<bot0 {
                    for j in (i * w + left0)..<(i * w + right0) {
                        let oh = Int64(oH[j]), ov = Int64(oV[j]), th = Int64(tH[j]), tv = Int64(tV[j])
                        let ot = oh &* th &+ ov &* tv, om = oh &* oh &+ ov &* ov, tm = th &* th &+ tv &* tv
                        let otf = Double(Float(ot)) / 4096.0
                        let angle = otf >= 0 && otf * otf >= c2 * (Double(Float(om)) / 4096.0) * (Double(Float(tm)) / 4096.0)
                        let od = Int64(oD[j]), td = Int64(tD[j])
                        let rs = (restore(oh, th, angle: angle, i4: i4, div: div), restore(ov, tv, angle: angle, i4: i4, div: div),
                                  restore(od, td, angle: angle, i4: i4, div: div))
                        restored[0][j] = Int32(truncatingIfNeeded: rs.0)
                        restored[1][j] = Int32(truncatingIfNeeded: rs.1)
                        restored[2][j] = Int32(truncatingIfNeeded: rs.2)
                        let as3 = (th &- rs.0, tv &- rs.1, td &- rs.2)
                        for b in 0..<3 {
                            let d = b == 0 ? as3.0 : (b == 1 ? as3.1 : as3.2)
                            if !i4 {
                                let a = Int64(Int16(truncatingIfNeeded: d))
                                let dv = Int64(Int16(truncatingIfNeeded: (irScale0[b] &* a &+ addScale0[b]) >> shScale0[b]))
                                csfA[b][j] = Int32(truncatingIfNeeded: dv)
                                csfF[b][j] = Int32(Int16(truncatingIfNeeded: (4369 &* abs(dv) &+ 2048) >> 12))
                            } else {
                                let a = Int64(Int32(truncatingIfNeeded: d))
                                let dv = Int64(Int32(truncatingIfNeeded: (ir32[b] &* a &+ (1 << 27)) >> 28))
                                csfA[b][j] = Int32(truncatingIfNeeded: dv)
                                csfF[b][j] = Int32(truncatingIfNeeded: (143_165_577 &* abs(dv) &- (1 << 31)) >> 32)
                            }
                        }
                    }
                }
            }
        }
        // Denominator: the reference bands, not decoupled.
        let (top, bot) = region(h, extra: false), (left, right) = region(w, extra: false)
        let area = (bot - top) * (right - left)
        let areaTerm = cubeRoot(Float(area) / 32)
        var den: Float = 0
        for b in 0..<3 {
            var acc: UInt64 = 0
            let csf: Double
            let ob = o[b]
            if s == 0 {
                let sa = max(0, Int((log2(Double(area)) - 20).rounded(.up)))
                let add: UInt64 = sa > 0 ? 1 << UInt64(sa - 1) : 0
                for i in top..<bot {
                    var row: UInt64 = 0
                    for j in (i * w + left)..<(i * w + right) {
                        let x = UInt64(abs(Int64(ob[j])))
                        row &+= x &* x &* x
                    }
                    acc &+= (row &+ add) >> UInt64(sa)
                }
                csf = (Double(acc) / pow(2.0, Double(18 - sa))) * pow(Double(rf[b]), 3)
            } else {
                let shsq = UInt64([31, 30, 31][s - 1]), conv = [32, 27, 23][s - 1]
                let sc = Int(log2(Double(right - left)).rounded(.up)), sa = Int(log2(Double(bot - top)).rounded(.up))
                let ac: UInt64 = sc > 0 ? 1 << UInt64(sc - 1) : 0, aa: UInt64 = sa > 0 ? 1 << UInt64(sa - 1) : 0
                let usc = UInt64(sc)
                for i in top..<bot {
                    var row: UInt64 = 0
                    for j in (i * w + left)..<(i * w + right) {
                        let x = UInt64(abs(Int64(ob[j])))
                        row &+= ((((x &* x) &+ (1 << shsq)) &>> shsq) &* x &+ ac) &>> usc
                    }
                    acc &+= (row &+ aa) >> UInt64(sa)
                }
                csf = (Double(acc) / pow(2.0, Double(conv - sa - sc))) * pow(Double(rf[b]), 3)
            }
            den = den + (cubeRoot(Float(csf)) + areaTerm)
        }
        // Contrast masking: the 3×3 threshold over the three orientations, neighbours mirrored at the band's
        // edges (row or column −1 reads 1, n reads n − 1): the 3×3 box through per-column sums of three rows,
        // less the centre, plus the centre's own impairment term.
        func nb(_ t: Int, _ n: Int) -> Int { t < 0 ? -t : (t >= n ? 2 * n - t - 1 : t) }
        let rows = max(bot - top, 0), cols = max(right - left, 0)
        let thr = ws.threshold.p, cs = ws.columns.p
        thr.update(repeating: 0, count: rows * cols)
        if rows > 0 && cols > 0 {
            let c0 = max(left - 1, 0), c1 = min(right + 1, w)
            let jl = max(left, 1), jr = max(min(right, w - 1), jl)
            for b in 0..<3 {
                let f = csfF[b], ab = csfA[b]
                for i in top..<bot {
                    let pm = f + nb(i - 1, h) * w, p0 = f + i * w, pp = f + nb(i + 1, h) * w
                    for j in c0..<c1 { cs[j] = Int64(pm[j]) &+ Int64(p0[j]) &+ Int64(pp[j]) }
                    let tr = thr + (i - top) * cols - left, ar = ab + i * w
                    @inline(__always) func own(_ j: Int) -> Int64 {
                        let c = abs(Int64(ar[j]))
                        return i4 ? (286_331_153 &* c &- (1 << 31)) >> 32 : Int64(Int16(truncatingIfNeeded: (8738 &* c &+ 2048) >> 12))
                    }
                    for j in left..<right where j < jl || j >= jr {
                        tr[j] &+= cs[nb(j - 1, w)] &+ cs[j] &+ cs[nb(j + 1, w)] &- Int64(p0[j]) &+ own(j)
                    }
                    if i4 {
                        for j in jl..<jr {
                            let c = abs(Int64(ar[j]))
                            tr[j] &+= cs[j - 1] &+ cs[j] &+ cs[j + 1] &- Int64(p0[j]) &+ ((286_331_153 &* c &- (1 << 31)) >> 32)
                        }
                    } else {
                        for j in jl..<jr {
                            let c = abs(Int64(ar[j]))
                            tr[j] &+= cs[j - 1] &+ cs[j] &+ cs[j + 1] &- Int64(p0[j]) &+ Int64(Int16(truncatingIfNeeded: (8738 &* c &+ 2048) >> 12))
                        }
                    }
                }
            }
        }
        var num: Float = 0
        let inner = Int((log2(Double(h))).rounded(.up))
        for b in 0..<3 {
            let sub: Int64 = i4 ? 0 : [10, 10, 12][b]
            let (sqAdd, sqShift): (Int64, Int64) = i4 ? (1 << 29, 30) : ([1 << 28, 1 << 28, 1 << 29][b], [29, 29, 30][b])
            let cub = i4 ? Int((log2(Double(w))).rounded(.up)) : Int((log2(Double(w)) - (b == 2 ? 3 : 4)).rounded(.up))
            let fin = i4 ? [45, 39, 36][s - 1] : [52, 52, 57][b]
            let cubAdd: Int64 = cub > 0 ? 1 << Int64(cub - 1) : 0, innerAdd: Int64 = inner > 0 ? 1 << Int64(inner - 1) : 0
            let cub64 = Int64(cub), irb = ir32[b], ir0 = irScale0[b]
            var acc: Int64 = 0
            let rb = restored[b]
            for i in top..<bot {
                var row: Int64 = 0
                let rr = rb + i * w, tr = thr + (i - top) * cols - left
                if i4 {
                    for j in left..<right {
                        var x = (Int64(rr[j]) &* irb &+ (1 << 27)) >> 28
                        x = max(abs(x) &- tr[j], 0)
                        let xsq = Int64(Int32(truncatingIfNeeded: (x &* x &+ sqAdd) &>> sqShift))
                        row &+= (xsq &* x &+ cubAdd) &>> cub64
                    }
                } else {
                    for j in left..<right {
                        var x = Int64(Int32(truncatingIfNeeded: Int64(rr[j]) &* ir0))
                        x = max(abs(x) &- (tr[j] &<< sub), 0)
                        let xsq = Int64(Int32(truncatingIfNeeded: (x &* x &+ sqAdd) &>> sqShift))
                        row &+= (xsq &* x &+ cubAdd) &>> cub64
                    }
                }
                acc &+= (row &+ innerAdd) >> Int64(inner)
            }
            let fa = Float(Double(acc) / pow(2.0, Double(fin - cub - inner)))
            num = num + (cubeRoot(fa) + areaTerm)
        }
        return (num, den)
    }

    /// adm2 and the four per-scale ratios of a (reference, distorted) pair of 8-bit planes of one size
    /// (at least 33×33: ceil(n/2) ≥ 3 at every scale).
    public static func features(reference: Plane, distorted: Plane, peerAVX2: Bool = peerAVX2) -> (adm2: Double, scales: [Double]) {
        features(reference: reference, distorted: distorted, peerAVX2: peerAVX2, workspace: nil)
    }

    /// The same with `workspace`'s buffers (made anew when nil or of another size).
    public static func features(reference: Plane, distorted: Plane, peerAVX2: Bool = peerAVX2, workspace: Workspace?) -> (adm2: Double, scales: [Double]) {
        precondition(reference.width == distorted.width && reference.height == distorted.height)
        precondition(reference.width >= 33 && reference.height >= 33, "ADM needs at least 33×33")
        let ws = workspace.flatMap { $0.width == reference.width && $0.height == reference.height ? $0 : nil }
            ?? Workspace(width: reference.width, height: reference.height)
        var nums: [Float] = [], dens: [Float] = []
        for s in 0..<4 {
            if s == 0 {
                let avx2 = peerAVX2 && reference.width % 8 == 0
                dwt0(reference, into: ws.ref[0], ws: ws, avx2: avx2)
                dwt0(distorted, into: ws.dis[0], ws: ws, avx2: avx2)
            } else {
                dwt(ws.ref[s - 1].a, scale: s, into: ws.ref[s], ws: ws)
                dwt(ws.dis[s - 1].a, scale: s, into: ws.dis[s], ws: ws)
            }
            let (n, dn) = scale(s, ref: ws.ref[s], dis: ws.dis[s], ws: ws)
            nums.append(n)
            dens.append(dn)
        }
        var num = nums.reduce(0.0) { $0 + Double($1) }, den = dens.reduce(0.0) { $0 + Double($1) }
        let limit = 1e-10 * Double(reference.width * reference.height) / (1920.0 * 1080.0)
        if num < limit { num = 0 }
        if den < limit { den = 0 }
        return (den == 0 ? 1 : num / den, (0..<4).map { Double(nums[$0]) / Double(dens[$0]) })
    }
}
