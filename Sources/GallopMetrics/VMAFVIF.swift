import Foundation
import GallopCore

/// VMAF's VIF features at four scales (`vif_scale0...3`) as libvmaf 2.3.0's
/// integer extractor computes them (`libvmaf/src/feature/integer_vif.c` and
/// `.h` at v2.3.0), on 8-bit luma.
///
/// Scale 0 is the plane itself; scale s + 1 filters scale s with the next
/// table (below) and keeps the even rows and columns, floor(w/2) × floor(h/2).
/// Its samples are in units of 1/256 of a grey level: scale 1's vertical pass
/// rounds `(Σ f·x + 128) >> 8`, every other pyramid pass `(Σ + 32768) >> 16`.
/// Borders reflect without repeating the edge sample (x[−k] = x[k],
/// x[n − 1 + k] = x[n − 1 − k]) in both directions.
///
/// At each scale the local means and (co)variances come from the scale's
/// symmetric filter (17, 9, 5 and 3 taps, each summing to 65536), vertical
/// pass first: at scale 0 the means round `>> 8` and the second moments are
/// not shifted, at later scales both round `>> 16`; the horizontal pass keeps
/// the means unshifted (×65536) and rounds the second moments `>> 16`.
/// Per pixel (`vif_statistic`), with σ²_n = 131072 (2 in these units):
/// σ² = moment − round(μμ' / 2³²) in wrapping 32-bit arithmetic, σ₁², σ₂²
/// floored at 0; g = σ₁₂ / (σ₁² + 6.5536e-6) in Double,
/// σ_v² = σ₂² − g·σ₁₂ truncated to an integer, with libvmaf's special cases
/// (σ₁² = 0, σ₂² = 0, g < 0), σ_v² ≥ 0 and g ≤ 100 (the default
/// enhancement-gain limit). Where σ₁² ≥ σ²_n the pixel adds
/// log2(1 + σ₁²/σ²_n) to the denominator and, if σ₁₂ ≥ 0,
/// log2(1 + g²σ₁²/(σ_v² + σ²_n)) to the numerator, both through a 16-bit
/// log2 table (``log2Table``) with the dropped low bits counted apart; other
/// pixels add 1 − σ₂²/(σ²_n·65025/2) to the numerator and 1 to the
/// denominator. The scale's value is num/den as Float, from libvmaf's own
/// Double and Float roundings. Every step before the final sums is integer or
/// reproduces libvmaf's rounding, so the features are bit-exact with
/// libvmaf's C code.
///
/// The peer's AVX2 code (libvmaf 2.3.0 on x86 with AVX2, as FFmpeg 7.0.2 from
/// imageio-ffmpeg runs it here) differs at scale 0 when the width is 1...8
/// mod 16: `vif_filter1d_8_avx2` stores the last row's horizontally filtered
/// means 16 at a time, past the row's 32-byte-aligned stride of ceil8(w)
/// values, into row 0 of the buffers that follow: the reference's means land
/// on the distorted means and the distorted means on the reference's second
/// moments, at columns 0...7. Those are means of a row extended by its
/// mirrored border and then zeros (the picture's and the buffer's fresh
/// padding). ``peerAVX2`` reproduces this (``avx2Overrun(_:_:)``): with it,
/// vif_scale0 equals the peer's printed value on every width from 33 to 120
/// tried; without it, 40-pixel planes differ by up to 3e-3.
public enum VMAFVIF {
    /// The four filters (`vif_filter1d_table`), each summing to 65536.
    public static let filters: [[UInt32]] = [
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
    public static let log2Table: [UInt16] = {
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
