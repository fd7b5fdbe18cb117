/// PyTorch's `F.interpolate` for `mode='bilinear'` and `mode='bicubic'` with `align_corners=False` and
/// `antialias=False`, on float32 images, computed as ATen's CPU kernels compute it
/// (`aten/src/ATen/native/UpSample.h`, `aten/src/ATen/native/cpu/UpSampleKernel.cpp`, PyTorch 2.13).
///
/// The two axes are separate (`InterpolationAxis`): for each output position a fixed number of input indices
/// and weights, precomputed once per (input size, output size, scale) and applied first along the columns, then
/// along the rows, as ATen's nested `Interpolate<2>` evaluates them (each row tap's column sum, times the row
/// weight, summed over the row taps in order). Per axis, in float32 as ATen's `opmath_t` for float:
///
/// - scale: `Float(1.0 / scaleFactor)` when a scale factor is given (`recompute_scale_factor` None: the factor
///   itself, not in/out, maps the coordinates), else `Float(in) / Float(out)`;
/// - bilinear: `src = max(0, scale · (dst + 0.5) − 0.5)`, `i0 = min(⌊src⌋, in − 1)`,
///   `λ1 = clamp(src − i0, 0, 1)`, `i1 = i0 + 1` (or `i0` at the last input), weights `1 − λ1`, `λ1`; an axis whose
///   output size equals its input size is copied (ATen's special case in `compute_source_index_and_lambda`);
/// - bicubic: `src = scale · (dst + 0.5) − 0.5`, not clamped, `i = min(⌊src⌋, in − 1)`, `t = clamp(src − i, 0, 1)`,
///   taps `i − 1 … i + 2` each clamped to `0 … in − 1`, Keys' kernel with A = −0.75:
///   `w(d) = ((A + 2)d − (A + 3))d² + 1` for |d| ≤ 1, `((Ad − 5A)d + 8A)d − 4A` for 1 < |d| < 2, at d = t + 1, t,
///   1 − t, 2 − t.
///
/// `scale · (dst + 0.5) − 0.5` is rounded once (a fused multiply-add), as PyTorch's CPU build contracts it; rounded
/// twice, a weight of 1280 → 398 moves by 6e-5.
///
/// With a scale factor the output size is `⌊in · scaleFactor⌋` in Double (ATen's `compute_output_size`), so DINO's
/// `scale_factor = (H/16 + 0.1) / 14` gives H/16 rows.
///
/// Values are not clamped (a bicubic overshoot stays). Against PyTorch 2.13 CPU on the fixtures of
/// `scripts/gallopcheck/preprocess_fixtures.py`, results agree to float32 rounding of the sums (a few ulp of the
/// largest input; the tests allow 1e-5 · max(1, |ref|∞)). Known answer (PyTorch's): 2 → 4 of [0, 1] gives
/// [0, 0.25, 0.75, 1] bilinear and [−0.10546875, 0.2265625, 0.7734375, 1.10546875] bicubic.
public enum Interpolation: Sendable, Equatable {
    case bilinear
    case bicubic

    /// Input samples per output sample along one axis.
    public var taps: Int { self == .bilinear ? 2 : 4 }
}

/// One axis of an interpolation: for each output position `taps` input indices (already clamped to the input)
/// and their weights, output-major (`index[o * taps + k]`).
public struct InterpolationAxis: Sendable, Equatable {
    public let mode: Interpolation
    public let inputSize: Int
    public let outputSize: Int
    public let taps: Int
    public let index: [Int32]
    public let weight: [Float]

    /// The taps ATen computes for this axis; `scaleFactor` as given to `F.interpolate` (nil when a size is given).
    public init(_ mode: Interpolation, inputSize: Int, outputSize: Int, scaleFactor: Double? = nil) {
        guard inputSize > 0, outputSize > 0, inputSize <= Int(Int32.max) else {
            fatalError("InterpolationAxis: sizes \(inputSize) → \(outputSize) must be positive")
        }
        self.mode = mode
        self.inputSize = inputSize
        self.outputSize = outputSize
        taps = mode.taps
        let scale: Float
        if let scaleFactor, scaleFactor > 0 {
            scale = Float(1.0 / scaleFactor)
        } else {
            scale = Float(inputSize) / Float(outputSize)
        }
        var index = [Int32](repeating: 0, count: outputSize * taps)
        var weight = [Float](repeating: 0, count: outputSize * taps)
        let last = inputSize - 1
        for o in 0..<outputSize {
            // One rounding (fused), as ATen's CPU build contracts `scale * (dst + 0.5) - 0.5`: at 1280 → 398 a
            // separately rounded product moves a bilinear weight by 6e-5.
            let src = Float(-0.5).addingProduct(scale, Float(o) + 0.5)
            switch mode {
            case .bilinear:
                if outputSize == inputSize {
                    index[2 * o] = Int32(o)
                    index[2 * o + 1] = Int32(o)
                    weight[2 * o] = 1
                    weight[2 * o + 1] = 0
                    continue
                }
                let s = src < 0 ? 0 : src
                let i0 = min(Int(s.rounded(.down)), last)
                let l1 = min(max(s - Float(i0), 0), 1)
                index[2 * o] = Int32(i0)
                index[2 * o + 1] = Int32(i0 + (i0 < last ? 1 : 0))
                weight[2 * o] = 1 - l1
                weight[2 * o + 1] = l1
            case .bicubic:
                let i = min(Int(src.rounded(.down)), last)
                let t = min(max(src - Float(i), 0), 1)
                let c = Self.cubicCoefficients(t)
                for k in 0..<4 {
                    index[4 * o + k] = Int32(min(max(i + k - 1, 0), last))
                    weight[4 * o + k] = c[k]
                }
            }
        }
        self.index = index
        self.weight = weight
    }

    /// An axis from its parts (a slice of another, or the identity).
    init(mode: Interpolation, inputSize: Int, outputSize: Int, taps: Int, index: [Int32], weight: [Float]) {
        self.mode = mode
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.taps = taps
        self.index = index
        self.weight = weight
    }

    /// The output positions `range` of this axis only: cropping its result to `range` without computing the rest.
    public func slice(_ range: Range<Int>) -> InterpolationAxis {
        guard range.lowerBound >= 0, range.upperBound <= outputSize, !range.isEmpty else {
            fatalError("InterpolationAxis.slice: \(range) is not inside 0..<\(outputSize)")
        }
        let taps = range.lowerBound * self.taps..<range.upperBound * self.taps
        return InterpolationAxis(mode: mode, inputSize: inputSize, outputSize: range.count, taps: self.taps,
                                 index: Array(index[taps]), weight: Array(weight[taps]))
    }

    /// Each input position unchanged: one tap of weight 1 (an image Resize leaves as it is).
    public static func identity(_ size: Int) -> InterpolationAxis {
        InterpolationAxis(mode: .bilinear, inputSize: size, outputSize: size, taps: 1,
                          index: (0..<size).map { Int32($0) }, weight: [Float](repeating: 1, count: size))
    }

    /// Keys' cubic convolution weights (A = −0.75) of the four taps around a point at fraction `t` past the
    /// second, as ATen's `get_cubic_upsample_coefficients`, its polynomials with fused multiply-adds (within
    /// 1.2e-7 of PyTorch's weights; separately rounded products give up to 4.8e-7).
    static func cubicCoefficients(_ t: Float) -> [Float] {
        let a: Float = -0.75
        func near(_ x: Float) -> Float { Float(1).addingProduct((-(a + 3)).addingProduct(a + 2, x) * x, x) }
        func far(_ x: Float) -> Float { (-4 * a).addingProduct((8 * a).addingProduct((-5 * a).addingProduct(a, x), x), x) }
        let u = 1 - t
        return [far(t + 1), near(t), near(u), far(u + 1)]
    }
}

public enum Interpolate {
    /// How an image's values are laid out: `channelsFirst` is C × H × W (PyTorch's contiguous NCHW for one image),
    /// `channelsLast` is H × W × C (a grid of feature vectors, such as a ViT's position embeddings).
    public enum Layout: Sendable {
        case channelsFirst
        case channelsLast
    }

    /// The output size `F.interpolate` gives for a scale factor (recompute_scale_factor None): ⌊in · factor⌋.
    public static func outputSize(inputSize: Int, scaleFactor: Double) -> Int {
        Int((Double(inputSize) * scaleFactor).rounded(.towardZero))
    }

    /// `F.interpolate(x, size=(height, width), mode=…, align_corners=False)` of one image.
    public static func resize(_ input: [Float], channels: Int, height: Int, width: Int, layout: Layout = .channelsFirst,
                              _ mode: Interpolation, size: (height: Int, width: Int)) -> [Float] {
        resize(input, channels: channels, layout: layout,
               rows: InterpolationAxis(mode, inputSize: height, outputSize: size.height),
               columns: InterpolationAxis(mode, inputSize: width, outputSize: size.width))
    }

    /// `F.interpolate(x, scale_factor=(h, w), mode=…, align_corners=False)` of one image: output size
    /// ⌊in · factor⌋ per axis, coordinates mapped by 1 / factor.
    public static func resize(_ input: [Float], channels: Int, height: Int, width: Int, layout: Layout = .channelsFirst,
                              _ mode: Interpolation, scaleFactor: (height: Double, width: Double)) -> [Float] {
        let outH = outputSize(inputSize: height, scaleFactor: scaleFactor.height)
        let outW = outputSize(inputSize: width, scaleFactor: scaleFactor.width)
        return resize(input, channels: channels, layout: layout,
                      rows: InterpolationAxis(mode, inputSize: height, outputSize: outH, scaleFactor: scaleFactor.height),
                      columns: InterpolationAxis(mode, inputSize: width, outputSize: outW, scaleFactor: scaleFactor.width))
    }

    /// One image through precomputed axes: `rows` maps its height, `columns` its width.
    public static func resize(_ input: [Float], channels: Int, layout: Layout = .channelsFirst,
                              rows: InterpolationAxis, columns: InterpolationAxis) -> [Float] {
        let count = channels * rows.outputSize * columns.outputSize
        guard channels > 0, input.count == channels * rows.inputSize * columns.inputSize else {
            fatalError("Interpolate.resize: \(input.count) values for \(channels) × \(rows.inputSize) × \(columns.inputSize)")
        }
        var output = [Float](repeating: 0, count: count)
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                resize(src.baseAddress!, channels: channels, layout: layout, rows: rows, columns: columns, into: dst.baseAddress!)
            }
        }
        return output
    }

    /// The kernel: columns first into a scratch of the needed input rows at output width, then rows.
    static func resize(_ src: UnsafePointer<Float>, channels: Int, layout: Layout, rows: InterpolationAxis,
                       columns: InterpolationAxis, into dst: UnsafeMutablePointer<Float>) {
        let inH = rows.inputSize, inW = columns.inputSize, outH = rows.outputSize, outW = columns.outputSize
        var needed = [Bool](repeating: false, count: inH)
        for i in rows.index { needed[Int(i)] = true }
        // Scratch: every input row at output width (rows never read stay unset), same layout as the image.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: channels * inH * outW)
        defer { scratch.deallocate() }
        let tx = columns.taps, ty = rows.taps
        columns.index.withUnsafeBufferPointer { cIndex in
            columns.weight.withUnsafeBufferPointer { cWeight in
                switch layout {
                case .channelsFirst:
                    for c in 0..<channels {
                        for y in 0..<inH where needed[y] {
                            let row = src + (c * inH + y) * inW, out = scratch + (c * inH + y) * outW
                            for o in 0..<outW {
                                var acc = row[Int(cIndex[o * tx])] * cWeight[o * tx]
                                for k in 1..<tx { acc += row[Int(cIndex[o * tx + k])] * cWeight[o * tx + k] }
                                out[o] = acc
                            }
                        }
                    }
                case .channelsLast:
                    for y in 0..<inH where needed[y] {
                        let row = src + y * inW * channels, out = scratch + y * outW * channels
                        for o in 0..<outW {
                            let px = out + o * channels
                            let p0 = row + Int(cIndex[o * tx]) * channels, w0 = cWeight[o * tx]
                            for c in 0..<channels { px[c] = p0[c] * w0 }
                            for k in 1..<tx {
                                let p = row + Int(cIndex[o * tx + k]) * channels, w = cWeight[o * tx + k]
                                for c in 0..<channels { px[c] += p[c] * w }
                            }
                        }
                    }
                }
            }
        }
        // Rows: each output row is a weighted sum of whole scratch rows (contiguous, vectorised).
        let planes = layout == .channelsFirst ? channels : 1
        let rowLength = layout == .channelsFirst ? outW : outW * channels
        for p in 0..<planes {
            let plane = scratch + p * inH * rowLength, outPlane = dst + p * outH * rowLength
            for o in 0..<outH {
                let out = outPlane + o * rowLength
                let r0 = plane + Int(rows.index[o * ty]) * rowLength, w0 = rows.weight[o * ty]
                for x in 0..<rowLength { out[x] = r0[x] * w0 }
                for k in 1..<ty {
                    let r = plane + Int(rows.index[o * ty + k]) * rowLength, w = rows.weight[o * ty + k]
                    for x in 0..<rowLength { out[x] += r[x] * w }
                }
            }
        }
    }
}
