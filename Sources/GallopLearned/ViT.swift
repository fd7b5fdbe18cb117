import Foundation

/// The weights an encoder reads, at stable addresses for the encoder's life: F32 tensors mapped in place
/// (their file stays mapped while the store holds them), converted ones (F16, BF16, HF's concatenated q/k/v)
/// moved into buffers the store owns.
final class ParameterStore: @unchecked Sendable {
    private var tensors: [Tensor] = []
    private var owned: [UnsafeMutableBufferPointer<Float>] = []

    /// `@unchecked Sendable`: filled during the encoder's `init`, read-only afterwards.
    func add(_ tensor: Tensor) -> UnsafeBufferPointer<Float> {
        if tensor.isMapped {
            tensors.append(tensor)
            return tensor.withUnsafeBufferPointer { $0 }
        }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: tensor.count)
        _ = tensor.withUnsafeBufferPointer { buffer.initialize(from: $0) }
        owned.append(buffer)
        return UnsafeBufferPointer(buffer)
    }

    deinit { owned.forEach { $0.deallocate() } }
}

/// One pre-norm transformer block's weights: `x + attn(ln1(x))`, then `x + mlp(ln2(x))`. Linear weights are
/// stored out × in as `nn.Linear` keeps them and enter the products transposed (no copy).
struct BlockWeights {
    var ln1w, ln1b, qkvW, qkvB, outW, outB, ln2w, ln2b, fc1W, fc1B, fc2W, fc2B: UnsafeBufferPointer<Float>
}

/// A stack of pre-norm transformer blocks, shared by the ViT and CLIP's text encoder.
///
/// Sequences of equal length run together: the linear layers see all their tokens as one matrix (M =
/// sequences × tokens rows), one `sgemm` each, the bias fused (the output filled with the bias rows, then
/// `beta = 1`) and the residual fused (the attention's output projection and the MLP's second layer add into
/// the residual stream with `beta = 1`, their bias added after). Attention runs per sequence and head on
/// the fused q|k|v activations in place: Q·Kᵀ reads the head's columns through the leading dimension 3W,
/// scaled by head_dim^-½ in the same product, softmax per row (only the first i + 1 entries of row i under a
/// causal mask, the rest set to 0), then the probabilities times V into the head's columns of the output.
final class TransformerStack: @unchecked Sendable {
    let shape: StackShape
    let blocks: [BlockWeights]

    init(_ model: LoadedModel, prefix: String, shape: StackShape, store: ParameterStore) throws {
        self.shape = shape
        blocks = try (0..<shape.depth).map { i in
            func w(_ key: String) throws -> UnsafeBufferPointer<Float> { store.add(try model.tensor("\(prefix)L\(i).\(key)")) }
            return BlockWeights(ln1w: try w("ln1.w"), ln1b: try w("ln1.b"), qkvW: try w("qkv.w"), qkvB: try w("qkv.b"),
                                outW: try w("out.w"), outB: try w("out.b"), ln2w: try w("ln2.w"), ln2b: try w("ln2.b"),
                                fc1W: try w("fc1.w"), fc1B: try w("fc1.b"), fc2W: try w("fc2.w"), fc2B: try w("fc2.b"))
        }
    }

    /// Runs every block on `x`: `sequences` × `tokens` rows of width W, in place.
    func run(_ x: UnsafeMutableBufferPointer<Float>, sequences: Int, tokens: Int, causal: Bool) {
        let w = shape.width, rows = sequences * tokens, heads = shape.heads, dh = w / heads
        precondition(x.count == rows * w)
        let h = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows * w)
        let qkv = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows * 3 * w)
        let attention = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows * w)
        let hidden = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows * shape.mlp)
        let scores = UnsafeMutableBufferPointer<Float>.allocate(capacity: tokens * tokens)
        defer { [h, qkv, attention, hidden, scores].forEach { $0.deallocate() } }
        let scale = Float(1 / Double(dh).squareRoot())
        for block in blocks {
            Kernels.layerNorm(UnsafeBufferPointer(x), rows: rows, width: w, gamma: block.ln1w, beta: block.ln1b, eps: shape.eps, into: h)
            Kernels.fillRows(qkv, rows: rows, width: 3 * w, with: block.qkvB)
            BLAS.sgemm(.none, .transposed, m: rows, n: 3 * w, k: w, a: UnsafeBufferPointer(h), lda: w, b: block.qkvW, ldb: w,
                       beta: 1, c: qkv, ldc: 3 * w)
            let q = UnsafeBufferPointer(qkv)
            for s in 0..<sequences {
                let base = s * tokens * 3 * w
                for head in 0..<heads {
                    BLAS.sgemm(.none, .transposed, m: tokens, n: tokens, k: dh, alpha: scale,
                               a: UnsafeBufferPointer(rebasing: q[(base + head * dh)...]), lda: 3 * w,
                               b: UnsafeBufferPointer(rebasing: q[(base + w + head * dh)...]), ldb: 3 * w,
                               c: scores, ldc: tokens)
                    if causal {
                        for i in 0..<tokens {
                            let row = UnsafeMutableBufferPointer(rebasing: scores[(i * tokens)..<((i + 1) * tokens)])
                            Kernels.softmaxRows(row, rows: 1, length: i + 1, stride: tokens)
                            for j in (i + 1)..<max(i + 1, tokens) { row[j] = 0 }
                        }
                    } else {
                        Kernels.softmaxRows(scores, rows: tokens, length: tokens, stride: tokens)
                    }
                    BLAS.sgemm(.none, .none, m: tokens, n: dh, k: tokens, a: UnsafeBufferPointer(scores), lda: tokens,
                               b: UnsafeBufferPointer(rebasing: q[(base + 2 * w + head * dh)...]), ldb: 3 * w,
                               c: UnsafeMutableBufferPointer(rebasing: attention[(s * tokens * w + head * dh)...]), ldc: w)
                }
            }
            BLAS.sgemm(.none, .transposed, m: rows, n: w, k: w, a: UnsafeBufferPointer(attention), lda: w, b: block.outW, ldb: w,
                       beta: 1, c: x, ldc: w)
            Kernels.addBias(x, rows: rows, width: w, bias: block.outB)
            Kernels.layerNorm(UnsafeBufferPointer(x), rows: rows, width: w, gamma: block.ln2w, beta: block.ln2b, eps: shape.eps, into: h)
            Kernels.fillRows(hidden, rows: rows, width: shape.mlp, with: block.fc1B)
            BLAS.sgemm(.none, .transposed, m: rows, n: shape.mlp, k: w, a: UnsafeBufferPointer(h), lda: w, b: block.fc1W, ldb: w,
                       beta: 1, c: hidden, ldc: shape.mlp)
            switch shape.activation {
            case .gelu: Kernels.gelu(hidden)
            case .quickGELU: Kernels.quickGELU(hidden)
            }
            BLAS.sgemm(.none, .transposed, m: rows, n: w, k: shape.mlp, a: UnsafeBufferPointer(hidden), lda: shape.mlp, b: block.fc2W,
                       ldb: shape.mlp, beta: 1, c: x, ldc: w)
            Kernels.addBias(x, rows: rows, width: w, bias: block.fc2B)
        }
    }
}

/// A vision transformer, DINO's or CLIP's flavour (one code path; the architecture's flags choose):
///
/// - DINO (facebookresearch/dino `VisionTransformer`, timm's and HF's ViT): patch convolution with bias,
///   class token and positions added, no pre-norm, blocks with ε 1e-6 (or the config's) and exact GELU, the
///   final norm on the class row, which is the feature. When the image is not the trained square, the
///   positions are interpolated as DINO does (`interpolatedPositions`).
/// - CLIP (OpenAI, open_clip, HF): patch convolution without bias, `ln_pre`, blocks with ε 1e-5 and QuickGELU
///   (or GELU where the config says), `ln_post` on the class row, then the projection (open_clip's (W, D)
///   multiplied as stored, HF's (D, W) transposed). CLIP never interpolates: the image must be the trained size.
///
/// The patch convolution (stride = kernel = P) is a product: each image's patches gathered into rows of
/// 3·P·P values (channel, row, column: the weight's own order), times the weight (W × 3P²) transposed. A
/// right or bottom remainder smaller than a patch is dropped, as the strided convolution drops it.
/// Several images of one size are encoded together (see `TransformerStack`).
public final class VisionEncoder: @unchecked Sendable {
    public let architecture: VisionArchitecture
    public let path: String
    private let store: ParameterStore
    private let patchW: UnsafeBufferPointer<Float>
    private let patchB: UnsafeBufferPointer<Float>?
    private let cls, pos: UnsafeBufferPointer<Float>
    private let preW, preB: UnsafeBufferPointer<Float>?
    private let finalW, finalB: UnsafeBufferPointer<Float>
    /// The projection and whether it is stored (W, D) (open_clip) rather than (D, W) (HF).
    private let projection: (UnsafeBufferPointer<Float>, storedWD: Bool)?
    private let stack: TransformerStack

    /// The model's image encoder; an error when it has none (an aesthetic head).
    public init(_ model: LoadedModel) throws {
        guard let v = model.architecture.vision else {
            throw ModelError(path: model.files.weights, reason: "the model (\(model.architecture.layout.label)) has no image encoder")
        }
        architecture = v
        path = model.files.weights
        let store = ParameterStore()
        self.store = store
        func w(_ role: String) throws -> UnsafeBufferPointer<Float> { store.add(try model.tensor(role)) }
        patchW = try w("patch.w")
        patchB = v.patchBias ? try w("patch.b") : nil
        cls = try w("cls")
        pos = try w("pos")
        preW = v.lnPre ? try w("pre.w") : nil
        preB = v.lnPre ? try w("pre.b") : nil
        finalW = try w("final.w")
        finalB = try w("final.b")
        projection = v.projection == nil ? nil : (try w("proj"), model.architecture.layout == .openCLIP)
        stack = try TransformerStack(model, prefix: "", shape: v.stack, store: store)
    }

    /// The output dimension: the projection's for CLIP, the width for DINO.
    public var outputDimension: Int { architecture.projection ?? architecture.stack.width }

    /// Encodes `count` images of `height` × `width` (each 3 × H × W floats, channel-major, already
    /// normalised) into `count` × `outputDimension` features (not L2-normalised).
    public func encode(_ pixels: UnsafeBufferPointer<Float>, count: Int, height: Int, width: Int) throws -> [Float] {
        let p = architecture.patch, w = architecture.stack.width
        guard pixels.count == count * 3 * height * width else {
            throw ModelError(path: path, reason: "\(pixels.count) pixel values for \(count) images of 3 × \(height) × \(width)")
        }
        let gh = height / p, gw = width / p
        guard gh >= 1 && gw >= 1 else {
            throw ModelError(path: path, reason: "an image of \(height) × \(width) is smaller than one \(p) × \(p) patch")
        }
        let positions: [Float]
        if architecture.projection == nil {
            positions = interpolatedPositions(height: height, width: width)
        } else {
            guard gh == architecture.grid && gw == architecture.grid else {
                throw ModelError(path: path, reason: "CLIP's encoder takes \(architecture.grid * p) × \(architecture.grid * p) images (it does not interpolate its positions); got \(height) × \(width)")
            }
            positions = Array(pos)
        }
        let patches = gh * gw, tokens = patches + 1, k = 3 * p * p
        let x = UnsafeMutableBufferPointer<Float>.allocate(capacity: count * tokens * w)
        let columns = UnsafeMutableBufferPointer<Float>.allocate(capacity: patches * k)
        defer { x.deallocate(); columns.deallocate() }
        for n in 0..<count {
            let image = pixels.baseAddress! + n * 3 * height * width
            for gy in 0..<gh {
                for gx in 0..<gw {
                    var out = columns.baseAddress! + (gy * gw + gx) * k
                    for c in 0..<3 {
                        for ky in 0..<p {
                            out.update(from: image + (c * height + gy * p + ky) * width + gx * p, count: p)
                            out += p
                        }
                    }
                }
            }
            let rows = UnsafeMutableBufferPointer(rebasing: x[((n * tokens + 1) * w)..<((n + 1) * tokens * w)])
            if let patchB {
                Kernels.fillRows(rows, rows: patches, width: w, with: patchB)
            } else {
                rows.update(repeating: 0)
            }
            BLAS.sgemm(.none, .transposed, m: patches, n: w, k: k, a: UnsafeBufferPointer(columns), lda: k, b: patchW, ldb: k,
                       beta: 1, c: rows, ldc: w)
            (x.baseAddress! + n * tokens * w).update(from: cls.baseAddress!, count: w)
            Kernels.add(UnsafeMutableBufferPointer(rebasing: x[(n * tokens * w)..<((n + 1) * tokens * w)]),
                        positions.withUnsafeBufferPointer { $0 })
        }
        if let preW, let preB {
            Kernels.layerNorm(UnsafeBufferPointer(x), rows: count * tokens, width: w, gamma: preW, beta: preB, eps: architecture.stack.eps, into: x)
        }
        stack.run(x, sequences: count, tokens: tokens, causal: false)
        var classRows = [Float](repeating: 0, count: count * w)
        classRows.withUnsafeMutableBufferPointer { out in
            for n in 0..<count {
                Kernels.layerNorm(UnsafeBufferPointer(rebasing: x[(n * tokens * w)..<((n * tokens + 1) * w)]), rows: 1, width: w,
                                  gamma: finalW, beta: finalB, eps: architecture.stack.eps,
                                  into: UnsafeMutableBufferPointer(rebasing: out[(n * w)..<((n + 1) * w)]))
            }
        }
        guard let (proj, storedWD) = projection, let d = architecture.projection else { return classRows }
        var features = [Float](repeating: 0, count: count * d)
        classRows.withUnsafeBufferPointer { a in
            features.withUnsafeMutableBufferPointer { c in
                BLAS.sgemm(.none, storedWD ? .none : .transposed, m: count, n: d, k: w, a: a, lda: w, b: proj, ldb: storedWD ? d : w, c: c, ldc: d)
            }
        }
        return features
    }

    /// The position table for a DINO image of `height` × `width`, as DINO's `interpolate_pos_encoding`
    /// (vision_transformer.py 174-194) computes it. Its `w` is the image's height and `h` its width. When the
    /// patch count equals the trained one and the image is square (in pixels), the trained table is used as
    /// is. Otherwise the patch positions, a trained N × N grid of W-vectors, go through
    /// `F.interpolate(mode='bicubic', scale_factor=(h0/N, w0/N))` with h0 = H//P + 0.1 and w0 = W//P + 0.1
    /// (`Interpolate`, channels last; the factor, which the + 0.1 makes differ from the size ratio, maps the
    /// coordinates), giving H//P × W//P rows, height-major; the class position is kept.
    func interpolatedPositions(height: Int, width: Int) -> [Float] {
        let p = architecture.patch, n = architecture.grid, w = architecture.stack.width
        let gh = height / p, gw = width / p
        if gh * gw == n * n && height == width { return Array(pos) }
        let grid = Interpolate.resize(Array(pos[w...]), channels: w, height: n, width: n, layout: .channelsLast, .bicubic,
                                      scaleFactor: ((Double(gh) + 0.1) / Double(n), (Double(gw) + 0.1) / Double(n)))
        precondition(grid.count == gh * gw * w, "DINO's position interpolation gave \(grid.count / w) positions for \(gh) × \(gw)")
        return Array(pos[0..<w]) + grid
    }
}
