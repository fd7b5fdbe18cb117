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
/// ``peerAVX2`` reproduces this buffer by buffer (`dwt`): with it adm equals
/// the peer's printed values at every width tried (40, 48, 56, 64, 72, 80,
/// 88, 104 and 200, heights 36 and 40, and the 176×144 carphone pair); the
/// research prototype's quirk alone was up to 3.8e-2 off. The columns and rows concerned reach the scored regions only on
/// narrow frames (below about 400 pixels).
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

    /// A band or image: rows of 64-bit values holding libvmaf's 16- or 32-bit ones.
    struct Mat {
        var width: Int
        var height: Int
        var v: [Int64]
        init(_ w: Int, _ h: Int) { width = w; height = h; v = [Int64](repeating: 0, count: w * h) }
        subscript(i: Int, j: Int) -> Int64 {
            get { v[i * width + j] }
            set { v[i * width + j] = newValue }
        }
    }

    /// The four bands of one wavelet step.
    struct Bands {
        var a: Mat, v: Mat, h: Mat, d: Mat
    }

    /// Wraps to libvmaf's storage type: Int16 at scale 0, Int32 after.
    @inlinable static func store(_ x: Int64, _ i16: Bool) -> Int64 {
        i16 ? Int64(Int16(truncatingIfNeeded: x)) : Int64(Int32(truncatingIfNeeded: x))
    }

    /// The wavelet taps 2k − 1...2k + 2 of output k on a line of n samples, mirrored.
    static func taps(_ n: Int) -> [[Int]] {
        (0..<((n + 1) / 2)).map { k in
            (-1...2).map { o -> Int in
                let t = 2 * k + o
                return t < 0 ? -t : (t >= n ? 2 * n - t - 1 : t)
            }
        }
    }

    /// One wavelet step (`adm_dwt2_8` at scale 0, `adm_dwt2_s123_combined` after).
    static func dwt(_ x: Mat, scale: Int, avx2: Bool) -> Bands {
        let w = x.width, h = x.height, ow = (w + 1) / 2, oh = (h + 1) / 2
        let i16 = scale == 0
        let bias: Int64 = i16 ? 46342 * 128 : 0
        let (vAdd, vShift): (Int64, Int64) = i16 ? (128, 8) : ([0, 32768, 32768][scale - 1], [0, 16, 16][scale - 1])
        let (hAdd, hShift): (Int64, Int64) = i16 ? (32768, 16) : ([16384, 32768, 16384][scale - 1], [15, 16, 15][scale - 1])
        let ty = taps(h), tx = taps(w)
        var bands = Bands(a: Mat(ow, oh), v: Mat(ow, oh), h: Mat(ow, oh), d: Mat(ow, oh))
        // The vertical pass's low and high rows. With `avx2` they live as adm_dwt2_8_avx2 keeps them:
        // one buffer, low row at 0..<w and high row at w..<2w, stored 16 columns at a time (columns
        // past w read the picture's zero padding), zeros beyond.
        let cols = avx2 ? (w + 15) / 16 * 16 : w
        var rowLo = [Int64](repeating: 0, count: cols), rowHi = rowLo
        var mem = [Int64](repeating: 0, count: avx2 ? 2 * w + 64 : 0)
        for k in 0..<oh {
            for j in 0..<cols {
                var l: Int64 = 0, hh: Int64 = 0
                for t in 0..<4 {
                    let s = j < w ? x[ty[k][t], j] : 0
                    l &+= lo[t] &* s
                    hh &+= hi[t] &* s
                }
                l &-= bias
                rowLo[j] = store(vShift > 0 ? (l &+ vAdd) >> vShift : l, i16)
                rowHi[j] = store(vShift > 0 ? (hh &+ vAdd) >> vShift : hh, i16)
            }
            if avx2 {
                for i in mem.indices { mem[i] = 0 }
                for j in stride(from: 0, to: w, by: 16) {
                    for c in j..<(j + 16) { mem[c] = rowLo[c] }
                    for c in j..<(j + 16) { mem[w + c] = rowHi[c] }
                }
            }
            for c in 0..<ow {
                var a: Int64 = 0, v: Int64 = 0, hb: Int64 = 0, d: Int64 = 0
                for t in 0..<4 {
                    let sl: Int64, sh: Int64
                    if avx2 {
                        // Column 0 through the mirrored indices, the others read the buffer contiguously.
                        let at = c == 0 ? [1, 0, 1, 2][t] : 2 * c - 1 + t
                        sl = mem[at]
                        sh = mem[w + at]
                    } else {
                        sl = rowLo[tx[c][t]]
                        sh = rowHi[tx[c][t]]
                    }
                    a &+= lo[t] &* sl
                    v &+= hi[t] &* sl
                    hb &+= lo[t] &* sh
                    d &+= hi[t] &* sh
                }
                bands.a[k, c] = store((a &+ hAdd) >> hShift, i16)
                bands.v[k, c] = store((v &+ hAdd) >> hShift, i16)
                bands.h[k, c] = store((hb &+ hAdd) >> hShift, i16)
                bands.d[k, c] = store((d &+ hAdd) >> hShift, i16)
            }
        }
        if avx2 {
            // The last row's 16-wide stores run to column 16·ceil((ow − 1)/16); past the row stride,
            // ceil8(ow), they land in row 0 of the band that follows in memory (a, h, v, d).
            let rowStride = (ow + 7) / 8 * 8, end = 16 * ((ow + 14) / 16)
            if end >= rowStride {
                for c in rowStride...end where c - rowStride < ow {
                    func band(_ base: Int, _ f: [Int64]) -> Int64 {
                        var s: Int64 = 0
                        for t in 0..<4 { s &+= f[t] &* mem[base + 2 * c - 1 + t] }
                        return store((s &+ hAdd) >> hShift, true)
                    }
                    bands.h[0, c - rowStride] = band(0, lo)  // a's
                    bands.v[0, c - rowStride] = band(w, lo)  // h's
                    bands.d[0, c - rowStride] = band(0, hi)  // v's
                }
            }
        }
        return bands
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

    /// One scale's numerator and denominator (Float), from the reference's and the distorted bands.
    static func scale(_ s: Int, ref: Bands, dis: Bands) -> (num: Float, den: Float) {
        let w = ref.h.width, h = ref.h.height
        let rf = [rfactor(s, 1), rfactor(s, 1), rfactor(s, 2)]
        let (top0, bot0) = region(h, extra: true), (left0, right0) = region(w, extra: true)
        let o = [ref.h, ref.v, ref.d], t = [dis.h, dis.v, dis.d]
        // Decoupled restored part r and CSF-weighted impairment A with its masking contribution F, full-size (zero outside).
        var restored = [Mat](repeating: Mat(w, h), count: 3), csfA = restored, csfF = restored
        let c2 = Double(Float(cos(Double.pi / 180) * cos(Double.pi / 180)))
        let i4 = s > 0
        let irScale0: [Int64] = [36453, 36453, 49417], shScale0: [Int64] = [15, 15, 17], addScale0: [Int64] = [16384, 16384, 65535]
        let ir32 = rf.map { Int64(Double($0) * 4294967296.0) }
        if top0 < bot0 && left0 < right0 {
            for i in top0..<bot0 {
                for j in left0..<right0 {
                    let oh = o[0][i, j], ov = o[1][i, j], th = t[0][i, j], tv = t[1][i, j]
                    let ot = oh &* th &+ ov &* tv, om = oh &* oh &+ ov &* ov, tm = th &* th &+ tv &* tv
                    let otf = Double(Float(ot)) / 4096.0
                    let angle = otf >= 0 && otf * otf >= c2 * (Double(Float(om)) / 4096.0) * (Double(Float(tm)) / 4096.0)
                    for b in 0..<3 {
                        let oo = o[b][i, j], tt = t[b][i, j]
                        var k: Int64
                        if oo == 0 {
                            k = 32768
                        } else if !i4 {
                            k = (divLookup[Int(oo + 32768)] &* tt &+ 16384) >> 15
                        } else {
                            let ab = abs(oo)
                            let sh: Int64 = ab >= 32768 ? bitLength(ab) - 15 : 0
                            let msb = ab >= 32768 ? (ab + (Int64(1) << max(sh - 1, 0))) >> sh : ab
                            let sign: Int64 = oo < 0 ? -1 : 1
                            k = ((divLookup[Int(msb + 32768)] &* tt) &* sign &+ (Int64(1) << (14 + sh))) >> (15 + sh)
                        }
                        k = min(max(k, 0), 32768)
                        var rst = store((k &* oo &+ 16384) >> 15, !i4)
                        if angle && k > 0 && oo > 0 { rst = Int64(min(Double(rst) * 100.0, Double(tt)).rounded(.towardZero)) }
                        if angle && k > 0 && oo < 0 { rst = Int64(max(Double(rst) * 100.0, Double(tt)).rounded(.towardZero)) }
                        let a = store(tt &- rst, !i4)
                        restored[b][i, j] = rst
                        if !i4 {
                            let dv = store((irScale0[b] &* a &+ addScale0[b]) >> shScale0[b], true)
                            csfA[b][i, j] = dv
                            csfF[b][i, j] = store((4369 &* abs(dv) &+ 2048) >> 12, true)
                        } else {
                            let dv = store((ir32[b] &* a &+ (1 << 27)) >> 28, false)
                            csfA[b][i, j] = dv
                            csfF[b][i, j] = (143_165_577 &* abs(dv) &- (1 << 31)) >> 32
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
            if s == 0 {
                let sa = max(0, Int((log2(Double(area)) - 20).rounded(.up)))
                let add: UInt64 = sa > 0 ? 1 << UInt64(sa - 1) : 0
                for i in top..<bot {
                    var row: UInt64 = 0
                    for j in left..<right {
                        let x = UInt64(abs(o[b][i, j]))
                        row &+= x &* x &* x
                    }
                    acc &+= (row &+ add) >> UInt64(sa)
                }
                csf = (Double(acc) / pow(2.0, Double(18 - sa))) * pow(Double(rf[b]), 3)
            } else {
                let shsq = UInt64([31, 30, 31][s - 1]), conv = [32, 27, 23][s - 1]
                let sc = Int(log2(Double(right - left)).rounded(.up)), sa = Int(log2(Double(bot - top)).rounded(.up))
                let ac: UInt64 = sc > 0 ? 1 << UInt64(sc - 1) : 0, aa: UInt64 = sa > 0 ? 1 << UInt64(sa - 1) : 0
                for i in top..<bot {
                    var row: UInt64 = 0
                    for j in left..<right {
                        let x = UInt64(abs(o[b][i, j]))
                        row &+= ((((x &* x) &+ (1 << shsq)) >> shsq) &* x &+ ac) >> UInt64(sc)
                    }
                    acc &+= (row &+ aa) >> UInt64(sa)
                }
                csf = (Double(acc) / pow(2.0, Double(conv - sa - sc))) * pow(Double(rf[b]), 3)
            }
            den = den + (cubeRoot(Float(csf)) + areaTerm)
        }
        // Contrast masking: the 3×3 threshold over the three orientations, neighbours mirrored at the band's edges.
        func nb(_ t: Int, _ n: Int) -> Int { t < 0 ? -t : (t >= n ? 2 * n - t - 1 : t) }
        let rows = max(bot - top, 0), cols = max(right - left, 0)
        var thr = [Int64](repeating: 0, count: rows * cols)
        for b in 0..<3 {
            for i in top..<bot {
                for j in left..<right {
                    var sum: Int64 = 0
                    for di in -1...1 {
                        for dj in -1...1 where di != 0 || dj != 0 { sum &+= csfF[b][nb(i + di, h), nb(j + dj, w)] }
                    }
                    let c = abs(csfA[b][i, j])
                    sum &+= i4 ? (286_331_153 &* c &- (1 << 31)) >> 32 : store((8738 &* c &+ 2048) >> 12, true)
                    thr[(i - top) * cols + (j - left)] &+= sum
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
            var acc: Int64 = 0
            for i in top..<bot {
                var row: Int64 = 0
                for j in left..<right {
                    let r = restored[b][i, j]
                    var x = i4 ? (r &* ir32[b] &+ (1 << 27)) >> 28 : Int64(Int32(truncatingIfNeeded: r &* irScale0[b]))
                    x = max(abs(x) &- (thr[(i - top) * cols + (j - left)] << sub), 0)
                    let xsq = Int64(Int32(truncatingIfNeeded: (x &* x &+ sqAdd) >> sqShift))
                    row &+= (xsq &* x &+ cubAdd) >> Int64(cub)
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
        precondition(reference.width == distorted.width && reference.height == distorted.height)
        precondition(reference.width >= 33 && reference.height >= 33, "ADM needs at least 33×33")
        func mat(_ p: Plane) -> Mat {
            var m = Mat(p.width, p.height)
            for y in 0..<p.height { for x in 0..<p.width { m[y, x] = Int64(p[x, y]) } }
            return m
        }
        var r = mat(reference), d = mat(distorted)
        var nums: [Float] = [], dens: [Float] = []
        for s in 0..<4 {
            let avx2 = s == 0 && peerAVX2 && reference.width % 8 == 0
            let rb = dwt(r, scale: s, avx2: avx2), db = dwt(d, scale: s, avx2: avx2)
            let (n, dn) = scale(s, ref: rb, dis: db)
            nums.append(n)
            dens.append(dn)
            r = rb.a
            d = db.a
        }
        var num = nums.reduce(0.0) { $0 + Double($1) }, den = dens.reduce(0.0) { $0 + Double($1) }
        let limit = 1e-10 * Double(reference.width * reference.height) / (1920.0 * 1080.0)
        if num < limit { num = 0 }
        if den < limit { den = 0 }
        return (den == 0 ? 1 : num / den, (0..<4).map { Double(nums[$0]) / Double(dens[$0]) })
    }
}
