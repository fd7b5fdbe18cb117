import GallopCore

/// VBench 0.1.5's frame preprocessing for its learned dimensions, from a Gallop ``Frame`` to the normalised
/// channels-first float image an encoder takes (3 × height × width, row-major per channel).
///
/// VBench's `load_video` hands the transforms float32 0…255 (never rounded back to 8 bits), and both transforms
/// are torchvision's on tensors (vbench/utils.py 33-54):
///
/// - `dino` (`dino_transform(224)`, subject_consistency): `Resize(224, antialias=False)`, bilinear: the short side
///   becomes 224 and the long side `int(224 · long / short)`, truncated (1280 × 720 → 398 × 224, 720 × 1280 →
///   224 × 398); an image already at that size is left as it is. No crop. Then `/ 255` and ImageNet's
///   `Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))`.
/// - `clip` (`clip_transform(224)`, background_consistency, aesthetic_quality, clip_score): the same Resize but
///   bicubic (Keys, A = −0.75; a float image is not clamped, so overshoot below 0 or above 255 stays), then
///   `CenterCrop(224)` at `top = round((H − 224) / 2)`, `left = round((W − 224) / 2)` with Python's half-to-even
///   `round` (a margin of 175 gives 88, one of 173 gives 86), then `/ 255` and CLIP's `Normalize((0.48145466,
///   0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))`.
///
/// The resize is ``Interpolate``'s (PyTorch's `F.interpolate`, align_corners False, no antialias: downscaling
/// samples, so a 720-line frame's aliasing is part of VBench's number), its taps precomputed once per frame size;
/// the crop restricts the taps to the kept rows and columns, so nothing outside it is computed. Per frame: the
/// 8-bit rows the row taps read are turned into float sums at the output width (columns first, as ATen), then each
/// output row is the weighted sum of those, divided by 255, less the mean, over the deviation, in float32 in
/// torchvision's order. A frame's RGB is its packed `rgb` plane (3 or 4 bytes a pixel), or its luma and 4:2:0
/// chroma through `rgbFromYUV` (libswscale's exact conversion, the same bytes the reader would have packed).
///
/// Against torchvision 0.28 and PyTorch 2.13 CPU (Fixtures/learned/preprocess.json) every value is within 1e-5
/// after normalisation.
public struct Preprocessor: Sendable {
    /// Which of VBench's transforms.
    public enum Kind: String, Sendable, CaseIterable {
        case dino
        case clip

        var interpolation: Interpolation { self == .dino ? .bilinear : .bicubic }
        var mean: (Float, Float, Float) { self == .dino ? (0.485, 0.456, 0.406) : (0.48145466, 0.4578275, 0.40821073) }
        var deviation: (Float, Float, Float) { self == .dino ? (0.229, 0.224, 0.225) : (0.26862954, 0.26130258, 0.27577711) }
    }

    public let kind: Kind
    /// The transform's size (224 in VBench): the resized short side, and the crop's side for `clip`.
    public let size: Int
    public let inputHeight: Int
    public let inputWidth: Int
    /// The image the encoder gets: the resized size for `dino`, size × size for `clip`.
    public let outputHeight: Int
    public let outputWidth: Int
    let rows: InterpolationAxis
    let columns: InterpolationAxis

    /// The preprocessing of frames `height` × `width` (rows × columns).
    public init(_ kind: Kind, size: Int = 224, height: Int, width: Int) {
        guard size > 0, height > 0, width > 0 else {
            fatalError("Preprocessor: size \(size) for a \(width) × \(height) frame")
        }
        self.kind = kind
        self.size = size
        inputHeight = height
        inputWidth = width
        let resized = Self.resizedSize(height: height, width: width, size: size)
        func axis(_ input: Int, _ output: Int) -> InterpolationAxis {
            // torchvision's Resize returns the image itself when it is already at the size.
            resized.height == height && resized.width == width
                ? .identity(input) : InterpolationAxis(kind.interpolation, inputSize: input, outputSize: output)
        }
        var rows = axis(height, resized.height), columns = axis(width, resized.width)
        if kind == .clip {
            let top = Self.centerCropOffset(resized.height, size), left = Self.centerCropOffset(resized.width, size)
            rows = rows.slice(top..<(top + size))
            columns = columns.slice(left..<(left + size))
        }
        self.rows = rows
        self.columns = columns
        outputHeight = rows.outputSize
        outputWidth = columns.outputSize
    }

    /// torchvision's Resize to `size` on the short side (`_compute_resized_output_size`): the long side is
    /// `int(size · long / short)`, Python's true division then truncation.
    public static func resizedSize(height: Int, width: Int, size: Int) -> (height: Int, width: Int) {
        let short = min(height, width), long = max(height, width)
        let newLong = Int((Double(size * long) / Double(short)).rounded(.towardZero))
        return width <= height ? (newLong, size) : (size, newLong)
    }

    /// torchvision's centre-crop offset `int(round((length − crop) / 2.0))`: halves round to even.
    public static func centerCropOffset(_ length: Int, _ crop: Int) -> Int {
        Int((Double(length - crop) / 2).rounded(.toNearestOrEven))
    }

    /// Floats in one preprocessed frame: 3 × outputHeight × outputWidth.
    public var count: Int { 3 * outputHeight * outputWidth }

    /// The preprocessed frame, channels first.
    public func callAsFunction(_ frame: Frame) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            write(frame, into: buffer)
            initialized = count
        }
    }

    /// Writes the preprocessed frame into `output` (`count` floats, e.g. one image's slot in a batch).
    public func write(_ frame: Frame, into output: UnsafeMutableBufferPointer<Float>) {
        guard frame.luma.width == inputWidth, frame.luma.height == inputHeight else {
            fatalError("Preprocessor: a \(frame.luma.width) × \(frame.luma.height) frame given to the \(inputWidth) × \(inputHeight) preprocessing")
        }
        if let rgb = frame.rgb {
            write(rgb: rgb, into: output)
        } else if let conversion = frame.rgbFromYUV, let chroma = frame.chroma {
            // Each needed row to R, G and B planes with the conversion's own luma and chroma terms (as
            // `YUVToRGB.rgb(y:u:v:)` combines them): chroma terms once per chroma row, at luma width, then a plain
            // per-pixel loop in 16-bit lanes.
            let width = inputWidth, doubled = 2 * ((width + 1) / 2)
            let planes = UnsafeMutablePointer<UInt8>.allocate(capacity: 3 * width)
            let terms = UnsafeMutablePointer<Int16>.allocate(capacity: 3 * doubled)
            defer {
                planes.deallocate()
                terms.deallocate()
            }
            let red = planes, green = planes + width, blue = green + width
            let termR = terms, termG = terms + doubled, termB = termG + doubled
            var termsRow = -1
            run(pixelStride: 1, output: output) { y in
                if y >> 1 != termsRow {
                    termsRow = y >> 1
                    let u = chroma.cb.row(termsRow), v = chroma.cr.row(termsRow)
                    for x in 0..<(doubled / 2) {
                        let t = conversion.chroma(u: u[x], v: v[x])
                        termR[2 * x] = t.r; termR[2 * x + 1] = t.r
                        termG[2 * x] = t.g; termG[2 * x + 1] = t.g
                        termB[2 * x] = t.b; termB[2 * x + 1] = t.b
                    }
                }
                Self.yuvRow(conversion, frame.luma.row(y), termR, termG, termB, red, green, blue, width)
                return (UnsafePointer(red), UnsafePointer(green), UnsafePointer(blue))
            }
        } else {
            fatalError("Preprocessor: frame \(frame.index) has no RGB (neither `rgb` nor `rgbFromYUV`): the pass must ask the reader for colour")
        }
    }

    /// One row's R, G and B from its luma and the chroma terms at luma width: `saturate(y' + term)`, as
    /// `YUVToRGB.rgb(y:u:v:)`.
    private static func yuvRow(_ m: YUVToRGB, _ luma: UnsafePointer<UInt8>, _ termR: UnsafePointer<Int16>,
                               _ termG: UnsafePointer<Int16>, _ termB: UnsafePointer<Int16>, _ red: UnsafeMutablePointer<UInt8>,
                               _ green: UnsafeMutablePointer<UInt8>, _ blue: UnsafeMutablePointer<UInt8>, _ width: Int) {
        for x in 0..<width {
            let l = m.luma(luma[x])
            red[x] = UInt8(truncatingIfNeeded: YUVToRGB.saturate(l &+ termR[x]))
            green[x] = UInt8(truncatingIfNeeded: YUVToRGB.saturate(l &+ termG[x]))
            blue[x] = UInt8(truncatingIfNeeded: YUVToRGB.saturate(l &+ termB[x]))
        }
    }

    /// Writes the preprocessing of a packed RGB plane (3 bytes a pixel, or 4 with padding) into `output`.
    public func write(rgb: Plane, into output: UnsafeMutableBufferPointer<Float>) {
        guard rgb.width == inputWidth, rgb.height == inputHeight, rgb.channels == 3 || rgb.channels == 4 else {
            fatalError("Preprocessor: a \(rgb.width) × \(rgb.height) plane of \(rgb.channels) channels given to the \(inputWidth) × \(inputHeight) RGB preprocessing")
        }
        run(pixelStride: rgb.channels, output: output) { y in
            let row = rgb.row(y)
            return (row, row + 1, row + 2)
        }
    }

    /// The resize and normalisation, given each needed input row (in increasing order) as its 8-bit R, G and B
    /// samples, `pixelStride` bytes from one pixel to the next (packed, or planes with stride 1).
    private func run(pixelStride: Int, output: UnsafeMutableBufferPointer<Float>,
                     row: (Int) -> (UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>)) {
        guard output.count >= count else {
            fatalError("Preprocessor: \(output.count) floats of output for a \(count)-float image")
        }
        let outH = outputHeight, outW = outputWidth
        // The input rows the row taps read, each given a slot in the scratch (3 planes of slots × outW floats).
        var slot = [Int](repeating: -1, count: inputHeight)
        for i in rows.index { slot[Int(i)] = 0 }
        var slots = 0
        for y in 0..<inputHeight where slot[y] == 0 {
            slot[y] = slots
            slots += 1
        }
        let plane = slots * outW
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * plane)
        defer { scratch.deallocate() }
        let tx = columns.taps, ty = rows.taps
        columns.index.withUnsafeBufferPointer { cIndex in
            columns.weight.withUnsafeBufferPointer { cWeight in
                for y in 0..<inputHeight where slot[y] >= 0 {
                    let (pr, pg, pb) = row(y)
                    let r = scratch + slot[y] * outW, g = r + plane, b = g + plane
                    for o in 0..<outW {
                        let i0 = Int(cIndex[o * tx]) * pixelStride, w0 = cWeight[o * tx]
                        var sr = Float(pr[i0]) * w0, sg = Float(pg[i0]) * w0, sb = Float(pb[i0]) * w0
                        for k in 1..<tx {
                            let i = Int(cIndex[o * tx + k]) * pixelStride, w = cWeight[o * tx + k]
                            sr += Float(pr[i]) * w
                            sg += Float(pg[i]) * w
                            sb += Float(pb[i]) * w
                        }
                        r[o] = sr
                        g[o] = sg
                        b[o] = sb
                    }
                }
            }
        }
        let mean = [kind.mean.0, kind.mean.1, kind.mean.2], deviation = [kind.deviation.0, kind.deviation.1, kind.deviation.2]
        let dst = output.baseAddress!
        for c in 0..<3 {
            let source = scratch + c * plane, m = mean[c], s = deviation[c]
            for o in 0..<outH {
                let out = dst + (c * outH + o) * outW
                let r0 = source + slot[Int(rows.index[o * ty])] * outW, w0 = rows.weight[o * ty]
                for x in 0..<outW { out[x] = r0[x] * w0 }
                for k in 1..<ty {
                    let r = source + slot[Int(rows.index[o * ty + k])] * outW, w = rows.weight[o * ty + k]
                    for x in 0..<outW { out[x] += r[x] * w }
                }
                for x in 0..<outW { out[x] = (out[x] / 255 - m) / s }
            }
        }
    }
}
