// The plain-loop VMAF feature code, as first written (Int64 matrices, per-element subscripts,
// fresh arrays per frame): the reference that GallopMetrics' VMAFADM, VMAFVIF and VMAFMotion
// kernels must equal exactly (VMAFKernelTests; gallop-kernel-bench times them against it).
// Its arithmetic is libvmaf 2.3.0's as documented on those types; only the names differ.

import Foundation
import GallopCore


public enum ReferenceADM {
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

public enum ReferenceVIF {
    /// The four filters (`vif_filter1d_table`), each summing to 65536.
    static let filters: [[UInt32]] = [
        [489, 935, 1640, 2640, 3896, 5274, 6547, 7455, 7784, 7455, 6547, 5274, 3896, 2640, 1640, 935, 489],
        [1244, 3663, 7925, 12590, 14692, 12590, 7925, 3663, 1244],
        [3571, 16004, 26386, 16004, 3571],
        [10904, 43728, 10904],
    ]

    /// Reproduce the peer's AVX2 scale-0 overrun (above), as libvmaf 2.3.0 computes on x86 with AVX2.
    public static let peerAVX2 = true

    /// σ²_n, the model's noise variance (2 in 1/65536 units of a squared grey level).
    static let sigmaNsq: Int64 = 131072

    /// round(log2f(i) · 2048) for i in 32767...65535 (`log_generate`); other entries 0.
    /// glibc's log2f and C's round (half away from zero, as Swift's
    /// `rounded()`): 80 entries are exact halves, and at 39 of them rounding
    /// half to even would be 1 lower.
    static let log2Table: [UInt16] = {
        var t = [UInt16](repeating: 0, count: 65536)
        for i in 32767..<65536 { t[i] = UInt16((log2(Float(i)) * 2048).rounded()) }
        return t
    }()

    /// An image at one scale: 8-bit samples at scale 0, 1/256-level samples after.
    struct Image {
        var width: Int
        var height: Int
        var samples: [UInt16]
    }

    /// reflect-101: x[−k] = x[k], x[n − 1 + k] = x[n − 1 − k].
    @inlinable static func reflect(_ t: Int, _ n: Int) -> Int {
        let a = t < 0 ? -t : t
        return a >= n ? 2 * (n - 1) - a : a
    }

    /// The four features of a (reference, distorted) pair of 8-bit planes of one size (at least 16×16);
    /// `peerAVX2: false` gives libvmaf's C code's numbers.
    public static func features(reference: Plane, distorted: Plane, peerAVX2: Bool = peerAVX2) -> [Double] {
        precondition(reference.width == distorted.width && reference.height == distorted.height)
        precondition(reference.width >= 16 && reference.height >= 16, "VIF needs at least 16×16")
        func image(_ p: Plane) -> Image {
            var s = [UInt16](repeating: 0, count: p.width * p.height)
            for y in 0..<p.height {
                let r = p.row(y)
                for x in 0..<p.width { s[y * p.width + x] = UInt16(r[x * p.channels]) }
            }
            return Image(width: p.width, height: p.height, samples: s)
        }
        var ref = image(reference), dis = image(distorted)
        var out: [Double] = []
        for scale in 0..<4 {
            if scale > 0 {
                ref = downsample(ref, scale: scale)
                dis = downsample(dis, scale: scale)
            }
            let overrun = scale == 0 && peerAVX2 ? avx2Overrun(ref, dis) : nil
            let (num, den) = statistic(ref, dis, scale: scale, rowZero: overrun)
            out.append(Double(num / den))
        }
        return out
    }

    /// The next scale: filter with `filters[scale]` (vertical then horizontal), keep even rows and columns.
    static func downsample(_ x: Image, scale: Int) -> Image {
        let f = filters[scale], r = f.count / 2, w = x.width, h = x.height
        let (vAdd, vShift): (UInt32, UInt32) = scale == 1 ? (128, 8) : (32768, 16)
        let ow = w / 2, oh = h / 2
        var out = [UInt16](repeating: 0, count: ow * oh)
        var v = [UInt32](repeating: 0, count: w + 2 * r)
        for oi in 0..<oh {
            let i = 2 * oi
            for j in 0..<w {
                var acc: UInt32 = 0
                for k in 0..<f.count { acc &+= f[k] &* UInt32(x.samples[reflect(i - r + k, h) * w + j]) }
                v[r + j] = (acc &+ vAdd) >> vShift
            }
            for k in 1...r {
                v[r - k] = v[r + k]
                v[r + w - 1 + k] = v[r + w - 1 - k]
            }
            for oj in 0..<ow {
                let j = 2 * oj
                var acc: UInt32 = 0
                for k in 0..<f.count { acc &+= f[k] &* v[j + k] }
                out[oi * ow + oj] = UInt16(truncatingIfNeeded: (acc &+ 32768) >> 16)
            }
        }
        return Image(width: ow, height: oh, samples: out)
    }

    /// The scale's numerator and denominator sums (`filter1d_8`/`filter1d_16` then `vif_statistic`).
    /// The values `vif_filter1d_8_avx2` leaves in row 0, columns 0..<n, of the distorted means
    /// (the reference's last-row means at columns ceil8(w)..<ceil16(w)) and of the reference's second
    /// moments (the distorted ones'), or nil when ceil16(w) = ceil8(w) and nothing overruns.
    static func avx2Overrun(_ ref: Image, _ dis: Image) -> (mu2: [UInt32], xx: [UInt32])? {
        let w = ref.width, s8 = (w + 7) / 8 * 8, s16 = (w + 15) / 16 * 16
        guard s16 > s8 else { return nil }
        let f = filters[0], r = f.count / 2
        func lastRowMeans(_ img: Image) -> [UInt32] {
            // The vertical means of the last row at tmp[r + j], mirrored by r on each side, zeros beyond.
            var tmp = [UInt32](repeating: 0, count: s16 + 2 * r + f.count)
            let i = img.height - 1
            for j in 0..<w {
                var acc: UInt32 = 0
                for k in 0..<f.count { acc &+= f[k] &* UInt32(img.samples[reflect(i - r + k, img.height) * w + j]) }
                tmp[r + j] = (acc &+ 128) >> 8
            }
            for k in 1...r {
                tmp[r - k] = tmp[r + k]
                tmp[r + w - 1 + k] = tmp[r + w - 1 - k]
            }
            return (s8..<s16).map { c in (0..<f.count).reduce(UInt32(0)) { $0 &+ f[$1] &* tmp[c + $1] } }
        }
        return (lastRowMeans(ref), lastRowMeans(dis))
    }

    static func statistic(_ ref: Image, _ dis: Image, scale: Int, rowZero: (mu2: [UInt32], xx: [UInt32])? = nil) -> (num: Float, den: Float) {
        let f = filters[scale], taps = f.count, r = taps / 2, w = ref.width, h = ref.height, pw = w + 2 * r
        // Loops run tap by tap over whole rows (the inner loop over columns vectorises): the vertical
        // sums into per-column accumulators, then the rows padded by r on each side (reflect-101),
        // then the horizontal sums. Scale 0's 8-bit samples keep every vertical sum within 32 bits.
        var vm1 = [UInt32](repeating: 0, count: pw), vm2 = vm1
        var vxx = [UInt64](repeating: 0, count: pw), vyy = vxx, vxy = vxx
        var a1 = [UInt32](repeating: 0, count: w), a2 = a1, axx32 = a1, ayy32 = a1, axy32 = a1
        var axx = [UInt64](repeating: 0, count: w), ayy = axx, axy = axx
        var hm1 = [UInt32](repeating: 0, count: w), hm2 = hm1
        var hxx = [UInt64](repeating: 0, count: w), hyy = hxx, hxy = hxx
        var numLog: Int64 = 0, denLog: Int64 = 0, accumX: Int64 = 0, accumX2: Int64 = 0, countX: Int64 = 0
        var numNonLog: Int64 = 0, denNonLog: Int64 = 0
        let table = log2Table
        for i in 0..<h {
            ref.samples.withUnsafeBufferPointer { rs in
                dis.samples.withUnsafeBufferPointer { ds in
                    for j in 0..<w { a1[j] = 0; a2[j] = 0; axx32[j] = 0; ayy32[j] = 0; axy32[j] = 0; axx[j] = 0; ayy[j] = 0; axy[j] = 0 }
                    for k in 0..<taps {
                        let row = reflect(i - r + k, h) * w, fk = f[k], fk64 = UInt64(fk)
                        let rp = rs.baseAddress! + row, dp = ds.baseAddress! + row
                        if scale == 0 {
                            for j in 0..<w {
                                let x = UInt32(rp[j]), y = UInt32(dp[j])
                                let fx = fk &* x, fy = fk &* y
                                a1[j] &+= fx; a2[j] &+= fy
                                axx32[j] &+= fx &* x; ayy32[j] &+= fy &* y; axy32[j] &+= fx &* y
                            }
                        } else {
                            for j in 0..<w {
                                let x = UInt32(rp[j]), y = UInt32(dp[j])
                                let fx = fk &* x, fy = fk &* y
                                a1[j] &+= fx; a2[j] &+= fy
                                axx[j] &+= fk64 &* UInt64(x &* x); ayy[j] &+= fk64 &* UInt64(y &* y); axy[j] &+= fk64 &* UInt64(x &* y)
                            }
                        }
                    }
                }
            }
            if scale == 0 {
                for j in 0..<w {
                    vm1[r + j] = (a1[j] &+ 128) >> 8
                    vm2[r + j] = (a2[j] &+ 128) >> 8
                    vxx[r + j] = UInt64(axx32[j]); vyy[r + j] = UInt64(ayy32[j]); vxy[r + j] = UInt64(axy32[j])
                }
            } else {
                for j in 0..<w {
                    vm1[r + j] = (a1[j] &+ 32768) >> 16
                    vm2[r + j] = (a2[j] &+ 32768) >> 16
                    vxx[r + j] = (axx[j] &+ 32768) >> 16; vyy[r + j] = (ayy[j] &+ 32768) >> 16; vxy[r + j] = (axy[j] &+ 32768) >> 16
                }
            }
            for k in 1...r {
                vm1[r - k] = vm1[r + k]; vm1[r + w - 1 + k] = vm1[r + w - 1 - k]
                vm2[r - k] = vm2[r + k]; vm2[r + w - 1 + k] = vm2[r + w - 1 - k]
                vxx[r - k] = vxx[r + k]; vxx[r + w - 1 + k] = vxx[r + w - 1 - k]
                vyy[r - k] = vyy[r + k]; vyy[r + w - 1 + k] = vyy[r + w - 1 - k]
                vxy[r - k] = vxy[r + k]; vxy[r + w - 1 + k] = vxy[r + w - 1 - k]
            }
            for j in 0..<w { hm1[j] = 0; hm2[j] = 0; hxx[j] = 0; hyy[j] = 0; hxy[j] = 0 }
            for k in 0..<taps {
                let fk = f[k], fk64 = UInt64(fk)
                for j in 0..<w {
                    hm1[j] &+= fk &* vm1[j + k]
                    hm2[j] &+= fk &* vm2[j + k]
                    hxx[j] &+= fk64 &* vxx[j + k]
                    hyy[j] &+= fk64 &* vyy[j + k]
                    hxy[j] &+= fk64 &* vxy[j + k]
                }
            }
            for j in 0..<w {
                let mu1 = hm1[j]
                var mu2 = hm2[j]
                var xxF = UInt32(truncatingIfNeeded: (hxx[j] &+ 32768) >> 16)
                if i == 0, let o = rowZero, j < o.mu2.count {
                    mu2 = o.mu2[j]
                    xxF = o.xx[j]
                }
                let yyF = UInt32(truncatingIfNeeded: (hyy[j] &+ 32768) >> 16)
                let xyF = UInt32(truncatingIfNeeded: (hxy[j] &+ 32768) >> 16)
                let m11 = UInt32(truncatingIfNeeded: (UInt64(mu1) &* UInt64(mu1) &+ 2_147_483_648) >> 32)
                let m22 = UInt32(truncatingIfNeeded: (UInt64(mu2) &* UInt64(mu2) &+ 2_147_483_648) >> 32)
                let m12 = UInt32(truncatingIfNeeded: (UInt64(mu1) &* UInt64(mu2) &+ 2_147_483_648) >> 32)
                let s1 = Int64(max(Int32(bitPattern: xxF &- m11), 0))
                let s2 = Int64(max(Int32(bitPattern: yyF &- m22), 0))
                let s12 = Int64(Int32(bitPattern: xyF &- m12))
                if s1 >= sigmaNsq {
                    // log2(σ²_n + σ₁²) − 17 through the table's 16 leading bits.
                    let t = UInt64(sigmaNsq + s1)
                    let k = Int64(64 - t.leadingZeroBitCount - 16)
                    denLog += Int64(table[Int(t >> UInt64(k))])
                    accumX -= k
                    countX += 1
                    if s12 >= 0 {
                        let g = min(gain(s1: s1, s2: s2, s12: s12), gainLimit)
                        let sv = svSquared(s1: s1, s2: s2, s12: s12)
                        let n1 = UInt64(sv + sigmaNsq)
                        let n1t = UInt64(Int64((g * g * Double(s1)).rounded(.towardZero)) + Int64(n1))
                        let k1 = Int64(64 - n1t.leadingZeroBitCount - 16), k2 = Int64(64 - n1.leadingZeroBitCount - 16)
                        numLog += Int64(table[Int(n1t >> UInt64(k1))]) - Int64(table[Int(n1 >> UInt64(k2))])
                        accumX2 += k1 - k2
                    }
                } else {
                    numNonLog += s2
                    denNonLog += 1
                }
            }
        }
        let num = Double(numLog) / 2048.0 + Double(accumX2) + (Double(denNonLog) - (Double(numNonLog) / 16384.0) / 65025.0)
        let den = Double(denLog) / 2048.0 - Double(accumX + countX * 17) + Double(denNonLog)
        return (Float(num), Float(den))
    }

    /// libvmaf's default `vif_enhn_gain_limit`.
    static let gainLimit = 100.0

    /// g before the limit, with libvmaf's cases: 0 where σ₁² or σ₂² is 0 or the ratio is negative.
    @inlinable static func gain(s1: Int64, s2: Int64, s12: Int64) -> Double {
        if s1 == 0 || s2 == 0 { return 0 }
        let g = Double(s12) / (Double(s1) + 65536 * 1.0e-10)
        return g < 0 ? 0 : g
    }

    /// σ_v² = σ₂² − g·σ₁₂ truncated (C's double → int32), with libvmaf's cases, at least 0.
    @inlinable static func svSquared(s1: Int64, s2: Int64, s12: Int64) -> Int64 {
        if s2 == 0 { return 0 }
        if s1 == 0 { return s2 }
        let g = Double(s12) / (Double(s1) + 65536 * 1.0e-10)
        if g < 0 { return s2 }
        // σ₂² − g·σ₁₂ ≤ σ₂² < 2³¹; below −2³¹ C's conversion gives INT32_MIN, floored to 0 all the same.
        let v = Double(s2) - g * Double(s12)
        return v <= 0 ? 0 : Int64(v.rounded(.towardZero))
    }
}
