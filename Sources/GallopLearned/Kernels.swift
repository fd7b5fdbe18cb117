/// The encoders' element-wise and row kernels: layer norm, softmax, exp, erf, GELU, QuickGELU, bias and
/// residual adds. Everything that is not a matrix product (those go through `BLAS.sgemm`).
///
/// The transcendental functions work on eight floats at a time (`SIMD8<Float>`, one AVX2 register; the
/// compiler splits it into two SSE registers on the baseline), without fused multiply-adds, so a debug and a
/// release build give the same bits. Their accuracy is measured against Double references on a grid over
/// −20…20 (`KernelsTests`); each function's bound is stated in its comment. They match PyTorch's own float
/// arithmetic to within those bounds, not bit for bit: PyTorch's CPU kernels use their own approximations
/// (its vectorised `erf` is Abramowitz & Stegun 7.1.26, |error| ≤ 1.5e-7), and the fidelity targets
/// (feature cosine ≥ 0.999999 on the test models) leave room for that.
public enum Kernels {
    // MARK: - exp

    /// Splits of ln 2 for the range reduction (Cephes' `expf`): `ln2Hi` has 9 significant bits, so n · ln2Hi
    /// is exact for |n| ≤ 2¹⁵ and x − n · ln2Hi loses nothing.
    private static let ln2Hi: Float = 0.693359375
    private static let ln2Lo: Float = -2.12194440e-4
    private static let log2e: Float = 1.44269504088896341

    /// e^(a + b) for eight lanes, where b is a small correction to a (|b| ≪ 1, or 0): the reduction
    /// subtracts n · ln 2 from a alone, so a's rounding is not amplified. Cephes' degree-6 polynomial on
    /// |r| ≤ ln2/2 (relative error below 2⁻²⁴ in exact arithmetic), scaled by 2ⁿ through the exponent bits.
    /// Results below float's normal range (a + b < −87.33) are 0, above it (> 88.72) +∞.
    @inline(__always)
    static func exp8(_ a: SIMD8<Float>, _ b: SIMD8<Float> = .zero) -> SIMD8<Float> {
        let x = a + b
        var clamped = x
        clamped.replace(with: -87.33, where: x .< -87.33)
        clamped.replace(with: 88.75, where: x .> 88.75)
        // Round to the nearest integer (ties to even) by adding and removing 1.5 · 2²³: exact for |v| < 2²²,
        // and a plain vector add where `rounded(_:)` on SIMD types may not be.
        let magic = SIMD8<Float>(repeating: 12582912)
        let n = (clamped * log2e + magic) - magic
        let r = (a - n * ln2Hi) + b - n * ln2Lo
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * (r * r) + r + 1
        // 2ⁿ through the exponent bits; n = 128 (x near 88.7, still finite or just overflowing) as 2¹²⁷ · 2.
        let top = n .> 127
        // n + 127 ∈ [1, 255] sits in the low bits of 1.5 · 2²³ + n + 127; shifting by 23 drops the rest.
        let biased = n.replacing(with: 127, where: top) + (12582912 + 127)
        let exponent = unsafeBitCast(biased, to: SIMD8<Int32>.self) &<< 23
        var result = y * unsafeBitCast(exponent, to: SIMD8<Float>.self)
        result.replace(with: result * 2, where: top)
        result.replace(with: .infinity, where: x .> 88.75)
        result.replace(with: 0, where: x .< -87.33)
        result.replace(with: x, where: x .!= x)
        return result
    }

    /// `values[i] = exp(values[i])`. Relative error ≤ 1.5e-7 against `Foundation.exp` in Double for inputs in
    /// −20…20 (measured: `KernelsTests.testExp`); 0 below −87.33 and +∞ above 88.72, where float's normal range
    /// ends; NaN stays NaN.
    public static func exp(_ values: UnsafeMutableBufferPointer<Float>) {
        map(values) { exp8($0) }
    }

    // MARK: - erf, GELU, QuickGELU

    /// erfc(z) for z = |x|/√2, eight lanes, by Numerical
    /// Recipes' `erfcc` (a Chebyshev fit with fractional error below 1.2e-7 for every z ≥ 0). z² = x²/2 enters
    /// the exponential as an exact two-float sum (Dekker's product), so erfc's relative accuracy holds in the
    /// tail too (an exponent of −z² rounded to float would cost z² · 2⁻²⁴ relative).
    @inline(__always)
    private static func erfcScaled(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let ax: SIMD8<Float> = x.replacing(with: -x, where: x .< 0)
        let z = ax * 0.70710678118654752
        let t: SIMD8<Float> = 1 / (1 + 0.5 * z)
        var q = SIMD8<Float>(repeating: 0.17087277)
        q = q * t - 0.82215223
        q = q * t + 1.48851587
        q = q * t - 1.13520398
        q = q * t + 0.27886807
        q = q * t - 0.18628806
        q = q * t + 0.09678418
        q = q * t + 0.37409196
        q = q * t + 1.00002368
        q = q * t - 1.26551223
        // x² = hi + lo exactly (Dekker: split x into two 12-bit halves).
        let c = ax * 4097
        let xh = c - (c - ax), xl = ax - xh
        let hi = ax * ax
        let lo: SIMD8<Float> = ((xh * xh - hi) + 2 * xh * xl) + xl * xl
        // −z² = −hi/2 − lo/2, both halvings exact.
        let e: SIMD8<Float> = exp8(-0.5 * hi, q - 0.5 * lo)
        return t * e
    }

    /// The standard normal CDF Φ(x) = erfc(−x/√2)/2 for eight lanes: for x < 0 from erfc directly (relative
    /// accuracy in the lower tail, where 1 + erf would cancel), for x ≥ 0 as 1 − erfc(x/√2)/2.
    @inline(__always)
    static func phi8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let lower = 0.5 * erfcScaled(x)
        return lower.replacing(with: 1 - lower, where: x .>= 0)
    }

    /// erf(x) for eight lanes (from the same erfc: erf = 1 − erfc for x ≥ 0, erfc − 1 below).
    @inline(__always)
    static func erf8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let c = erfcScaled(x * 1.41421356237309505)
        let positive = 1 - c
        return positive.replacing(with: c - 1, where: x .< 0)
    }

    /// `values[i] = erf(values[i])`. Absolute error ≤ 2e-7 on −20…20 against Foundation's Double `erf`
    /// (`KernelsTests.testErf`); erf's own relative accuracy near 0 is not needed by GELU, which uses Φ.
    public static func erf(_ values: UnsafeMutableBufferPointer<Float>) {
        map(values) { erf8($0) }
    }

    /// Exact (erf) GELU, PyTorch's `nn.GELU()` default: x · Φ(x) = x · (1 + erf(x/√2)) / 2, in place.
    /// Relative error against the Double formula ≤ 3e-7 for x ≥ 0 and ≤ 4e-7 for −10 ≤ x < 0 (the lower
    /// tail: Φ's fit, 1.2e-7, plus the float arithmetic of its ten-term polynomial and exponential), measured
    /// on −20…20 (`KernelsTests.testGELU`); below −10 the result is under 1e-22, within 1e-6 relative of it
    /// until float's normal range ends, then 0. (PyTorch's own CPU GELU, with its 1.5e-7 absolute error in
    /// erf, is off by far more there: 1 + erf cancels.)
    public static func gelu(_ values: UnsafeMutableBufferPointer<Float>) {
        map(values) { $0 * phi8($0) }
    }

    /// QuickGELU, OpenAI CLIP's activation: x · σ(1.702 · x) = x / (1 + e^(−1.702x)), in place. The product
    /// 1.702 · x is rounded to float as PyTorch rounds it (the constant is float32's 1.702), which alone moves
    /// the result by up to |1.702x| · 2⁻²⁴ relative in the negative tail; beyond that the error is ≤ 2e-7
    /// relative (`KernelsTests.testQuickGELU`, Double reference with the same float32 constant and product).
    public static func quickGELU(_ values: UnsafeMutableBufferPointer<Float>) {
        map(values) { x in
            let e = exp8(-(x * 1.702))
            return x / (1 + e)
        }
    }

    // MARK: - Rows

    /// Layer normalisation of each `width`-long row of `input` into `output` (the same buffer is allowed):
    /// y = (x − mean) / √(var + eps) · gamma + beta, with the biased variance as PyTorch's `nn.LayerNorm`.
    /// Mean and variance are accumulated in Double (two passes), so a row's offset does not cost precision;
    /// the result is within 2e-7 · (|x̂ · gamma| + |beta|) + 1e-7 · |gamma| per element of a Double
    /// computation (`KernelsTests.testLayerNorm`).
    public static func layerNorm(_ input: UnsafeBufferPointer<Float>, rows: Int, width: Int,
                                 gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>, eps: Float,
                                 into output: UnsafeMutableBufferPointer<Float>) {
        precondition(input.count >= rows * width && output.count >= rows * width && gamma.count == width && beta.count == width,
                     "layerNorm: buffers too small for \(rows) × \(width)")
        let x = input.baseAddress!, y = output.baseAddress!, g = gamma.baseAddress!, b = beta.baseAddress!
        for row in 0..<rows {
            let xr = x + row * width, yr = y + row * width
            var sum = 0.0
            for j in 0..<width { sum += Double(xr[j]) }
            let mean = sum / Double(width)
            var squares = 0.0
            for j in 0..<width { let d = Double(xr[j]) - mean; squares += d * d }
            let inverse = 1 / (squares / Double(width) + Double(eps)).squareRoot()
            let s = Float(inverse)
            for j in 0..<width { yr[j] = Float(Double(xr[j]) - mean) * s * g[j] + b[j] }
        }
    }

    /// Softmax of each row in place: the first `length` entries of each of `rows` rows starting `stride`
    /// apart (entries past `length` are left alone). The row's maximum is subtracted first, so no exp
    /// overflows; the exponentials are summed in eight float lanes (as PyTorch's vectorised kernel sums),
    /// the lanes and the tail in Double. Relative error ≤ 4e-7 per entry of a Double softmax
    /// (`KernelsTests.testSoftmax`). `scale` multiplies the inputs first (attention's 1/√d folded in).
    public static func softmaxRows(_ values: UnsafeMutableBufferPointer<Float>, rows: Int, length: Int, stride: Int, scale: Float = 1) {
        precondition(length >= 1 && stride >= length && (rows == 0 || values.count >= (rows - 1) * stride + length),
                     "softmaxRows: buffer too small for \(rows) rows of \(length) at stride \(stride)")
        let base = values.baseAddress!
        for row in 0..<rows {
            let r = base + row * stride
            var peaks = SIMD8<Float>(repeating: -.infinity)
            var j = 0
            while j + 8 <= length {
                let v = UnsafeRawPointer(r + j).loadUnaligned(as: SIMD8<Float>.self)
                peaks.replace(with: v, where: v .> peaks)
                j += 8
            }
            var peak = peaks.max()
            while j < length { peak = max(peak, r[j]); j += 1 }
            let row = UnsafeMutableBufferPointer(start: r, count: length)
            let shift = peak * scale
            var sum = 0.0
            map(row) { exp8($0 * scale - shift) }
            var partial = SIMD8<Float>.zero
            j = 0
            while j + 8 <= length {
                partial += UnsafeRawPointer(r + j).loadUnaligned(as: SIMD8<Float>.self)
                j += 8
            }
            sum = Double(partial.sum())
            while j < length { sum += Double(r[j]); j += 1 }
            let inverse = Float(1 / sum)
            for j in 0..<length { r[j] *= inverse }
        }
    }

    /// Adds `bias` (length `width`) to each of `rows` rows of `values`.
    public static func addBias(_ values: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int, bias: UnsafeBufferPointer<Float>) {
        precondition(values.count >= rows * width && bias.count == width, "addBias: buffers too small for \(rows) × \(width)")
        let v = values.baseAddress!, b = bias.baseAddress!
        for row in 0..<rows {
            let r = v + row * width
            for j in 0..<width { r[j] += b[j] }
        }
    }

    /// Fills each of `rows` rows of `values` with `bias` (a product's output before `sgemm` adds into it with
    /// beta = 1: the bias is then fused into the product).
    public static func fillRows(_ values: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int, with bias: UnsafeBufferPointer<Float>) {
        precondition(values.count >= rows * width && bias.count == width, "fillRows: buffers too small for \(rows) × \(width)")
        let v = values.baseAddress!
        for row in 0..<rows {
            (v + row * width).update(from: bias.baseAddress!, count: width)
        }
    }

    /// `values[i] += other[i]` (the residual connections).
    public static func add(_ values: UnsafeMutableBufferPointer<Float>, _ other: UnsafeBufferPointer<Float>) {
        precondition(other.count >= values.count, "add: the second buffer is shorter")
        let v = values.baseAddress!, o = other.baseAddress!
        for i in 0..<values.count { v[i] += o[i] }
    }

    // MARK: - Helpers

    /// Applies `body` to the values eight at a time; the last partial group is padded with zeros.
    @inline(__always)
    static func map(_ values: UnsafeMutableBufferPointer<Float>, _ body: (SIMD8<Float>) -> SIMD8<Float>) {
        guard let base = values.baseAddress else { return }
        let n = values.count
        var i = 0
        while i + 8 <= n {
            let raw = UnsafeMutableRawPointer(base + i)
            raw.storeBytes(of: body(raw.loadUnaligned(as: SIMD8<Float>.self)), as: SIMD8<Float>.self)
            i += 8
        }
        if i < n {
            var tail = SIMD8<Float>.zero
            for k in 0..<(n - i) { tail[k] = base[i + k] }
            let out = body(tail)
            for k in 0..<(n - i) { base[i + k] = out[k] }
        }
    }
}
