import Foundation

/// CLIP's text encoder (OpenAI `encode_text`, open_clip, HF `CLIPTextModel` + `text_projection`): token
/// embeddings plus positions, the pre-norm blocks under a causal mask, `ln_final`, the end-of-text row, then
/// the projection (open_clip's (W, D) as stored, HF's (D, W) transposed).
///
/// The pooled row is the first position of the largest id (OpenAI's `argmax`: the end-of-text token 49407 is
/// the vocabulary's highest id), or, for HF configs whose `eos_token_id` is not 2, the first position holding
/// that id (0 when there is none, as HF's `argmax` over the comparison gives). Under a causal mask row i
/// depends only on rows 0…i, so only the first eot + 1 tokens are run: the result is the same as running all
/// 77, without the work on padding.
public final class TextEncoder: @unchecked Sendable {
    public let architecture: TextArchitecture
    public let path: String
    private let store: ParameterStore
    private let tok, pos, finalW, finalB, proj: UnsafeBufferPointer<Float>
    private let projStoredWD: Bool
    private let stack: TransformerStack

    public init(_ model: LoadedModel) throws {
        guard let t = model.architecture.text else {
            throw ModelError(path: model.files.weights, reason: "the model (\(model.architecture.layout.label)) has no text encoder")
        }
        architecture = t
        path = model.files.weights
        let store = ParameterStore()
        self.store = store
        func w(_ role: String) throws -> UnsafeBufferPointer<Float> { store.add(try model.tensor(role)) }
        tok = try w("t.tok")
        pos = try w("t.pos")
        finalW = try w("t.final.w")
        finalB = try w("t.final.b")
        proj = try w("t.proj")
        projStoredWD = model.architecture.layout == .openCLIP
        stack = try TransformerStack(model, prefix: "t.", shape: t.stack, store: store)
    }

    /// The row pooled for `ids` (see the type's comment).
    public func poolPosition(_ ids: [Int]) -> Int {
        if let eos = architecture.eosTokenID { return ids.firstIndex(of: eos) ?? 0 }
        var best = 0
        for (i, id) in ids.enumerated() where id > ids[best] { best = i }
        return best
    }

    /// Encodes one context of token ids (`context` of them, 77 for CLIP) into `projection` floats (not
    /// L2-normalised).
    public func encode(_ ids: [Int]) throws -> [Float] {
        let w = architecture.stack.width, d = architecture.projection
        guard ids.count == architecture.context else {
            throw ModelError(path: path, reason: "\(ids.count) token ids; the text encoder takes exactly \(architecture.context)")
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= architecture.vocabulary }) {
            throw ModelError(path: path, reason: "token id \(bad) is outside the vocabulary of \(architecture.vocabulary)")
        }
        let last = poolPosition(ids), tokens = last + 1
        var x = [Float](repeating: 0, count: tokens * w)
        for t in 0..<tokens {
            for c in 0..<w { x[t * w + c] = tok[ids[t] * w + c] + pos[t * w + c] }
        }
        x.withUnsafeMutableBufferPointer { stack.run($0, sequences: 1, tokens: tokens, causal: true) }
        var row = [Float](repeating: 0, count: w)
        x.withUnsafeBufferPointer { xb in
            row.withUnsafeMutableBufferPointer {
                Kernels.layerNorm(UnsafeBufferPointer(rebasing: xb[(last * w)...]), rows: 1, width: w, gamma: finalW, beta: finalB,
                                  eps: architecture.stack.eps, into: $0)
            }
        }
        var out = [Float](repeating: 0, count: d)
        row.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { c in
                BLAS.sgemm(.none, projStoredWD ? .none : .transposed, m: 1, n: d, k: w, a: a, lda: w, b: proj, ldb: projStoredWD ? d : w, c: c, ldc: d)
            }
        }
        return out
    }
}

/// LAION's aesthetic predictor as VBench uses it (`sa_0_4_vit_l_14_linear.pth`): one linear layer, w · x + b,
/// on an (L2-normalised, by the caller) CLIP ViT-L/14 image feature. The dot product is summed in Double.
public struct AestheticHead: Sendable {
    public let weight: [Float]
    public let bias: Float

    public init(_ model: LoadedModel) throws {
        guard model.architecture.layout == .aestheticHead else {
            throw ModelError(path: model.files.weights, reason: "the model (\(model.architecture.layout.label)) is not an aesthetic head (weight (1, D), bias (1))")
        }
        weight = try model.tensor("aesthetic weight").values
        bias = try model.tensor("aesthetic bias").values[0]
    }

    public var inputDimension: Int { weight.count }

    /// w · x + b for one feature of `inputDimension` floats.
    public func score(_ feature: ArraySlice<Float>) -> Float {
        precondition(feature.count == weight.count, "AestheticHead: \(feature.count) values for a \(weight.count)-input head")
        var sum = 0.0
        for (a, b) in zip(weight, feature) { sum += Double(a) * Double(b) }
        return Float(sum + Double(bias))
    }
}
