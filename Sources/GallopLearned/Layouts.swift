import Foundation

/// A model that cannot be used: one sentence naming the file and the cause (an unknown layout, a missing
/// tensor and the layout assumed, a tensor of the wrong shape with the expected and found shapes, a config
/// that contradicts the weights, an unsupported variant).
public struct ModelError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    /// The cause in words, without the path.
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// How a weights file names its tensors. Gallop reads the names a user's download already has, in each of
/// the layouts the published checkpoints use (plan §2.3), and tells them apart by their keys.
public enum Layout: String, Sendable, CaseIterable {
    /// facebookresearch/dino's `VisionTransformer` names, which timm's ViT keeps (`blocks.N.attn.qkv.weight`).
    case dinoTimm
    /// transformers' `ViTModel` names (`embeddings.cls_token`, `encoder.layer.N.…`), optionally under `vit.`.
    case hfViT
    /// OpenAI CLIP's names, which open_clip keeps (`visual.conv1.weight`, `transformer.resblocks.N.…`).
    case openCLIP
    /// transformers' `CLIPModel` names (`vision_model.…`, `text_model.…`).
    case hfCLIP
    /// LAION's aesthetic predictor: one linear layer, `weight` (1, D) and `bias` (1).
    case aestheticHead

    /// The layout in words, as `gallop-embed` and error messages print it.
    public var label: String {
        switch self {
        case .dinoTimm: return "DINO/timm names"
        case .hfViT: return "HF ViT names"
        case .openCLIP: return "OpenAI/open_clip names"
        case .hfCLIP: return "HF CLIP names"
        case .aestheticHead: return "LAION aesthetic head"
        }
    }
}

/// An MLP's activation.
public enum Activation: String, Sendable {
    /// PyTorch's `nn.GELU()` default, x · Φ(x) with the exact (erf) CDF: DINO, HF `hidden_act: "gelu"`.
    case gelu
    /// x · σ(1.702 x): OpenAI CLIP (`quick_gelu`).
    case quickGELU = "quick_gelu"
}

/// A pre-norm transformer stack's hyper-parameters (ViT or CLIP text: the blocks are the same).
public struct StackShape: Sendable, Equatable {
    public var width: Int
    public var depth: Int
    public var heads: Int
    /// The MLP's hidden width.
    public var mlp: Int
    public var eps: Float
    public var activation: Activation
}

/// A vision transformer's hyper-parameters.
public struct VisionArchitecture: Sendable, Equatable {
    public var stack: StackShape
    public var patch: Int
    /// The trained position grid's side (the position table holds side² + 1 rows).
    public var grid: Int
    /// DINO's patch convolution has a bias; CLIP's has none.
    public var patchBias: Bool
    /// CLIP normalises the tokens before the first block (`ln_pre`).
    public var lnPre: Bool
    /// CLIP's output dimension after `ln_post` and the projection; nil for DINO (the CLS row after the final norm).
    public var projection: Int?
}

/// CLIP's text transformer's hyper-parameters.
public struct TextArchitecture: Sendable, Equatable {
    public var stack: StackShape
    public var vocabulary: Int
    public var context: Int
    public var projection: Int
    /// Which row is pooled: nil = the position of the largest token id (OpenAI's `argmax`, and HF's rule when
    /// its config says `eos_token_id: 2`), else the first position holding this id (HF's rule otherwise).
    public var eosTokenID: Int?
}

/// What a weights file holds, its layout and hyper-parameters, resolved from its keys, shapes and config.
public struct Architecture: Sendable, Equatable {
    public var layout: Layout
    public var vision: VisionArchitecture?
    public var text: TextArchitecture?
    /// The aesthetic head's input dimension.
    public var aestheticInput: Int?
    /// HF ViT's prefix (`vit.` in checkpoints saved from `ViTForImageClassification`), else nil.
    var hfPrefix: String? = nil

    /// One line, as `gallop-embed` prints it: `DINO/timm names, ViT-B/16 (W 768, depth 12, heads 12, eps 1e-6,
    /// gelu)`, with the text tower and projection for CLIP.
    public var summary: String {
        func stack(_ s: StackShape) -> String {
            "W \(s.width), depth \(s.depth), heads \(s.heads), mlp \(s.mlp), eps \(Self.format(s.eps)), \(s.activation.rawValue)"
        }
        var parts: [String] = []
        if let v = vision {
            parts.append("\(Self.vitName(v)) (\(stack(v.stack)), patch \(v.patch), grid \(v.grid)\(v.projection.map { ", projection \($0)" } ?? ""))")
        }
        if let t = text {
            let pool = t.eosTokenID.map { "EOT id \($0)" } ?? "EOT = argmax id"
            parts.append("text (\(stack(t.stack)), vocabulary \(t.vocabulary), context \(t.context), projection \(t.projection), \(pool))")
        }
        if let d = aestheticInput { parts.append("linear \(d) → 1") }
        return layout.label + ", " + parts.joined(separator: " + ")
    }

    /// ViT-B/16-style name when the width is a standard one (Ti 192, S 384, B 768, L 1024), else ViT-W<n>/P.
    static func vitName(_ v: VisionArchitecture) -> String {
        let size = [192: "Ti", 384: "S", 768: "B", 1024: "L", 1280: "H"][v.stack.width] ?? "W\(v.stack.width)"
        return "ViT-\(size)/\(v.patch)"
    }

    static func format(_ eps: Float) -> String {
        let exponent = Int(log10(Double(eps)).rounded())
        return eps == Float(pow(10, Double(exponent))) ? "1e\(exponent)" : "\(eps)"
    }
}

/// The configs that may sit beside a weights file.
public struct ModelConfigs: Sendable {
    /// HF's or timm's `config.json`: its path and parsed object.
    public var config: (path: String, object: [String: any Sendable])?
    /// open_clip's `open_clip_config.json`.
    public var openCLIP: (path: String, object: [String: any Sendable])?

    public init(config: (path: String, object: [String: any Sendable])? = nil, openCLIP: (path: String, object: [String: any Sendable])? = nil) {
        self.config = config
        self.openCLIP = openCLIP
    }

    /// Reads a JSON config file (an object), or throws naming it.
    public static func read(_ path: String) throws -> [String: any Sendable] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError(path: path, reason: "cannot read the config file")
        }
        guard let parsed = try? JSONSerialization.jsonObject(with: data), let object = parsed as? [String: Any] else {
            throw ModelError(path: path, reason: "the config file is not a JSON object")
        }
        return sendable(object) as? [String: any Sendable] ?? [:]
    }

    private static func sendable(_ value: Any) -> any Sendable {
        switch value {
        case let d as [String: Any]: return d.mapValues { sendable($0) }
        case let a as [Any]: return a.map { sendable($0) }
        case let n as NSNumber:
            let type = String(cString: n.objCType)
            if type == "c" || type == "B" { return n.boolValue }
            return n.doubleValue
        case let s as String: return s
        default: return String(describing: value)
        }
    }
}

/// One tensor an architecture needs: its canonical role, the file's name(s) for it (several are
/// concatenated along the first dimension: HF's separate q, k and v), and the shape it must have (after
/// concatenation).
public struct TensorSpec: Sendable, Equatable {
    public var role: String
    public var names: [String]
    public var shape: [Int]
}

extension Architecture {
    /// Resolves the layout and hyper-parameters from the tensors' names and shapes (and the configs, when
    /// present), then checks that every tensor the architecture needs is there with its shape. `path` names
    /// the weights file in errors.
    ///
    /// Layouts by keys (plan §2.4): `cls_token` + `blocks.0.attn.qkv.weight` → DINO/timm;
    /// `[vit.]embeddings.cls_token` → HF ViT; `visual.conv1.weight` + `visual.proj` → OpenAI/open_clip;
    /// `vision_model.embeddings.patch_embedding.weight` → HF CLIP; exactly `weight` (1, D) + `bias` (1) →
    /// aesthetic head. timm's CLIP layout (`norm_pre` with `blocks.`) and the improved-aesthetic MLP
    /// (`layers.0.weight`) are recognised and rejected with a sentence saying what to use instead.
    ///
    /// Hyper-parameters: HF `config.json` states them all (`hidden_size`, `num_hidden_layers`,
    /// `num_attention_heads`, `intermediate_size`, `patch_size`, `image_size`, `layer_norm_eps`, `hidden_act`;
    /// CLIP's under `vision_config`/`text_config`); open_clip's `model_cfg` gives the heads (`head_width`,
    /// text `heads`) and `quick_gelu`; timm's `config.json` names the architecture (`vit_base_patch16_224`:
    /// heads from {tiny 3, small 6, base 12, large 16}). Widths, depth, MLP, patch and grid always come from the
    /// shapes (a config that contradicts them is an error); without a config the layout's published rule
    /// gives the rest: DINO/timm heads W/64, ε 1e-6, GELU; HF ViT heads W/64, ε 1e-12 (ViTConfig's default),
    /// GELU; CLIP (both layouts) heads W/64, ε 1e-5, QuickGELU.
    public static func resolve(shapes: [String: [Int]], configs: ModelConfigs = ModelConfigs(), path: String) throws -> Architecture {
        let layout = try detectLayout(shapes, path: path)
        var resolver = Resolver(shapes: shapes, configs: configs, path: path, layout: layout)
        let architecture = try resolver.architecture()
        try architecture.check(shapes, path: path)
        return architecture
    }

    static func detectLayout(_ shapes: [String: [Int]], path: String) throws -> Layout {
        let has = { (name: String) in shapes[name] != nil }
        if has("norm_pre.weight") && shapes.keys.contains(where: { $0.hasPrefix("blocks.") }) {
            throw ModelError(path: path, reason: "timm's CLIP layout (norm_pre, blocks.N) is not supported; use the checkpoint's open_clip_model.safetensors (with open_clip_config.json) or the HF CLIPModel model.safetensors")
        }
        if has("layers.0.weight") {
            throw ModelError(path: path, reason: "this is the improved-aesthetic MLP (layers.N.*, christophschuhmann/improved-aesthetic-predictor), not VBench's linear aesthetic head (sa_0_4_vit_l_14_linear.pth, keys weight and bias)")
        }
        if has("cls_token") && has("blocks.0.attn.qkv.weight") { return .dinoTimm }
        if has("embeddings.cls_token") || has("vit.embeddings.cls_token") { return .hfViT }
        if has("visual.conv1.weight") && has("visual.proj") { return .openCLIP }
        if has("vision_model.embeddings.patch_embedding.weight") { return .hfCLIP }
        if shapes.count == 2, let w = shapes["weight"], let b = shapes["bias"], w.count == 2, w[0] == 1, b == [1] { return .aestheticHead }
        let shown = shapes.keys.sorted().prefix(4).map { "'\($0)'" }.joined(separator: ", ")
        throw ModelError(path: path, reason: "unknown weights layout: none of DINO/timm (cls_token, blocks.0.attn.qkv.weight), HF ViT (embeddings.cls_token), OpenAI/open_clip (visual.conv1.weight, visual.proj), HF CLIP (vision_model.…) or the aesthetic head (weight (1, D), bias (1)) fits the file's \(shapes.count) tensor names (\(shown)\(shapes.count > 4 ? ", …" : ""))")
    }

    /// Checks every needed tensor's presence and shape (HF's q, k, v each a third of the fused shape).
    func check(_ shapes: [String: [Int]], path: String) throws {
        for spec in tensorSpecs() {
            let parts = spec.names.count
            var partShape = spec.shape
            partShape[0] /= parts
            for name in spec.names {
                guard let found = shapes[name] else {
                    throw ModelError(path: path, reason: "missing tensor '\(name)' (\(spec.role)) for the layout assumed, \(layout.label)")
                }
                guard found == partShape else {
                    throw ModelError(path: path, reason: "tensor '\(name)' (\(spec.role)) has shape \(found); \(summary) expects \(partShape)")
                }
            }
        }
    }

    /// The tensors this architecture reads, in its layout's names.
    public func tensorSpecs() -> [TensorSpec] {
        var specs: [TensorSpec] = []
        if let v = vision { specs += visionSpecs(v) }
        if let t = text { specs += textSpecs(t) }
        if let d = aestheticInput {
            specs += [TensorSpec(role: "aesthetic weight", names: ["weight"], shape: [1, d]),
                      TensorSpec(role: "aesthetic bias", names: ["bias"], shape: [1])]
        }
        return specs
    }

    /// The name of the tensor for `role` (`patch.w`, `L3.qkv.w`, `t.proj`…): for the encoders' loaders.
    public func names(_ role: String) -> [String] {
        tensorSpecs().first { $0.role == role }?.names ?? []
    }

    private func blockSpecs(_ s: StackShape, prefix: String, style: Layout) -> [TensorSpec] {
        let w = s.width, m = s.mlp
        var specs: [TensorSpec] = []
        for i in 0..<s.depth {
            let p: String, n: [String: [String]]
            switch style {
            case .dinoTimm:
                p = "\(prefix)blocks.\(i)."
                n = ["ln1": ["norm1"], "qkv": ["attn.qkv"], "out": ["attn.proj"], "ln2": ["norm2"], "fc1": ["mlp.fc1"], "fc2": ["mlp.fc2"]]
            case .hfViT:
                p = "\(prefix)encoder.layer.\(i)."
                n = ["ln1": ["layernorm_before"], "qkv": ["attention.attention.query", "attention.attention.key", "attention.attention.value"],
                     "out": ["attention.output.dense"], "ln2": ["layernorm_after"], "fc1": ["intermediate.dense"], "fc2": ["output.dense"]]
            case .openCLIP:
                p = "\(prefix)transformer.resblocks.\(i)."
                n = ["ln1": ["ln_1"], "qkv": ["attn.in_proj_"], "out": ["attn.out_proj"], "ln2": ["ln_2"], "fc1": ["mlp.c_fc"], "fc2": ["mlp.c_proj"]]
            case .hfCLIP, .aestheticHead:
                p = "\(prefix)encoder.layers.\(i)."
                n = ["ln1": ["layer_norm1"], "qkv": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
                     "out": ["self_attn.out_proj"], "ln2": ["layer_norm2"], "fc1": ["mlp.fc1"], "fc2": ["mlp.fc2"]]
            }
            func linear(_ key: String, out: Int, in inputs: Int) -> [TensorSpec] {
                // open_clip's fused attention input is `in_proj_weight` / `in_proj_bias`, not `in_proj.weight`.
                let sep = style == .openCLIP && key == "qkv" ? "" : "."
                return [TensorSpec(role: "L\(i).\(key).w", names: n[key]!.map { p + $0 + sep + "weight" }, shape: [out, inputs]),
                        TensorSpec(role: "L\(i).\(key).b", names: n[key]!.map { p + $0 + sep + "bias" }, shape: [out])]
            }
            func norm(_ key: String) -> [TensorSpec] {
                [TensorSpec(role: "L\(i).\(key).w", names: [p + n[key]![0] + ".weight"], shape: [w]),
                 TensorSpec(role: "L\(i).\(key).b", names: [p + n[key]![0] + ".bias"], shape: [w])]
            }
            specs += norm("ln1") + linear("qkv", out: 3 * w, in: w) + linear("out", out: w, in: w)
            specs += norm("ln2") + linear("fc1", out: m, in: w) + linear("fc2", out: w, in: m)
        }
        return specs
    }

    private func visionSpecs(_ v: VisionArchitecture) -> [TensorSpec] {
        let w = v.stack.width, p = v.patch, tokens = v.grid * v.grid + 1
        func ln(_ role: String, _ name: String) -> [TensorSpec] {
            [TensorSpec(role: role + ".w", names: [name + ".weight"], shape: [w]), TensorSpec(role: role + ".b", names: [name + ".bias"], shape: [w])]
        }
        switch layout {
        case .dinoTimm:
            return [TensorSpec(role: "patch.w", names: ["patch_embed.proj.weight"], shape: [w, 3, p, p]),
                    TensorSpec(role: "patch.b", names: ["patch_embed.proj.bias"], shape: [w]),
                    TensorSpec(role: "cls", names: ["cls_token"], shape: [1, 1, w]),
                    TensorSpec(role: "pos", names: ["pos_embed"], shape: [1, tokens, w])]
                + blockSpecs(v.stack, prefix: "", style: .dinoTimm) + ln("final", "norm")
        case .hfViT:
            let x = hfViTPrefix
            return [TensorSpec(role: "patch.w", names: [x + "embeddings.patch_embeddings.projection.weight"], shape: [w, 3, p, p]),
                    TensorSpec(role: "patch.b", names: [x + "embeddings.patch_embeddings.projection.bias"], shape: [w]),
                    TensorSpec(role: "cls", names: [x + "embeddings.cls_token"], shape: [1, 1, w]),
                    TensorSpec(role: "pos", names: [x + "embeddings.position_embeddings"], shape: [1, tokens, w])]
                + blockSpecs(v.stack, prefix: x, style: .hfViT) + ln("final", x + "layernorm")
        case .openCLIP:
            return [TensorSpec(role: "patch.w", names: ["visual.conv1.weight"], shape: [w, 3, p, p]),
                    TensorSpec(role: "cls", names: ["visual.class_embedding"], shape: [w]),
                    TensorSpec(role: "pos", names: ["visual.positional_embedding"], shape: [tokens, w])]
                + ln("pre", "visual.ln_pre") + blockSpecs(v.stack, prefix: "visual.", style: .openCLIP) + ln("final", "visual.ln_post")
                + [TensorSpec(role: "proj", names: ["visual.proj"], shape: [w, v.projection!])]
        case .hfCLIP:
            return [TensorSpec(role: "patch.w", names: ["vision_model.embeddings.patch_embedding.weight"], shape: [w, 3, p, p]),
                    TensorSpec(role: "cls", names: ["vision_model.embeddings.class_embedding"], shape: [w]),
                    TensorSpec(role: "pos", names: ["vision_model.embeddings.position_embedding.weight"], shape: [tokens, w])]
                + ln("pre", "vision_model.pre_layrnorm") + blockSpecs(v.stack, prefix: "vision_model.", style: .hfCLIP)
                + ln("final", "vision_model.post_layernorm")
                + [TensorSpec(role: "proj", names: ["visual_projection.weight"], shape: [v.projection!, w])]
        case .aestheticHead:
            return []
        }
    }

    private func textSpecs(_ t: TextArchitecture) -> [TensorSpec] {
        let w = t.stack.width
        func ln(_ role: String, _ name: String) -> [TensorSpec] {
            [TensorSpec(role: role + ".w", names: [name + ".weight"], shape: [w]), TensorSpec(role: role + ".b", names: [name + ".bias"], shape: [w])]
        }
        func prefixed(_ specs: [TensorSpec]) -> [TensorSpec] { specs.map { var s = $0; s.role = "t." + s.role; return s } }
        if layout == .hfCLIP {
            return prefixed([TensorSpec(role: "tok", names: ["text_model.embeddings.token_embedding.weight"], shape: [t.vocabulary, w]),
                             TensorSpec(role: "pos", names: ["text_model.embeddings.position_embedding.weight"], shape: [t.context, w])]
                + blockSpecs(t.stack, prefix: "text_model.", style: .hfCLIP) + ln("final", "text_model.final_layer_norm")
                + [TensorSpec(role: "proj", names: ["text_projection.weight"], shape: [t.projection, w])])
        }
        return prefixed([TensorSpec(role: "tok", names: ["token_embedding.weight"], shape: [t.vocabulary, w]),
                         TensorSpec(role: "pos", names: ["positional_embedding"], shape: [t.context, w])]
            + blockSpecs(t.stack, prefix: "", style: .openCLIP) + ln("final", "ln_final")
            + [TensorSpec(role: "proj", names: ["text_projection"], shape: [w, t.projection])])
    }

    var hfViTPrefix: String { hfPrefix ?? "" }
}

/// Reads hyper-parameters from shapes and configs for one layout.
private struct Resolver {
    let shapes: [String: [Int]]
    let configs: ModelConfigs
    let path: String
    let layout: Layout

    func shape(_ name: String, rank: Int) throws -> [Int] {
        guard let s = shapes[name] else {
            throw ModelError(path: path, reason: "missing tensor '\(name)' for the layout assumed, \(layout.label)")
        }
        guard s.count == rank else {
            throw ModelError(path: path, reason: "tensor '\(name)' has shape \(s); the layout assumed, \(layout.label), expects \(rank) dimensions")
        }
        return s
    }

    /// The number of blocks: consecutive indices N for which `prefix N suffix` exists, from 0.
    func depth(_ prefix: String, _ suffix: String) throws -> Int {
        var n = 0
        while shapes[prefix + "\(n)" + suffix] != nil { n += 1 }
        if n == 0 { throw ModelError(path: path, reason: "missing tensor '\(prefix)0\(suffix)' for the layout assumed, \(layout.label)") }
        return n
    }

    /// The position grid's side from the table's row count (side² + 1 rows).
    func grid(tokens: Int, name: String) throws -> Int {
        let side = Int(Double(tokens - 1).squareRoot().rounded())
        guard tokens >= 2 && side * side == tokens - 1 else {
            throw ModelError(path: path, reason: "tensor '\(name)' has \(tokens) positions, not a square grid plus the class position")
        }
        return side
    }

    func heads(width: Int, headWidth: Int = 64, rule: String) throws -> Int {
        guard headWidth > 0 && width % headWidth == 0 else {
            throw ModelError(path: path, reason: "width \(width) is not a multiple of the head width \(headWidth) (\(rule))")
        }
        return width / headWidth
    }

    /// A config value that must agree with the weights' shape-derived one (or be absent).
    func agree(_ config: [String: any Sendable]?, _ key: String, _ value: Int, file: String) throws {
        guard let config, let stated = config[key] as? Double else { return }
        guard Int(stated) == value else {
            throw ModelError(path: file, reason: "\(key) is \(Int(stated)) but the weights (\(path)) have \(value)")
        }
    }

    mutating func architecture() throws -> Architecture {
        switch layout {
        case .dinoTimm: return try dinoTimm()
        case .hfViT: return try hfViT()
        case .openCLIP: return try openCLIP()
        case .hfCLIP: return try hfCLIP()
        case .aestheticHead:
            return Architecture(layout: .aestheticHead, aestheticInput: shapes["weight"]![1])
        }
    }

    func dinoTimm() throws -> Architecture {
        let patch = try shape("patch_embed.proj.weight", rank: 4)
        let w = patch[0]
        let depth = try depth("blocks.", ".attn.qkv.weight")
        let mlp = try shape("blocks.0.mlp.fc1.weight", rank: 2)[0]
        let pos = try shape("pos_embed", rank: 3)
        var heads = try self.heads(width: w, rule: "DINO/timm's rule: heads = W/64")
        if let (file, object) = configs.config, let name = object["architecture"] as? String {
            // timm's ViT sizes: (heads, width).
            let table = ["vit_tiny_": (3, 192), "vit_small_": (6, 384), "vit_base_": (12, 768), "vit_large_": (16, 1024)]
            guard let entry = table.first(where: { name.hasPrefix($0.key) }) else {
                throw ModelError(path: file, reason: "architecture '\(name)' is not one of timm's vit_tiny, vit_small, vit_base or vit_large ViTs")
            }
            guard entry.value.1 == w else {
                throw ModelError(path: file, reason: "architecture '\(name)' has width \(entry.value.1) but the weights (\(path)) have \(w)")
            }
            heads = entry.value.0
        }
        let stack = StackShape(width: w, depth: depth, heads: heads, mlp: mlp, eps: 1e-6, activation: .gelu)
        return Architecture(layout: .dinoTimm, vision: VisionArchitecture(
            stack: stack, patch: patch[3], grid: try grid(tokens: pos[1], name: "pos_embed"), patchBias: true, lnPre: false, projection: nil))
    }

    func hfViT() throws -> Architecture {
        let x = shapes["vit.embeddings.cls_token"] != nil ? "vit." : ""
        let patch = try shape(x + "embeddings.patch_embeddings.projection.weight", rank: 4)
        let w = patch[0]
        let depth = try depth(x + "encoder.layer.", ".attention.attention.query.weight")
        let mlp = try shape(x + "encoder.layer.0.intermediate.dense.weight", rank: 2)[0]
        let pos = try shape(x + "embeddings.position_embeddings", rank: 3)
        let grid = try grid(tokens: pos[1], name: x + "embeddings.position_embeddings")
        var stack = StackShape(width: w, depth: depth, heads: try heads(width: w, rule: "HF ViT without config.json: heads = W/64"),
                               mlp: mlp, eps: 1e-12, activation: .gelu)
        if let (file, c) = configs.config {
            try agree(c, "hidden_size", w, file: file)
            try agree(c, "num_hidden_layers", depth, file: file)
            try agree(c, "intermediate_size", mlp, file: file)
            try agree(c, "patch_size", patch[3], file: file)
            try agree(c, "image_size", grid * patch[3], file: file)
            try apply(c, to: &stack, file: file, hfDefaultEps: 1e-12)
            if let bias = c["qkv_bias"] as? Bool, !bias {
                throw ModelError(path: file, reason: "qkv_bias false is not supported (the DINO and CLIP checkpoints all have query, key and value biases)")
            }
        }
        var a = Architecture(layout: .hfViT, vision: VisionArchitecture(stack: stack, patch: patch[3], grid: grid, patchBias: true, lnPre: false, projection: nil))
        a.hfPrefix = x
        return a
    }

    /// HF's `num_attention_heads`, `layer_norm_eps` and `hidden_act` (`gelu` exact, `quick_gelu`).
    func apply(_ c: [String: any Sendable], to stack: inout StackShape, file: String, hfDefaultEps: Float) throws {
        if let h = c["num_attention_heads"] as? Double {
            let heads = Int(h)
            guard heads > 0 && stack.width % heads == 0 else {
                throw ModelError(path: file, reason: "num_attention_heads \(heads) does not divide the weights' width \(stack.width)")
            }
            stack.heads = heads
        }
        stack.eps = (c["layer_norm_eps"] as? Double).map { Float($0) } ?? hfDefaultEps
        if let act = c["hidden_act"] as? String {
            switch act {
            case "gelu": stack.activation = .gelu
            case "quick_gelu": stack.activation = .quickGELU
            default: throw ModelError(path: file, reason: "hidden_act '\(act)' is not supported (only \"gelu\", exact, and \"quick_gelu\")")
            }
        }
    }

    func openCLIP() throws -> Architecture {
        let patch = try shape("visual.conv1.weight", rank: 4)
        let w = patch[0]
        let depth = try depth("visual.transformer.resblocks.", ".attn.in_proj_weight")
        let mlp = try shape("visual.transformer.resblocks.0.mlp.c_fc.weight", rank: 2)[0]
        let pos = try shape("visual.positional_embedding", rank: 2)
        let grid = try grid(tokens: pos[0], name: "visual.positional_embedding")
        let proj = try shape("visual.proj", rank: 2)
        let model = configs.openCLIP.flatMap { $0.object["model_cfg"] as? [String: any Sendable] } ?? configs.openCLIP?.object
        let file = configs.openCLIP?.path ?? path
        let visionCfg = model?["vision_cfg"] as? [String: any Sendable]
        let textCfg = model?["text_cfg"] as? [String: any Sendable]
        let activation: Activation = configs.openCLIP == nil ? .quickGELU : ((model?["quick_gelu"] as? Bool) == true ? .quickGELU : .gelu)
        try agree(visionCfg, "width", w, file: file)
        try agree(visionCfg, "layers", depth, file: file)
        try agree(visionCfg, "patch_size", patch[3], file: file)
        try agree(visionCfg, "image_size", grid * patch[3], file: file)
        try agree(model, "embed_dim", proj[1], file: file)
        let headWidth = (visionCfg?["head_width"] as? Double).map { Int($0) } ?? 64
        let vStack = StackShape(width: w, depth: depth, heads: try heads(width: w, headWidth: headWidth, rule: "open_clip's head_width"),
                                mlp: mlp, eps: 1e-5, activation: activation)
        var a = Architecture(layout: .openCLIP, vision: VisionArchitecture(
            stack: vStack, patch: patch[3], grid: grid, patchBias: false, lnPre: true, projection: proj[1]))
        if shapes["token_embedding.weight"] != nil {
            let tok = try shape("token_embedding.weight", rank: 2)
            let tw = tok[1]
            let tDepth = try self.depth("transformer.resblocks.", ".attn.in_proj_weight")
            let tMLP = try shape("transformer.resblocks.0.mlp.c_fc.weight", rank: 2)[0]
            let tPos = try shape("positional_embedding", rank: 2)
            let tProj = try shape("text_projection", rank: 2)
            try agree(textCfg, "width", tw, file: file)
            try agree(textCfg, "layers", tDepth, file: file)
            try agree(textCfg, "context_length", tPos[0], file: file)
            try agree(textCfg, "vocab_size", tok[0], file: file)
            var heads = try self.heads(width: tw, rule: "OpenAI CLIP's rule: heads = W/64")
            if let h = textCfg?["heads"] as? Double {
                heads = Int(h)
                guard heads > 0 && tw % heads == 0 else { throw ModelError(path: file, reason: "text_cfg heads \(heads) does not divide the text width \(tw)") }
            }
            a.text = TextArchitecture(stack: StackShape(width: tw, depth: tDepth, heads: heads, mlp: tMLP, eps: 1e-5, activation: activation),
                                      vocabulary: tok[0], context: tPos[0], projection: tProj[1], eosTokenID: nil)
        }
        return a
    }

    func hfCLIP() throws -> Architecture {
        let patch = try shape("vision_model.embeddings.patch_embedding.weight", rank: 4)
        let w = patch[0]
        let depth = try depth("vision_model.encoder.layers.", ".self_attn.q_proj.weight")
        let mlp = try shape("vision_model.encoder.layers.0.mlp.fc1.weight", rank: 2)[0]
        let pos = try shape("vision_model.embeddings.position_embedding.weight", rank: 2)
        let grid = try grid(tokens: pos[0], name: "vision_model.embeddings.position_embedding.weight")
        let proj = try shape("visual_projection.weight", rank: 2)
        let file = configs.config?.path ?? path
        let root = configs.config?.object
        let visionCfg = root?["vision_config"] as? [String: any Sendable]
        let textCfg = root?["text_config"] as? [String: any Sendable]
        var vStack = StackShape(width: w, depth: depth, heads: try heads(width: w, rule: "OpenAI CLIP's rule: heads = W/64"),
                                mlp: mlp, eps: 1e-5, activation: .quickGELU)
        if let visionCfg {
            try agree(visionCfg, "hidden_size", w, file: file)
            try agree(visionCfg, "num_hidden_layers", depth, file: file)
            try agree(visionCfg, "intermediate_size", mlp, file: file)
            try agree(visionCfg, "patch_size", patch[3], file: file)
            try agree(visionCfg, "image_size", grid * patch[3], file: file)
            try apply(visionCfg, to: &vStack, file: file, hfDefaultEps: 1e-5)
        }
        try agree(root, "projection_dim", proj[0], file: file)
        var a = Architecture(layout: .hfCLIP, vision: VisionArchitecture(
            stack: vStack, patch: patch[3], grid: grid, patchBias: false, lnPre: true, projection: proj[0]))
        if shapes["text_model.embeddings.token_embedding.weight"] != nil {
            let tok = try shape("text_model.embeddings.token_embedding.weight", rank: 2)
            let tw = tok[1]
            let tDepth = try self.depth("text_model.encoder.layers.", ".self_attn.q_proj.weight")
            let tMLP = try shape("text_model.encoder.layers.0.mlp.fc1.weight", rank: 2)[0]
            let tPos = try shape("text_model.embeddings.position_embedding.weight", rank: 2)
            let tProj = try shape("text_projection.weight", rank: 2)
            var stack = StackShape(width: tw, depth: tDepth, heads: try heads(width: tw, rule: "OpenAI CLIP's rule: heads = W/64"),
                                   mlp: tMLP, eps: 1e-5, activation: .quickGELU)
            var eos: Int? = nil
            if let textCfg {
                try agree(textCfg, "hidden_size", tw, file: file)
                try agree(textCfg, "num_hidden_layers", tDepth, file: file)
                try agree(textCfg, "intermediate_size", tMLP, file: file)
                try agree(textCfg, "vocab_size", tok[0], file: file)
                try agree(textCfg, "max_position_embeddings", tPos[0], file: file)
                try apply(textCfg, to: &stack, file: file, hfDefaultEps: 1e-5)
                // HF's CLIPTextTransformer: eos_token_id 2 (legacy configs) pools at argmax(ids), else at the
                // first position holding eos_token_id (49407 when the config does not say).
                let stated = (textCfg["eos_token_id"] as? Double).map { Int($0) } ?? 49407
                eos = stated == 2 ? nil : stated
            }
            a.text = TextArchitecture(stack: stack, vocabulary: tok[0], context: tPos[0], projection: tProj[0], eosTokenID: eos)
        }
        return a
    }
}
