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

    /// Every buffer VIF needs for one frame size: the images at the four scales and the row buffers of the
    /// filters. A ``VMAF`` keeps one for its clip, so frames after the first allocate nothing.
    public final class Workspace {
        let width: Int, height: Int
        /// Per scale: (width, height) and the reference's and distorted image's samples.
        let sizes: [(Int, Int)]
        let ref: [VMAFBuffer<UInt16>], dis: [VMAFBuffer<UInt16>]
        /// Per-column sums of the downsampling filter; the row offsets of a filter's taps.
        let a1: VMAFBuffer<UInt32>, offsets: VMAFBuffer<Int>
        /// The current scale's filter.
        let filter: VMAFBuffer<UInt32>
        /// The vertical results padded by the filter's half-width on each side (reflect-101).
        let vm1: VMAFBuffer<UInt32>, vm2: VMAFBuffer<UInt32>, vxx: VMAFBuffer<UInt32>, vyy: VMAFBuffer<UInt32>, vxy: VMAFBuffer<UInt32>
        /// Horizontal sums.
        let hm1: VMAFBuffer<UInt32>, hm2: VMAFBuffer<UInt32>, hxx: VMAFBuffer<UInt64>, hyy: VMAFBuffer<UInt64>, hxy: VMAFBuffer<UInt64>

        public init(width: Int, height: Int) {
            self.width = width
            self.height = height
            var s = [(width, height)]
            for _ in 1..<4 { s.append((s[s.count - 1].0 / 2, s[s.count - 1].1 / 2)) }
            sizes = s
            ref = s.map { VMAFBuffer($0.0 * $0.1) }
            dis = s.map { VMAFBuffer($0.0 * $0.1) }
            let pw = width + 16
            a1 = VMAFBuffer(pw); offsets = VMAFBuffer(32); filter = VMAFBuffer(32)
            vm1 = VMAFBuffer(pw); vm2 = VMAFBuffer(pw); vxx = VMAFBuffer(pw); vyy = VMAFBuffer(pw); vxy = VMAFBuffer(pw)
            hm1 = VMAFBuffer(pw); hm2 = VMAFBuffer(pw); hxx = VMAFBuffer(pw); hyy = VMAFBuffer(pw); hxy = VMAFBuffer(pw)
        }
    }

    /// ``log2Table`` as a plain pointer for the per-pixel loop (never freed, like the table).
    nonisolated(unsafe) static let log2Pointer: UnsafeMutablePointer<UInt16> = {
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: log2Table.count)
        p.initialize(from: log2Table, count: log2Table.count)
        return p
    }()

    /// An image at one scale: 8-bit samples at scale 0, 1/256-level samples after (a view into a ``Workspace``).
    struct Image {
        var width: Int
        var height: Int
        var p: UnsafeMutablePointer<UInt16>
    }

    typealias U32x8 = SIMD8<UInt32>
    typealias U64x8 = SIMD8<UInt64>
    @inline(__always) static func load16(_ p: UnsafePointer<UInt16>) -> SIMD8<UInt16> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<UInt16>.self) }
    @inline(__always) static func load32(_ p: UnsafePointer<UInt32>) -> U32x8 { UnsafeRawPointer(p).loadUnaligned(as: U32x8.self) }
    @inline(__always) static func store<V: SIMD>(_ p: UnsafeMutablePointer<V.Scalar>, _ v: V) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// reflect-101: x[−k] = x[k], x[n − 1 + k] = x[n − 1 − k].
    @inlinable static func reflect(_ t: Int, _ n: Int) -> Int {
        let a = t < 0 ? -t : t
        return a >= n ? 2 * (n - 1) - a : a
    }

    /// The four features of a (reference, distorted) pair of 8-bit planes of one size (at least 16×16);
    /// `peerAVX2: false` gives libvmaf's C code's numbers.
    public static func features(reference: Plane, distorted: Plane, peerAVX2: Bool = peerAVX2) -> [Double] {
        features(reference: reference, distorted: distorted, peerAVX2: peerAVX2, workspace: nil)
    }

    /// The same with `workspace`'s buffers (made anew when nil or of another size).
    public static func features(reference: Plane, distorted: Plane, peerAVX2: Bool = peerAVX2, workspace: Workspace?) -> [Double] {
        precondition(reference.width == distorted.width && reference.height == distorted.height)
        precondition(reference.width >= 16 && reference.height >= 16, "VIF needs at least 16×16")
        let ws = workspace.flatMap { $0.width == reference.width && $0.height == reference.height ? $0 : nil }
            ?? Workspace(width: reference.width, height: reference.height)
        func image(_ p: Plane, _ into: VMAFBuffer<UInt16>) -> Image {
            let w = p.width, ch = p.channels
            for y in 0..<p.height {
                let r = p.row(y), o = into.p + y * w
                if ch == 1 { for x in 0..<w { o[x] = UInt16(r[x]) } } else { for x in 0..<w { o[x] = UInt16(r[x * ch]) } }
            }
            return Image(width: w, height: p.height, p: into.p)
        }
        var ref = image(reference, ws.ref[0]), dis = image(distorted, ws.dis[0])
        var out: [Double] = []
        for scale in 0..<4 {
            if scale > 0 {
                let (w, h) = ws.sizes[scale]
                ref = downsample(ref, scale: scale, into: Image(width: w, height: h, p: ws.ref[scale].p), ws: ws)
                dis = downsample(dis, scale: scale, into: Image(width: w, height: h, p: ws.dis[scale].p), ws: ws)
            }
            let overrun = scale == 0 && peerAVX2 ? avx2Overrun(ref, dis) : nil
            let (num, den) = statistic(ref, dis, scale: scale, rowZero: overrun, ws: ws)
            out.append(Double(num / den))
        }
        return out
    }

    /// The next scale: filter with `filters[scale]` (vertical then horizontal), keep even rows and columns.
    static func downsample(_ x: Image, scale: Int, into out: Image, ws: Workspace) -> Image {
        let f = filters[scale], taps = f.count, r = taps / 2, w = x.width, h = x.height
        let (vAdd, vShift): (UInt32, UInt32) = scale == 1 ? (128, 8) : (32768, 16)
        let ow = w / 2, oh = h / 2
        let acc = ws.a1.p, v = ws.vm1.p, hacc = ws.hm1.p
        for oi in 0..<oh {
            let i = 2 * oi
            acc.update(repeating: 0, count: w)
            for k in 0..<taps {
                let row = x.p + reflect(i - r + k, h) * w, fk = f[k]
                for j in 0..<w { acc[j] &+= fk &* UInt32(row[j]) }
            }
            for j in 0..<w { v[r + j] = (acc[j] &+ vAdd) >> vShift }
            for k in 1...r {
                v[r - k] = v[r + k]
                v[r + w - 1 + k] = v[r + w - 1 - k]
            }
            hacc.update(repeating: 0, count: ow)
            for k in 0..<taps {
                let fk = f[k], vk = v + k
                for oj in 0..<ow { hacc[oj] &+= fk &* vk[2 * oj] }
            }
            let o = out.p + oi * ow
            for oj in 0..<ow { o[oj] = UInt16(truncatingIfNeeded: (hacc[oj] &+ 32768) >> 16) }
        }
        return out
    }

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
                for k in 0..<f.count { acc &+= f[k] &* UInt32(img.p[reflect(i - r + k, img.height) * w + j]) }
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

    /// The scale's numerator and denominator sums (`filter1d_8`/`filter1d_16` then `vif_statistic`).
    static func statistic(_ ref: Image, _ dis: Image, scale: Int, rowZero: (mu2: [UInt32], xx: [UInt32])? = nil,
                          ws: Workspace) -> (num: Float, den: Float) {
        let f = filters[scale], taps = f.count, r = taps / 2, w = ref.width, h = ref.height
        // Each pass takes eight columns at a time (SIMD8 lanes, 32-bit, widened to 64 for the second
        // moments' sums) and keeps its sums over the taps in registers: the vertical pass into rows padded
        // by r on each side (reflect-101), then the horizontal pass. Scale 0's 8-bit samples keep every
        // vertical sum within 32 bits; the later scales' second moments sum in 64 bits and round back into
        // 32 (a 16-bit sample's square fits in 32 bits, and so does its filtered average), so every
        // horizontal product is 32 × 32 bits. The integer sums are those of the scalar loops, lane by lane.
        let vm1 = ws.vm1.p, vm2 = ws.vm2.p, vxx = ws.vxx.p, vyy = ws.vyy.p, vxy = ws.vxy.p
        let hm1 = ws.hm1.p, hm2 = ws.hm2.p, hxx = ws.hxx.p, hyy = ws.hyy.p, hxy = ws.hxy.p
        var numLog: Int64 = 0, denLog: Int64 = 0, accumX: Int64 = 0, accumX2: Int64 = 0, countX: Int64 = 0
        var numNonLog: Int64 = 0, denNonLog: Int64 = 0
        let sigmaNsq = Self.sigmaNsq
        let offsets = ws.offsets.p
        // Plain pointers (no closures): the sums above stay in registers.
        let table = log2Pointer, fp = ws.filter.p
        for k in 0..<taps { fp[k] = f[k] }
        do {
            for i in 0..<h {
                for k in 0..<taps { offsets[k] = reflect(i - r + k, h) * w }
                // Vertical: eight columns at a time, the sums over the taps kept in registers.
                var j = 0
                if scale == 0 {
                    while j + 8 <= w {
                        var s1 = U32x8(), s2 = U32x8(), sxx = U32x8(), syy = U32x8(), sxy = U32x8()
                        for k in 0..<taps {
                            let fk = fp[k], o = offsets[k] + j
                            let x = U32x8(truncatingIfNeeded: load16(ref.p + o)), y = U32x8(truncatingIfNeeded: load16(dis.p + o))
                            let fx = x &* fk, fy = y &* fk
                            s1 &+= fx; s2 &+= fy
                            sxx &+= fx &* x; syy &+= fy &* y; sxy &+= fx &* y
                        }
                        store(vm1 + r + j, (s1 &+ 128) &>> 8); store(vm2 + r + j, (s2 &+ 128) &>> 8)
                        store(vxx + r + j, sxx); store(vyy + r + j, syy); store(vxy + r + j, sxy)
                        j += 8
                    }
                } else {
                    while j + 8 <= w {
                        var s1 = U32x8(), s2 = U32x8(), sxx = U64x8(), syy = U64x8(), sxy = U64x8()
                        for k in 0..<taps {
                            let fk = fp[k], fk64 = UInt64(fk), o = offsets[k] + j
                            let x = U32x8(truncatingIfNeeded: load16(ref.p + o)), y = U32x8(truncatingIfNeeded: load16(dis.p + o))
                            s1 &+= x &* fk; s2 &+= y &* fk
                            sxx &+= U64x8(truncatingIfNeeded: x &* x) &* fk64
                            syy &+= U64x8(truncatingIfNeeded: y &* y) &* fk64
                            sxy &+= U64x8(truncatingIfNeeded: x &* y) &* fk64
                        }
                        store(vm1 + r + j, (s1 &+ 32768) &>> 16); store(vm2 + r + j, (s2 &+ 32768) &>> 16)
                        store(vxx + r + j, U32x8(truncatingIfNeeded: (sxx &+ 32768) &>> 16))
                        store(vyy + r + j, U32x8(truncatingIfNeeded: (syy &+ 32768) &>> 16))
                        store(vxy + r + j, U32x8(truncatingIfNeeded: (sxy &+ 32768) &>> 16))
                        j += 8
                    }
                }
                for j in j..<w {
                    var s1: UInt32 = 0, s2: UInt32 = 0, sxx: UInt64 = 0, syy: UInt64 = 0, sxy: UInt64 = 0
                    for k in 0..<taps {
                        let fk = fp[k], fk64 = UInt64(fk), o = offsets[k] + j
                        let x = UInt32(ref.p[o]), y = UInt32(dis.p[o])
                        s1 &+= fk &* x; s2 &+= fk &* y
                        if scale == 0 {
                            sxx &+= UInt64(fk &* x &* x); syy &+= UInt64(fk &* y &* y); sxy &+= UInt64(fk &* x &* y)
                        } else {
                            sxx &+= fk64 &* UInt64(x &* x); syy &+= fk64 &* UInt64(y &* y); sxy &+= fk64 &* UInt64(x &* y)
                        }
                    }
                    if scale == 0 {
                        vm1[r + j] = (s1 &+ 128) >> 8; vm2[r + j] = (s2 &+ 128) >> 8
                        vxx[r + j] = UInt32(truncatingIfNeeded: sxx); vyy[r + j] = UInt32(truncatingIfNeeded: syy); vxy[r + j] = UInt32(truncatingIfNeeded: sxy)
                    } else {
                        vm1[r + j] = (s1 &+ 32768) >> 16; vm2[r + j] = (s2 &+ 32768) >> 16
                        vxx[r + j] = UInt32(truncatingIfNeeded: (sxx &+ 32768) >> 16)
                        vyy[r + j] = UInt32(truncatingIfNeeded: (syy &+ 32768) >> 16)
                        vxy[r + j] = UInt32(truncatingIfNeeded: (sxy &+ 32768) >> 16)
                    }
                }
                for k in 1...r {
                    vm1[r - k] = vm1[r + k]; vm1[r + w - 1 + k] = vm1[r + w - 1 - k]
                    vm2[r - k] = vm2[r + k]; vm2[r + w - 1 + k] = vm2[r + w - 1 - k]
                    vxx[r - k] = vxx[r + k]; vxx[r + w - 1 + k] = vxx[r + w - 1 - k]
                    vyy[r - k] = vyy[r + k]; vyy[r + w - 1 + k] = vyy[r + w - 1 - k]
                    vxy[r - k] = vxy[r + k]; vxy[r + w - 1 + k] = vxy[r + w - 1 - k]
                }
                // Horizontal: the same, over the padded rows.
                j = 0
                while j + 8 <= w {
                    var m1 = U32x8(), m2 = U32x8(), sxx = U64x8(), syy = U64x8(), sxy = U64x8()
                    for k in 0..<taps {
                        let fk = fp[k], fk64 = UInt64(fk), o = j + k
                        m1 &+= load32(vm1 + o) &* fk; m2 &+= load32(vm2 + o) &* fk
                        sxx &+= U64x8(truncatingIfNeeded: load32(vxx + o)) &* fk64
                        syy &+= U64x8(truncatingIfNeeded: load32(vyy + o)) &* fk64
                        sxy &+= U64x8(truncatingIfNeeded: load32(vxy + o)) &* fk64
                    }
                    store(hm1 + j, m1); store(hm2 + j, m2); store(hxx + j, sxx); store(hyy + j, syy); store(hxy + j, sxy)
                    j += 8
                }
                for j in j..<w {
                    var m1: UInt32 = 0, m2: UInt32 = 0, sxx: UInt64 = 0, syy: UInt64 = 0, sxy: UInt64 = 0
                    for k in 0..<taps {
                        let fk = fp[k], fk64 = UInt64(fk)
                        m1 &+= fk &* vm1[j + k]; m2 &+= fk &* vm2[j + k]
                        sxx &+= fk64 &* UInt64(vxx[j + k]); syy &+= fk64 &* UInt64(vyy[j + k]); sxy &+= fk64 &* UInt64(vxy[j + k])
                    }
                    hm1[j] = m1; hm2[j] = m2; hxx[j] = sxx; hyy[j] = syy; hxy[j] = sxy
                }
                if i == 0, let o = rowZero {
                    for j in 0..<min(o.mu2.count, w) {
                        hm2[j] = o.mu2[j]
                        hxx[j] = UInt64(o.xx[j]) << 16
                    }
                }
                for j in 0..<w {
                    let mu1 = hm1[j], mu2 = hm2[j]
                    let xxF = UInt32(truncatingIfNeeded: (hxx[j] &+ 32768) >> 16)
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
                        denLog += Int64(table[Int(t &>> UInt64(k))])
                        accumX -= k
                        countX += 1
                        if s12 >= 0 {
                            // s1 > 0 and s12 ≥ 0 here: g = s12/(s1 + ε) ≥ 0, or 0 with σ_v² = 0 where σ₂² = 0.
                            var g = 0.0, sv: Int64 = 0
                            if s2 != 0 {
                                g = Double(s12) / (Double(s1) + 65536 * 1.0e-10)
                                let v = Double(s2) - g * Double(s12)
                                sv = v <= 0 ? 0 : Int64(v.rounded(.towardZero))
                                g = min(g, gainLimit)
                            }
                            let n1 = UInt64(sv + sigmaNsq)
                            let n1t = UInt64(Int64((g * g * Double(s1)).rounded(.towardZero)) + Int64(n1))
                            let k1 = Int64(64 - n1t.leadingZeroBitCount - 16), k2 = Int64(64 - n1.leadingZeroBitCount - 16)
                            numLog += Int64(table[Int(n1t &>> UInt64(k1))]) - Int64(table[Int(n1 &>> UInt64(k2))])
                            accumX2 += k1 - k2
                        }
                    } else {
                        numNonLog += s2
                        denNonLog += 1
                    }
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
