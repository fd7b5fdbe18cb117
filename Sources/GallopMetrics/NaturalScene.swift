import Foundation
import GallopCore

/// Natural-scene statistics shared by the no-reference metrics (``NIQE``,
/// BRISQUE): the MSCN transform, the generalised Gaussian (GGD) and
/// asymmetric generalised Gaussian (AGGD) moment fits, and the paired
/// products of neighbouring coefficients (Mittal, Moorthy and Bovik 2012,
/// "No-reference image quality assessment in the spatial domain", IEEE TIP;
/// Mittal, Soundararajan and Bovik 2013, "Making a 'completely blind' image
/// quality analyzer", IEEE SPL).
///
/// The implementations the metrics are checked against differ in small
/// choices, so each is a parameter here: the Gaussian window, the border
/// rule of its filtering, the MSCN constant, the grid of shapes α the fits
/// search, whether the GGD's σ² is centred, and how paired products treat the
/// region's edge. The defaults are scikit-video 1.1.11's (`skvideo/utils/
/// mscn.py`, `stats.py`).
///
/// Arithmetic follows scikit-video: the image and its filtered planes are
/// `Float` (each filtering pass is summed in `Double` and stored as `Float`,
/// as SciPy's `correlate1d` does for float32 arrays), and the fits' moments
/// are NumPy's float32 pairwise means by default (``Moments/numpyFloat32``:
/// summed in `Double` they differ in the last bits, which can move a fit's α
/// to the next point of its grid); BRISQUE's variant works in `Double`.
public enum NaturalScene {
    /// A one-channel `Float` image, row-major, no padding.
    public struct Field: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var values: [Float]

        public init(width: Int, height: Int, values: [Float]) {
            precondition(width > 0 && height > 0 && values.count == width * height, "a field's values are width × height")
            self.width = width
            self.height = height
            self.values = values
        }

        public init(width: Int, height: Int, repeating v: Float = 0) {
            self.init(width: width, height: height, values: [Float](repeating: v, count: width * height))
        }

        /// The top-left `width × height` of a luma plane, as `Float`.
        public init(_ p: Plane, width: Int? = nil, height: Int? = nil) {
            precondition(p.channels == 1, "a field is read from one luma plane")
            let w = width ?? p.width, h = height ?? p.height
            precondition(w <= p.width && h <= p.height, "the field lies inside the plane")
            var v = [Float](repeating: 0, count: w * h)
            v.withUnsafeMutableBufferPointer { d in
                for y in 0..<h {
                    let r = p.row(y), o = d.baseAddress! + y * w
                    for x in 0..<w { o[x] = Float(r[x]) }
                }
            }
            self.init(width: w, height: h, values: v)
        }

        @inlinable public subscript(x: Int, y: Int) -> Float { values[y * width + x] }

        /// The sub-field at (x0, y0) of the given size.
        public func crop(x: Int, y: Int, width w: Int, height h: Int) -> Field {
            precondition(x >= 0 && y >= 0 && x + w <= width && y + h <= height, "the crop lies inside the field")
            var v = [Float](repeating: 0, count: w * h)
            values.withUnsafeBufferPointer { s in
                v.withUnsafeMutableBufferPointer { d in
                    for r in 0..<h {
                        let src = s.baseAddress! + (y + r) * width + x, dst = d.baseAddress! + r * w
                        for c in 0..<w { dst[c] = src[c] }
                    }
                }
            }
            return Field(width: w, height: h, values: v)
        }
    }

    /// How a filter reads past the edge, named as SciPy's `ndimage` modes (for a row a b c d).
    public enum Border: Sendable {
        /// Zeros (`constant`, cval 0): scikit-video's MSCN.
        case zero
        /// d c b a | a b c d (`reflect`, MATLAB's `symmetric`).
        case reflect
        /// d c b | a b c d (`mirror`, OpenCV's default `BORDER_REFLECT_101`).
        case mirror
        /// a a a | a b c d (`nearest`, MATLAB's `replicate`).
        case nearest

        /// The index read for `i` on an axis of `n` samples, or nil for a zero.
        @inlinable public func index(_ i: Int, _ n: Int) -> Int? {
            if i >= 0 && i < n { return i }
            switch self {
            case .zero: return nil
            case .nearest: return i < 0 ? 0 : n - 1
            case .reflect, .mirror:
                if n == 1 { return 0 }
                let odd = self == .mirror
                let period = odd ? 2 * n - 2 : 2 * n
                var j = i % period
                if j < 0 { j += period }
                if j >= n { j = odd ? period - j : period - 1 - j }
                return j
            }
        }
    }

    /// scikit-video's window, `gen_gauss_window(3, 7/6)`, as NumPy 2.3 computes it: its float32 `exp` gives
    /// exp(−2/σ²) one ulp below the correctly rounded value that ``gaussianWindow(radius:sigma:)`` gives, and
    /// that ulp matters: on flat areas the sign of I − μ (which side of the AGGD a zero-contrast sample falls
    /// on) follows the window's sum, and a frame of flat 8-px blocks reads NIQE 59.38 with these weights, 53.12
    /// with the correctly rounded ones. So the peer's weights are pinned here, bit for bit.
    public static let scikitVideoWindow: [Double] = {
        let half: [Float] = [0x1.5edaccp-2, 0x1.e5fb7ep-3, 0x1.42e11cp-4, 0x1.9b9296p-7]
        return (half.reversed() + half.dropFirst()).map(Double.init)
    }()

    /// A Gaussian window as scikit-video's `gen_gauss_window(radius, sigma)` makes it: weights exp(−k²/2σ²) for
    /// |k| ≤ radius, normalised to sum 1, in `Float` (σ is a float32; the weights are then widened), `exp`
    /// correctly rounded (see ``scikitVideoWindow`` for NumPy's own).
    public static func gaussianWindow(radius: Int = 3, sigma: Double = 7.0 / 6.0) -> [Double] {
        precondition(radius >= 0 && sigma > 0, "a Gaussian window has a radius ≥ 0 and σ > 0")
        let sd = Float(sigma) * Float(sigma)
        var w = [Float](repeating: 0, count: 2 * radius + 1)
        w[radius] = 1
        var sum: Float = 1
        if radius > 0 {
            for k in 1...radius {
                let t = Float(exp(Double(Float(-0.5) * Float(k * k) / sd)))
                w[radius + k] = t
                w[radius - k] = t
                sum += 2 * t
            }
        }
        return w.map { Double($0 / sum) }
    }

    /// One pass of a symmetric odd window along x (`horizontal`) or y, as SciPy's `correlate1d` computes it for
    /// a symmetric kernel (`ni_filters.c`): w₀·v₀, then + (v₋ₖ + v₊ₖ)·w_k from the outermost k in, in `Double`,
    /// stored as `Float`.
    public static func filter(_ f: Field, window: [Double], horizontal: Bool, border: Border = .zero) -> Field {
        precondition(window.count % 2 == 1, "the window has odd length")
        let r = window.count / 2, w = f.width, h = f.height
        var out = [Float](repeating: 0, count: w * h)
        var acc = [Double](repeating: 0, count: w)
        f.values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                acc.withUnsafeMutableBufferPointer { a in
                    let s = src.baseAddress!, a = a.baseAddress!
                    if horizontal {
                        for y in 0..<h {
                            let row = s + y * w, o = dst.baseAddress! + y * w
                            // interior: all taps inside the row
                            let lo = min(r, w), hi = max(lo, w - r)
                            for x in lo..<hi {
                                var t = window[r] * Double(row[x])
                                var k = r
                                while k >= 1 {
                                    t += (Double(row[x - k]) + Double(row[x + k])) * window[r + k]
                                    k -= 1
                                }
                                o[x] = Float(t)
                            }
                            for x in Array(0..<lo) + Array(hi..<w) {
                                var t = window[r] * Double(row[x])
                                if r > 0 {
                                    for k in (1...r).reversed() {
                                        let left = border.index(x - k, w).map { Double(row[$0]) } ?? 0
                                        let right = border.index(x + k, w).map { Double(row[$0]) } ?? 0
                                        t += (left + right) * window[r + k]
                                    }
                                }
                                o[x] = Float(t)
                            }
                        }
                    } else {
                        for y in 0..<h {
                            let c = s + y * w
                            let w0 = window[r]
                            for x in 0..<w { a[x] = w0 * Double(c[x]) }
                            if r > 0 {
                                for k in (1...r).reversed() {
                                    let wk = window[r + k]
                                    let up = border.index(y - k, h).map { s + $0 * w }
                                    let down = border.index(y + k, h).map { s + $0 * w }
                                    switch (up, down) {
                                    case let (u?, d?):
                                        for x in 0..<w { a[x] += (Double(u[x]) + Double(d[x])) * wk }
                                    case let (u?, nil):
                                        for x in 0..<w { a[x] += Double(u[x]) * wk }
                                    case let (nil, d?):
                                        for x in 0..<w { a[x] += Double(d[x]) * wk }
                                    case (nil, nil):
                                        break
                                    }
                                }
                            }
                            let o = dst.baseAddress! + y * w
                            for x in 0..<w { o[x] = Float(a[x]) }
                        }
                    }
                }
            }
        }
        return Field(width: w, height: h, values: out)
    }

    /// The MSCN transform and the local statistics it divides by.
    public struct MSCN: Sendable {
        /// (I − μ) / (σ + C).
        public var coefficients: Field
        /// The local weighted mean μ.
        public var mean: Field
        /// The local weighted deviation σ = √|E[I²] − μ²|.
        public var deviation: Field
    }

    /// Mean-subtracted contrast-normalised coefficients (scikit-video's `compute_image_mscn_transform`): μ and
    /// E[I²] by the separable window, down the columns then along the rows, each pass stored as `Float`;
    /// σ = √|E[I²] − μ²| and (I − μ)/(σ + C) in `Float`.
    public static func mscn(_ image: Field, window: [Double] = scikitVideoWindow, c: Float = 1, border: Border = .zero) -> MSCN {
        let mu = filter(filter(image, window: window, horizontal: false, border: border), window: window, horizontal: true, border: border)
        var squares = image
        squares.values.withUnsafeMutableBufferPointer { v in
            for i in 0..<v.count { v[i] = v[i] * v[i] }
        }
        let e2 = filter(filter(squares, window: window, horizontal: false, border: border), window: window, horizontal: true, border: border)
        let n = image.values.count
        var sigma = [Float](repeating: 0, count: n), coef = [Float](repeating: 0, count: n)
        image.values.withUnsafeBufferPointer { im in
            mu.values.withUnsafeBufferPointer { m in
                e2.values.withUnsafeBufferPointer { q in
                    sigma.withUnsafeMutableBufferPointer { s in
                        coef.withUnsafeMutableBufferPointer { o in
                            for i in 0..<n {
                                let sd = (q[i] - m[i] * m[i]).magnitude.squareRoot()
                                s[i] = sd
                                o[i] = (im[i] - m[i]) / (sd + c)
                            }
                        }
                    }
                }
            }
        }
        return MSCN(coefficients: Field(width: image.width, height: image.height, values: coef), mean: mu,
                    deviation: Field(width: image.width, height: image.height, values: sigma))
    }

    /// The shapes α a moment-matching fit searches, and the ratio ρ(α) = Γ(2/α)² / (Γ(1/α)Γ(3/α)) at each.
    /// scikit-video's grid is `np.arange(0.2, 10, 0.001)`: α_i = 0.2 + 0.001·i for i < ⌈(10 − 0.2)/0.001⌉.
    public struct ShapeGrid: Sendable {
        public let alphas: [Double]
        public let ratios: [Double]

        public init(start: Double, stop: Double, step: Double) {
            precondition(step > 0 && stop > start, "a shape grid runs up from start by step")
            let n = Int(((stop - start) / step).rounded(.up))
            alphas = (0..<n).map { start + Double($0) * step }
            ratios = alphas.map { a in
                let g2 = tgamma(2 / a)
                return (g2 * g2) / (tgamma(1 / a) * tgamma(3 / a))
            }
        }

        /// scikit-video 1.1.11's grid.
        public static let scikitVideo = ShapeGrid(start: 0.2, stop: 10, step: 0.001)

        /// The first α whose ρ(α) is nearest `target` by (ρ − target)² (NumPy's `argmin` over the grid); the
        /// first α when the target is not a number, as `argmin` returns the first NaN.
        func nearest(ratio target: Double) -> Double {
            nearest(target, increasing: true, key: { $0 }) { let d = $0 - target; return d * d }
        }

        /// The first α whose 1/ρ(α) is nearest `target` by |1/ρ − target|.
        func nearest(reciprocal target: Double) -> Double {
            nearest(target, increasing: false, key: { 1 / $0 }) { (1 / $0 - target).magnitude }
        }

        /// ρ(α) rises with α, so the distance to a target falls then rises along the grid: a binary search
        /// finds where the target sits, and the first least distance is among the few points around it, read
        /// in index order as `argmin` reads them (checked against the full scan in `NaturalSceneTests`). This
        /// takes the fits from a 9,800-point scan each to about 20 comparisons.
        private func nearest(_ target: Double, increasing: Bool, key: (Double) -> Double, distance: (Double) -> Double) -> Double {
            guard !target.isNaN else { return alphas[0] }
            var lo = 0, hi = ratios.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let v = key(ratios[mid])
                if increasing ? v < target : v > target { lo = mid + 1 } else { hi = mid }
            }
            var best = max(0, lo - 3), bestD = distance(ratios[best])
            for i in (best + 1)..<min(ratios.count, lo + 4) {
                let d = distance(ratios[i])
                if d < bestD { bestD = d; best = i }
            }
            // An infinite least distance (an infinite target) is every point's: `argmin` returns the first.
            return bestD.isFinite ? alphas[best] : alphas[0]
        }

        /// The same by a scan of the whole grid (the reference the binary search is tested against).
        public func scan(ratio target: Double) -> Double {
            var best = 0, bestD = Double.infinity
            for i in ratios.indices {
                let d = (ratios[i] - target) * (ratios[i] - target)
                if d.isNaN { return alphas[i] }
                if d < bestD { bestD = d; best = i }
            }
            return alphas[best]
        }

        /// The first α whose ρ(α) is nearest `target` (the AGGD's search), public for the fits' callers.
        public func alpha(ratio target: Double) -> Double { nearest(ratio: target) }

        /// The first α whose 1/ρ(α) is nearest `target` (the GGD's search).
        public func alpha(reciprocal target: Double) -> Double { nearest(reciprocal: target) }
    }

    /// A zero-mean generalised Gaussian's shape α and variance σ².
    public struct GGD: Sendable, Equatable {
        public var alpha: Double
        public var variance: Double
    }

    /// The GGD fit by moment matching (scikit-video's `ggd_features`): σ² the sample variance (about the
    /// sample mean when `centred`, about 0 otherwise, as BRISQUE's MATLAB code), E|x| the mean magnitude, and
    /// α the grid point whose 1/ρ(α) is nearest σ²/E|x|².
    public static func ggd<C: Collection>(_ x: C, grid: ShapeGrid = .scikitVideo, centred: Bool = true) -> GGD where C.Element == Float {
        if let fit = x.withContiguousStorageIfAvailable({ ggd(buffer: $0, grid: grid, centred: centred) }) { return fit }
        return Array(x).withUnsafeBufferPointer { ggd(buffer: $0, grid: grid, centred: centred) }
    }

    /// ``ggd(_:grid:centred:)`` on contiguous samples.
    static func ggd(buffer x: UnsafeBufferPointer<Float>, grid: ShapeGrid, centred: Bool) -> GGD {
        var s = 0.0, sa = 0.0
        for v in x { s += Double(v); sa += Double(v).magnitude }
        let n = Double(x.count)
        let mean = centred ? s / n : 0
        var s2 = 0.0
        for v in x { let d = Double(v) - mean; s2 += d * d }
        let variance = s2 / n
        let e = sa / n
        return GGD(alpha: grid.nearest(reciprocal: variance / (e * e)), variance: variance)
    }

    /// An asymmetric generalised Gaussian's shape α, mean η, left and right scales β_l, β_r, and the left and
    /// right root mean squares σ_l, σ_r they come from.
    public struct AGGD: Sendable, Equatable {
        public var alpha: Double
        public var mean: Double
        public var leftScale: Double
        public var rightScale: Double
        public var leftDeviation: Double
        public var rightDeviation: Double
    }

    /// How the fits sum their moments.
    public enum Moments: Sendable {
        /// As NumPy computes scikit-video's expressions on float32 arrays: each mean a float32 pairwise sum
        /// (``pairwiseSum(_:_:)``) over a float32 count, the AGGD's ratios in float32 as NumPy 2's scalar rules
        /// give them. A fit's α jumps by a grid step where its moment ratio sits on a boundary, so matching the
        /// peer's roundings keeps NIQE's per-frame values within 1e-7 of scikit-video's (its float32 output), not ~1e-3.
        case numpyFloat32
        /// Sums in Double (the mathematically closer value; the GGD always sums so).
        case double
    }

    /// NumPy's float32 `add.reduce` over a contiguous array (`pairwise_sum_FLOAT`, numpy/_core/src/umath/
    /// loops_utils.h.src): below 8 values, in order from 0; up to 128, eight interleaved partial sums combined as
    /// ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the rest in order; above, the two halves (the
    /// first rounded down to a multiple of 8) summed so and added.
    public static func pairwiseSum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        if n < 8 {
            var r: Float = 0
            for i in 0..<n { r += a[i] }
            return r
        }
        if n <= 128 {
            var r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7]
            var i = 8
            let end = n - n % 8
            while i < end {
                r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3]
                r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7]
                i += 8
            }
            var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            while i < n { res += a[i]; i += 1 }
            return res
        }
        var n2 = n / 2
        n2 -= n2 % 8
        return pairwiseSum(a, n2) + pairwiseSum(a + n2, n - n2)
    }

    /// NumPy's `np.mean` of a float32 array: the pairwise sum over the count, in float32.
    static func numpyMean(_ a: [Float]) -> Float {
        a.withUnsafeBufferPointer { pairwiseSum($0.baseAddress!, $0.count) } / Float(a.count)
    }

    /// The AGGD fit by moment matching (scikit-video's `aggd_features`): σ_l, σ_r the root mean squares of the
    /// negative and of the non-negative samples (0 when there are none), γ̂ = σ_l/σ_r, r̂ = E|x|²/E[x²],
    /// R̂ = r̂(γ̂³ + 1)(γ̂ + 1)/(γ̂² + 1)², α the grid point whose ρ(α) is nearest R̂; then
    /// β = σ·√(Γ(1/α)/Γ(3/α)) on each side and η = (β_r − β_l)·Γ(2/α)/Γ(1/α). With `.numpyFloat32` (the
    /// default) σ_l, σ_r, γ̂, r̂ and R̂ are float32 as scikit-video's NumPy 2 code makes them: (γ̂³ + 1) and
    /// (γ̂² + 1)² in Double (`math.pow`), each product and quotient with a float32 rounded to float32.
    public static func aggd<C: Collection>(_ x: C, grid: ShapeGrid = .scikitVideo, moments: Moments = .numpyFloat32) -> AGGD
    where C.Element == Float {
        if let fit = x.withContiguousStorageIfAvailable({ aggd(buffer: $0, grid: grid, moments: moments) }) { return fit }
        return Array(x).withUnsafeBufferPointer { aggd(buffer: $0, grid: grid, moments: moments) }
    }

    /// ``aggd(_:grid:moments:)`` on contiguous samples (the loops specialised, no generic iteration).
    static func aggd(buffer x: UnsafeBufferPointer<Float>, grid: ShapeGrid, moments: Moments) -> AGGD {
        let sl: Double, sr: Double, norm: Double
        switch moments {
        case .double:
            var left = 0.0, right = 0.0, nl = 0, nr = 0, sa = 0.0
            for v in x {
                let d = Double(v), q = d * d
                if v < 0 { left += q; nl += 1 } else if v >= 0 { right += q; nr += 1 }
                sa += d.magnitude
            }
            let n = Double(x.count)
            sl = nl > 0 ? (left / Double(nl)).squareRoot() : 0
            sr = nr > 0 ? (right / Double(nr)).squareRoot() : 0
            let gamma = sr != 0 ? sl / sr : .infinity
            let m2 = (left + right) / n, m1 = sa / n
            let rhat = m2 != 0 ? m1 * m1 / m2 : .infinity
            norm = rhat * ((pow(gamma, 3) + 1) * (gamma + 1)) / pow(pow(gamma, 2) + 1, 2)
        case .numpyFloat32:
            let n = x.count
            var squares = [Float](repeating: 0, count: n), magnitudes = squares
            var left = squares, right = squares
            var nl = 0, nr = 0
            squares.withUnsafeMutableBufferPointer { q in
                magnitudes.withUnsafeMutableBufferPointer { m in
                    left.withUnsafeMutableBufferPointer { l in
                        right.withUnsafeMutableBufferPointer { r in
                            var i = 0
                            for v in x {
                                let sq = v * v
                                q[i] = sq
                                m[i] = v.magnitude
                                if v < 0 { l[nl] = sq; nl += 1 } else if v >= 0 { r[nr] = sq; nr += 1 }
                                i += 1
                            }
                        }
                    }
                }
            }
            left.removeLast(n - nl)
            right.removeLast(n - nr)
            let l: Float = left.isEmpty ? 0 : numpyMean(left).squareRoot()
            let r: Float = right.isEmpty ? 0 : numpyMean(right).squareRoot()
            sl = Double(l); sr = Double(r)
            let m2 = numpyMean(squares), m1 = numpyMean(magnitudes)
            if r != 0 && m2 != 0 {
                let g = l / r
                let gd = Double(g)
                let a = Float(pow(gd, 3) + 1) * (g + 1)
                let b = a / Float(pow(pow(gd, 2) + 1, 2))
                let rhat = (m1 * m1) / m2
                norm = Double(rhat * b)
            } else {
                norm = .nan  // γ̂ or r̂ infinite: NumPy's R̂ is inf·…/inf, not a number
            }
        }
        let alpha = grid.nearest(ratio: norm)
        let g1 = tgamma(1 / alpha), g2 = tgamma(2 / alpha), g3 = tgamma(3 / alpha)
        let ratio = g1.squareRoot() / g3.squareRoot()
        let bl = ratio * sl, br = ratio * sr
        return AGGD(alpha: alpha, mean: (br - bl) * (g2 / g1), leftScale: bl, rightScale: br, leftDeviation: sl, rightDeviation: sr)
    }

    /// The neighbour a paired product pairs each coefficient with.
    public enum Neighbour: Sendable, CaseIterable {
        /// (x − 1, y): scikit-video's `shift1`, `np.roll(m, 1, axis=1)`.
        case left
        /// (x, y − 1): `shift2`.
        case above
        /// (x − 1, y − 1): `shift3`.
        case aboveLeft
        /// (x + 1, y − 1): `shift4`.
        case aboveRight

        var offset: (dx: Int, dy: Int) {
            switch self {
            case .left: (-1, 0)
            case .above: (0, -1)
            case .aboveLeft: (-1, -1)
            case .aboveRight: (1, -1)
            }
        }
    }

    /// What a paired product does at the field's edge.
    public enum PairEdge: Sendable {
        /// The neighbour wraps around (`np.roll`, MATLAB's `circshift`): as many products as coefficients.
        case wrap
        /// Only pairs whose neighbour is inside: (W − |dx|)·(H − |dy|) products.
        case inside
    }

    /// The products m(x, y)·m(x + dx, y + dy) with one neighbour, row-major, in `Float`.
    public static func pairedProduct(_ m: Field, _ neighbour: Neighbour, edge: PairEdge = .wrap) -> [Float] {
        let (dx, dy) = neighbour.offset
        let w = m.width, h = m.height
        let ys = edge == .wrap ? 0..<h : max(0, -dy)..<min(h, h - dy)
        let xs = edge == .wrap ? 0..<w : max(0, -dx)..<min(w, w - dx)
        // Columns whose neighbour lies inside the row; with `.wrap` the others read around the edge.
        let lo = max(0, -dx), hi = min(w, w - dx)
        let count = ys.count * xs.count
        return m.values.withUnsafeBufferPointer { v in
            [Float](unsafeUninitializedCapacity: count) { out, initialised in
                var k = 0
                for y in ys {
                    let ny = ((y + dy) % h + h) % h
                    let row = v.baseAddress! + y * w, nrow = v.baseAddress! + ny * w
                    if edge == .wrap {
                        for x in 0..<lo { out[k] = row[x] * nrow[((x + dx) % w + w) % w]; k += 1 }
                    }
                    let o = out.baseAddress! + k - lo
                    for x in lo..<hi { o[x] = row[x] * nrow[x + dx] }
                    k += hi - lo
                    if edge == .wrap {
                        for x in hi..<w { out[k] = row[x] * nrow[((x + dx) % w + w) % w]; k += 1 }
                    }
                }
                initialised = k
            }
        }
    }
}

// MARK: - BRISQUE's variant (PyPI `brisque` 0.2.0): Double throughout, zero border, α solved

extension NaturalScene {
    /// MSCN coefficients in `Double`, exactly as the `brisque` package computes them with SciPy 1.17
    /// (`calculate_mscn_coefficients` on a float64 image): μ = `convolve2d(I, K, 'same')` and
    /// E[I²] = `convolve2d(I², K, 'same')` with zeros past the edge, σ = √|μ² − E[I²]|, (I − μ)/(σ + C).
    ///
    /// Bit for bit, because BRISQUE's fits split the coefficients by sign, and on a flat region (a flat band,
    /// a letterbox) every coefficient is 0 in exact arithmetic and ±1e-17 in floating point: which side each
    /// lands on moves the score by whole points. So the window `kernel` (n × n, row-major) must be the peer's
    /// own values, and each sum is SciPy's: output (x, y) = Σ_j Σ_k K[j][k]·I[y + r − j][x + r − k] (a
    /// convolution, r = n/2), over kernel rows j in order, each row's terms k = 0…3 added together first
    /// and then k = 4, 5, 6 one by one (its compiled `DOUBLE_onemultadd` reassociates four at a time; for
    /// n = 7). Terms past the edge are +0, which adds nothing.
    public static func mscnExact(_ image: [Double], width w: Int, height h: Int, kernel: [Double], c: Double = 1.0 / 255.0) -> [Double] {
        precondition(image.count == w * h && kernel.count == 49, "an image of width × height samples and a 7 × 7 window")
        let r = 3, pw = w + 2 * r
        // Each row zero-padded by r on both sides, for I and I².
        var padded = [Double](repeating: 0, count: pw * h), paddedSquares = [Double](repeating: 0, count: pw * h)
        var mean = [Double](repeating: 0, count: w * h), square = [Double](repeating: 0, count: w * h)
        image.withUnsafeBufferPointer { s in
            padded.withUnsafeMutableBufferPointer { p in
                paddedSquares.withUnsafeMutableBufferPointer { q in
                    for y in 0..<h {
                        for x in 0..<w {
                            let v = s[y * w + x]
                            p[y * pw + x + r] = v
                            q[y * pw + x + r] = v * v
                        }
                    }
                }
            }
        }
        func convolve(_ src: UnsafeBufferPointer<Double>, into dst: UnsafeMutableBufferPointer<Double>) {
            for y in 0..<h {
                let o = dst.baseAddress! + y * w
                for j in 0..<7 {
                    let sy = y + r - j
                    guard sy >= 0 && sy < h else { continue }
                    // Input column x + r − k sits at padded index x + 2r − k.
                    let row = src.baseAddress! + sy * pw + 2 * r
                    let k0 = kernel[j * 7], k1 = kernel[j * 7 + 1], k2 = kernel[j * 7 + 2], k3 = kernel[j * 7 + 3]
                    let k4 = kernel[j * 7 + 4], k5 = kernel[j * 7 + 5], k6 = kernel[j * 7 + 6]
                    for x in 0..<w {
                        let a = row + x
                        let t = ((k0 * a[0] + k1 * a[-1]) + k2 * a[-2]) + k3 * a[-3]
                        var acc = o[x] + t
                        acc += k4 * a[-4]
                        acc += k5 * a[-5]
                        acc += k6 * a[-6]
                        o[x] = acc
                    }
                }
            }
        }
        padded.withUnsafeBufferPointer { p in mean.withUnsafeMutableBufferPointer { convolve(p, into: $0) } }
        paddedSquares.withUnsafeBufferPointer { p in square.withUnsafeMutableBufferPointer { convolve(p, into: $0) } }
        var out = [Double](repeating: 0, count: w * h)
        for i in 0..<(w * h) {
            let mu = mean[i]
            out[i] = (image[i] - mu) / ((mu * mu - square[i]).magnitude.squareRoot() + c)
        }
        return out
    }

    /// The sums an AGGD moment fit reads: Σx² and the count of the negative samples, of the non-negative ones,
    /// and Σ|x| of all.
    public struct AGGDMoments: Sendable, Equatable {
        public var negativeSquares = 0.0, negatives = 0
        public var positiveSquares = 0.0, positives = 0
        public var magnitudes = 0.0

        public init() {}

        /// The moments of a sequence of samples.
        public init<S: Sequence>(_ x: S) where S.Element == Double {
            for v in x { add(v) }
        }

        @inlinable public mutating func add(_ v: Double) {
            if v < 0 { negativeSquares += v * v; negatives += 1 } else { positiveSquares += v * v; positives += 1 }
            magnitudes += v.magnitude
        }

        /// The moments of the paired products of a field (row-major, `width × height`) with its right, lower,
        /// lower-right and lower-left neighbour, pairs inside the field only: the `brisque` package's
        /// `horizontal`, `vertical`, `main_diagonal` and `secondary_diagonal`, in that order.
        public static func pairs(_ m: [Double], width w: Int, height h: Int) -> [AGGDMoments] {
            precondition(m.count == w * h, "a field of width × height samples")
            var out = [AGGDMoments](repeating: AGGDMoments(), count: 4)
            m.withUnsafeBufferPointer { p in
                let b = p.baseAddress!
                for y in 0..<h {
                    let row = b + y * w
                    for x in 0..<(w - 1) { out[0].add(row[x] * row[x + 1]) }
                    guard y + 1 < h else { continue }
                    let next = row + w
                    for x in 0..<w { out[1].add(row[x] * next[x]) }
                    for x in 0..<(w - 1) { out[2].add(row[x] * next[x + 1]) }
                    for x in 0..<(w - 1) { out[3].add(next[x] * row[x + 1]) }
                }
            }
            return out
        }
    }

    /// ρ(α) = Γ(2/α)² / (Γ(1/α)Γ(3/α)), by log-gamma: increasing from 0 (α → 0) to 3/4 (α → ∞).
    public static func shapeRatio(_ alpha: Double) -> Double {
        exp(2 * lgamma(2 / alpha) - lgamma(1 / alpha) - lgamma(3 / alpha))
    }

    /// The AGGD fit with α solved (the `brisque` package's `asymmetric_generalized_gaussian_fit`): σ_l, σ_r the
    /// root mean squares of the negative and of the non-negative samples, γ̂ = σ_l/σ_r, r̂ = E|x|²/E[x²],
    /// R̂ = r̂(γ̂³ + 1)(γ̂ + 1)/(γ̂² + 1)², α the root of ρ(α) = R̂ (bisection on log α over 0.01…1000 to the last
    /// bit, where the package runs `scipy.optimize.root` from 0.2), η = (σ_r − σ_l)·√(Γ(1/α)/Γ(3/α))·Γ(2/α)/Γ(1/α),
    /// β_l,r = σ_l,r·√(Γ(1/α)/Γ(3/α)). Nil when a side has no sample or R̂ has no root in that range.
    public static func aggdSolved(_ m: AGGDMoments) -> AGGD? {
        guard m.negatives > 0, m.positives > 0 else { return nil }
        let n = Double(m.negatives + m.positives)
        let sl = (m.negativeSquares / Double(m.negatives)).squareRoot(), sr = (m.positiveSquares / Double(m.positives)).squareRoot()
        guard sr > 0 else { return nil }
        let e1 = m.magnitudes / n, e2 = (m.negativeSquares + m.positiveSquares) / n
        let rhat = (e1 * e1) / e2
        let g = sl / sr
        let target = rhat * ((g * g * g + 1) * (g + 1)) / ((g * g + 1) * (g * g + 1))
        var lo = log(0.01), hi = log(1000.0)
        guard target.isFinite, shapeRatio(exp(lo)) < target, target < shapeRatio(exp(hi)) else { return nil }
        while true {
            let mid = (lo + hi) / 2
            if mid <= lo || mid >= hi { break }
            if shapeRatio(exp(mid)) < target { lo = mid } else { hi = mid }
        }
        let alpha = exp((lo + hi) / 2)
        let g1 = tgamma(1 / alpha), g2 = tgamma(2 / alpha), g3 = tgamma(3 / alpha)
        let constant = (g1 / g3).squareRoot()
        return AGGD(alpha: alpha, mean: (sr - sl) * constant * (g2 / g1), leftScale: constant * sl, rightScale: constant * sr,
                    leftDeviation: sl, rightDeviation: sr)
    }
}
