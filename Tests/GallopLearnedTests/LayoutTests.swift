import Foundation
@testable import GallopLearned
import XCTest

/// Layout detection and architecture resolution on the full-size models' `[name: shape]` maps, written here
/// from plan §2 (the names of facebookresearch/dino, transformers' conversion scripts and OpenAI's CLIP, the
/// shapes of DINO ViT-B/16, CLIP ViT-B/32 and ViT-L/14), without files; and every error sentence.
final class LayoutTests: XCTestCase {
    typealias Shapes = [String: [Int]]

    // MARK: - The maps

    /// DINO's `VisionTransformer` (timm keeps the names): ViT-B/16 at 224 px.
    static func dinoTimm(width w: Int = 768, depth: Int = 12, mlp: Int = 3072, patch p: Int = 16, grid: Int = 14) -> Shapes {
        var s: Shapes = ["cls_token": [1, 1, w], "pos_embed": [1, grid * grid + 1, w],
                         "patch_embed.proj.weight": [w, 3, p, p], "patch_embed.proj.bias": [w], "norm.weight": [w], "norm.bias": [w]]
        for i in 0..<depth {
            let b = "blocks.\(i)."
            s[b + "norm1.weight"] = [w]; s[b + "norm1.bias"] = [w]; s[b + "norm2.weight"] = [w]; s[b + "norm2.bias"] = [w]
            s[b + "attn.qkv.weight"] = [3 * w, w]; s[b + "attn.qkv.bias"] = [3 * w]
            s[b + "attn.proj.weight"] = [w, w]; s[b + "attn.proj.bias"] = [w]
            s[b + "mlp.fc1.weight"] = [mlp, w]; s[b + "mlp.fc1.bias"] = [mlp]
            s[b + "mlp.fc2.weight"] = [w, mlp]; s[b + "mlp.fc2.bias"] = [w]
        }
        return s
    }

    /// transformers' `ViTModel` (facebook/dino-vitb16), optionally under `vit.`, with the pooler it ships.
    static func hfViT(prefix x: String = "", width w: Int = 768, depth: Int = 12, mlp: Int = 3072, patch p: Int = 16, grid: Int = 14) -> Shapes {
        var s: Shapes = [x + "embeddings.cls_token": [1, 1, w], x + "embeddings.position_embeddings": [1, grid * grid + 1, w],
                         x + "embeddings.patch_embeddings.projection.weight": [w, 3, p, p], x + "embeddings.patch_embeddings.projection.bias": [w],
                         x + "layernorm.weight": [w], x + "layernorm.bias": [w], x + "pooler.dense.weight": [w, w], x + "pooler.dense.bias": [w]]
        for i in 0..<depth {
            let b = x + "encoder.layer.\(i)."
            for n in ["query", "key", "value"] { s[b + "attention.attention.\(n).weight"] = [w, w]; s[b + "attention.attention.\(n).bias"] = [w] }
            s[b + "attention.output.dense.weight"] = [w, w]; s[b + "attention.output.dense.bias"] = [w]
            s[b + "layernorm_before.weight"] = [w]; s[b + "layernorm_before.bias"] = [w]
            s[b + "layernorm_after.weight"] = [w]; s[b + "layernorm_after.bias"] = [w]
            s[b + "intermediate.dense.weight"] = [mlp, w]; s[b + "intermediate.dense.bias"] = [mlp]
            s[b + "output.dense.weight"] = [w, mlp]; s[b + "output.dense.bias"] = [w]
        }
        return s
    }

    struct CLIPSize {
        var width: Int, layers: Int, patch: Int, grid: Int, embed: Int, textWidth: Int, textLayers: Int = 12
        static let b32 = CLIPSize(width: 768, layers: 12, patch: 32, grid: 7, embed: 512, textWidth: 512)
        static let l14 = CLIPSize(width: 1024, layers: 24, patch: 14, grid: 16, embed: 768, textWidth: 768)
    }

    /// OpenAI's `CLIP` state dict (open_clip keeps it), with the scalars it also holds.
    static func openCLIP(_ c: CLIPSize, text: Bool = true) -> Shapes {
        let w = c.width
        var s: Shapes = ["visual.conv1.weight": [w, 3, c.patch, c.patch], "visual.class_embedding": [w],
                         "visual.positional_embedding": [c.grid * c.grid + 1, w], "visual.ln_pre.weight": [w], "visual.ln_pre.bias": [w],
                         "visual.ln_post.weight": [w], "visual.ln_post.bias": [w], "visual.proj": [w, c.embed], "logit_scale": []]
        func blocks(_ prefix: String, _ w: Int, _ n: Int) {
            for i in 0..<n {
                let b = prefix + "transformer.resblocks.\(i)."
                s[b + "ln_1.weight"] = [w]; s[b + "ln_1.bias"] = [w]; s[b + "ln_2.weight"] = [w]; s[b + "ln_2.bias"] = [w]
                s[b + "attn.in_proj_weight"] = [3 * w, w]; s[b + "attn.in_proj_bias"] = [3 * w]
                s[b + "attn.out_proj.weight"] = [w, w]; s[b + "attn.out_proj.bias"] = [w]
                s[b + "mlp.c_fc.weight"] = [4 * w, w]; s[b + "mlp.c_fc.bias"] = [4 * w]
                s[b + "mlp.c_proj.weight"] = [w, 4 * w]; s[b + "mlp.c_proj.bias"] = [w]
            }
        }
        blocks("visual.", w, c.layers)
        if text {
            let t = c.textWidth
            s["token_embedding.weight"] = [49408, t]; s["positional_embedding"] = [77, t]
            s["ln_final.weight"] = [t]; s["ln_final.bias"] = [t]; s["text_projection"] = [t, c.embed]
            blocks("", t, c.textLayers)
        }
        return s
    }

    /// transformers' `CLIPModel` state dict (openai/clip-vit-*), with its position ids and scale.
    static func hfCLIP(_ c: CLIPSize) -> Shapes {
        let w = c.width, t = c.textWidth
        var s: Shapes = ["vision_model.embeddings.patch_embedding.weight": [w, 3, c.patch, c.patch],
                         "vision_model.embeddings.class_embedding": [w],
                         "vision_model.embeddings.position_embedding.weight": [c.grid * c.grid + 1, w],
                         "vision_model.embeddings.position_ids": [1, c.grid * c.grid + 1],
                         "vision_model.pre_layrnorm.weight": [w], "vision_model.pre_layrnorm.bias": [w],
                         "vision_model.post_layernorm.weight": [w], "vision_model.post_layernorm.bias": [w],
                         "visual_projection.weight": [c.embed, w], "logit_scale": [],
                         "text_model.embeddings.token_embedding.weight": [49408, t], "text_model.embeddings.position_embedding.weight": [77, t],
                         "text_model.embeddings.position_ids": [1, 77],
                         "text_model.final_layer_norm.weight": [t], "text_model.final_layer_norm.bias": [t], "text_projection.weight": [c.embed, t]]
        func blocks(_ prefix: String, _ w: Int, _ n: Int) {
            for i in 0..<n {
                let b = prefix + "encoder.layers.\(i)."
                for n in ["q_proj", "k_proj", "v_proj", "out_proj"] { s[b + "self_attn.\(n).weight"] = [w, w]; s[b + "self_attn.\(n).bias"] = [w] }
                s[b + "layer_norm1.weight"] = [w]; s[b + "layer_norm1.bias"] = [w]; s[b + "layer_norm2.weight"] = [w]; s[b + "layer_norm2.bias"] = [w]
                s[b + "mlp.fc1.weight"] = [4 * w, w]; s[b + "mlp.fc1.bias"] = [4 * w]
                s[b + "mlp.fc2.weight"] = [w, 4 * w]; s[b + "mlp.fc2.bias"] = [w]
            }
        }
        blocks("vision_model.", w, c.layers)
        blocks("text_model.", t, c.textLayers)
        return s
    }

    /// A HF CLIP config.json as openai/clip-vit-large-patch14's (the fields Gallop reads).
    static func hfCLIPConfig(_ c: CLIPSize, eos: Double = 2) -> [String: any Sendable] {
        ["projection_dim": Double(c.embed),
         "vision_config": ["hidden_size": Double(c.width), "num_hidden_layers": Double(c.layers), "num_attention_heads": Double(c.width / 64),
                           "intermediate_size": Double(4 * c.width), "patch_size": Double(c.patch), "image_size": Double(c.grid * c.patch),
                           "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5] as [String: any Sendable],
         "text_config": ["hidden_size": Double(c.textWidth), "num_hidden_layers": 12.0, "num_attention_heads": Double(c.textWidth / 64),
                         "intermediate_size": Double(4 * c.textWidth), "vocab_size": 49408.0, "max_position_embeddings": 77.0,
                         "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "eos_token_id": eos] as [String: any Sendable]]
    }

    func resolve(_ s: Shapes, _ configs: ModelConfigs = ModelConfigs()) throws -> Architecture {
        try Architecture.resolve(shapes: s, configs: configs, path: "w.safetensors")
    }

    func assertError(_ s: Shapes, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        assertError(s, ModelConfigs(), expected, file: file, line: line)
    }

    func assertError(_ s: Shapes, _ configs: ModelConfigs, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try resolve(s, configs), file: file, line: line) {
            XCTAssertEqual(($0 as? ModelError)?.description, expected, file: file, line: line)
        }
    }

    // MARK: - Full-size architectures

    func testDINOViTB16() throws {
        let a = try resolve(Self.dinoTimm())
        XCTAssertEqual(a.layout, .dinoTimm)
        XCTAssertEqual(a.vision, VisionArchitecture(stack: StackShape(width: 768, depth: 12, heads: 12, mlp: 3072, eps: 1e-6, activation: .gelu),
                                                    patch: 16, grid: 14, patchBias: true, lnPre: false, projection: nil))
        XCTAssertNil(a.text)
        XCTAssertEqual(a.summary, "DINO/timm names, ViT-B/16 (W 768, depth 12, heads 12, mlp 3072, eps 1e-6, gelu, patch 16, grid 14)")
        // timm's config.json names the architecture; its table gives the heads.
        let timm = ModelConfigs(config: ("config.json", ["architecture": "vit_base_patch16_224"]))
        XCTAssertEqual(try resolve(Self.dinoTimm(), timm), a)
        XCTAssertEqual(try resolve(Self.dinoTimm(width: 384, mlp: 1536), ModelConfigs(config: ("config.json", ["architecture": "vit_small_patch16_224"]))).vision?.stack.heads, 6)
        XCTAssertEqual(a.tensorSpecs().count, 4 + 12 * 12 + 2)
    }

    func testDINOHFLayout() throws {
        for prefix in ["", "vit."] {
            let a = try resolve(Self.hfViT(prefix: prefix), ModelConfigs(config: ("config.json", [
                "hidden_size": 768.0, "num_hidden_layers": 12.0, "num_attention_heads": 12.0, "intermediate_size": 3072.0,
                "patch_size": 16.0, "image_size": 224.0, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "qkv_bias": true])))
            XCTAssertEqual(a.layout, .hfViT)
            XCTAssertEqual(a.vision?.stack, StackShape(width: 768, depth: 12, heads: 12, mlp: 3072, eps: 1e-12, activation: .gelu))
            XCTAssertEqual(a.names("L3.qkv.w"), ["query", "key", "value"].map { "\(prefix)encoder.layer.3.attention.attention.\($0).weight" })
            XCTAssertEqual(a.names("patch.b"), ["\(prefix)embeddings.patch_embeddings.projection.bias"])
        }
        // Without config.json: HF ViT's defaults (heads W/64, ε 1e-12).
        XCTAssertEqual(try resolve(Self.hfViT()).vision?.stack, StackShape(width: 768, depth: 12, heads: 12, mlp: 3072, eps: 1e-12, activation: .gelu))
    }

    func testCLIPViTB32OpenAI() throws {
        let a = try resolve(Self.openCLIP(.b32))
        XCTAssertEqual(a.layout, .openCLIP)
        XCTAssertEqual(a.vision, VisionArchitecture(stack: StackShape(width: 768, depth: 12, heads: 12, mlp: 3072, eps: 1e-5, activation: .quickGELU),
                                                    patch: 32, grid: 7, patchBias: false, lnPre: true, projection: 512))
        XCTAssertEqual(a.text, TextArchitecture(stack: StackShape(width: 512, depth: 12, heads: 8, mlp: 2048, eps: 1e-5, activation: .quickGELU),
                                                vocabulary: 49408, context: 77, projection: 512, eosTokenID: nil))
        XCTAssertEqual(a.summary, "OpenAI/open_clip names, ViT-B/32 (W 768, depth 12, heads 12, mlp 3072, eps 1e-5, quick_gelu, patch 32, grid 7, projection 512) + text (W 512, depth 12, heads 8, mlp 2048, eps 1e-5, quick_gelu, vocabulary 49408, context 77, projection 512, EOT = argmax id)")
        XCTAssertEqual(a.names("L0.qkv.w"), ["visual.transformer.resblocks.0.attn.in_proj_weight"])
        XCTAssertEqual(a.names("t.L11.qkv.b"), ["transformer.resblocks.11.attn.in_proj_bias"])
        // open_clip's config: quick_gelu false (LAION-trained models) means exact GELU; head_width sets heads.
        let cfg = ModelConfigs(openCLIP: ("open_clip_config.json", ["model_cfg": [
            "embed_dim": 512.0, "quick_gelu": false,
            "vision_cfg": ["width": 768.0, "layers": 12.0, "patch_size": 32.0, "image_size": 224.0, "head_width": 128.0] as [String: any Sendable],
            "text_cfg": ["width": 512.0, "layers": 12.0, "heads": 4.0, "context_length": 77.0, "vocab_size": 49408.0] as [String: any Sendable],
        ] as [String: any Sendable]]))
        let b = try resolve(Self.openCLIP(.b32), cfg)
        XCTAssertEqual(b.vision?.stack.heads, 6)
        XCTAssertEqual(b.vision?.stack.activation, .gelu)
        XCTAssertEqual(b.text?.stack.heads, 4)
        XCTAssertEqual(b.text?.stack.activation, .gelu)
        // A vision-only file has no text tower.
        XCTAssertNil(try resolve(Self.openCLIP(.b32, text: false)).text)
    }

    func testCLIPViTL14BothLayouts() throws {
        let openai = try resolve(Self.openCLIP(.l14))
        let vision = VisionArchitecture(stack: StackShape(width: 1024, depth: 24, heads: 16, mlp: 4096, eps: 1e-5, activation: .quickGELU),
                                        patch: 14, grid: 16, patchBias: false, lnPre: true, projection: 768)
        let text = TextArchitecture(stack: StackShape(width: 768, depth: 12, heads: 12, mlp: 3072, eps: 1e-5, activation: .quickGELU),
                                    vocabulary: 49408, context: 77, projection: 768, eosTokenID: nil)
        XCTAssertEqual(openai.vision, vision)
        XCTAssertEqual(openai.text, text)
        // HF names, without a config (OpenAI's rule) and with openai/clip-vit-large-patch14's (legacy eos 2: argmax).
        let bare = try resolve(Self.hfCLIP(.l14))
        XCTAssertEqual(bare.layout, .hfCLIP)
        XCTAssertEqual(bare.vision, vision)
        XCTAssertEqual(bare.text, text)
        let configured = try resolve(Self.hfCLIP(.l14), ModelConfigs(config: ("config.json", Self.hfCLIPConfig(.l14))))
        XCTAssertEqual(configured.vision, vision)
        XCTAssertEqual(configured.text, text)
        XCTAssertEqual(configured.names("L7.qkv.b"), ["q_proj", "k_proj", "v_proj"].map { "vision_model.encoder.layers.7.self_attn.\($0).bias" })
        XCTAssertEqual(configured.names("proj"), ["visual_projection.weight"])
        // A config with eos_token_id 49407 pools at the first 49407.
        XCTAssertEqual(try resolve(Self.hfCLIP(.l14), ModelConfigs(config: ("config.json", Self.hfCLIPConfig(.l14, eos: 49407)))).text?.eosTokenID, 49407)
        XCTAssertEqual(try resolve(Self.hfCLIP(.b32)).vision?.projection, 512)
    }

    func testAestheticHead() throws {
        let a = try resolve(["weight": [1, 768], "bias": [1]])
        XCTAssertEqual(a.layout, .aestheticHead)
        XCTAssertEqual(a.aestheticInput, 768)
        XCTAssertEqual(a.summary, "LAION aesthetic head, linear 768 → 1")
    }

    // MARK: - Errors

    func testRejectedLayouts() {
        assertError(["foo.weight": [3], "bar": [1, 2]],
                    "w.safetensors: unknown weights layout: none of DINO/timm (cls_token, blocks.0.attn.qkv.weight), HF ViT (embeddings.cls_token), OpenAI/open_clip (visual.conv1.weight, visual.proj), HF CLIP (vision_model.…) or the aesthetic head (weight (1, D), bias (1)) fits the file's 2 tensor names ('bar', 'foo.weight')")
        var timmCLIP = Self.dinoTimm()
        timmCLIP["norm_pre.weight"] = [768]; timmCLIP["head.weight"] = [512, 768]
        assertError(timmCLIP, "w.safetensors: timm's CLIP layout (norm_pre, blocks.N) is not supported; use the checkpoint's open_clip_model.safetensors (with open_clip_config.json) or the HF CLIPModel model.safetensors")
        var mlp: Shapes = [:]
        for (i, (o, n)) in [(1024, 768), (128, 1024), (64, 128), (16, 64), (1, 16)].enumerated() {
            mlp["layers.\(2 * i).weight"] = [o, n]; mlp["layers.\(2 * i).bias"] = [o]
        }
        assertError(mlp, "w.safetensors: this is the improved-aesthetic MLP (layers.N.*, christophschuhmann/improved-aesthetic-predictor), not VBench's linear aesthetic head (sa_0_4_vit_l_14_linear.pth, keys weight and bias)")
        // A head with another shape is not the aesthetic head.
        XCTAssertThrowsError(try resolve(["weight": [2, 768], "bias": [2]]))
    }

    func testMissingAndWrongTensors() {
        var s = Self.dinoTimm()
        s["blocks.5.mlp.fc2.bias"] = nil
        assertError(s, "w.safetensors: missing tensor 'blocks.5.mlp.fc2.bias' (L5.fc2.b) for the layout assumed, DINO/timm names")
        s = Self.dinoTimm()
        s["blocks.3.attn.proj.weight"] = [768, 767]
        assertError(s, "w.safetensors: tensor 'blocks.3.attn.proj.weight' (L3.out.w) has shape [768, 767]; DINO/timm names, ViT-B/16 (W 768, depth 12, heads 12, mlp 3072, eps 1e-6, gelu, patch 16, grid 14) expects [768, 768]")
        s = Self.hfViT()
        s["encoder.layer.2.attention.attention.value.weight"] = nil
        assertError(s, "w.safetensors: missing tensor 'encoder.layer.2.attention.attention.value.weight' (L2.qkv.w) for the layout assumed, HF ViT names")
        s = Self.openCLIP(.b32)
        s["visual.proj"] = nil
        assertError(s, "w.safetensors: unknown weights layout: none of DINO/timm (cls_token, blocks.0.attn.qkv.weight), HF ViT (embeddings.cls_token), OpenAI/open_clip (visual.conv1.weight, visual.proj), HF CLIP (vision_model.…) or the aesthetic head (weight (1, D), bias (1)) fits the file's \(s.count) tensor names ('ln_final.bias', 'ln_final.weight', 'logit_scale', 'positional_embedding', …)")
        s = Self.openCLIP(.b32)
        s["text_projection"] = [512, 768, 1]
        assertError(s, "w.safetensors: tensor 'text_projection' has shape [512, 768, 1]; the layout assumed, OpenAI/open_clip names, expects 2 dimensions")
        s = Self.hfCLIP(.b32)
        s["vision_model.embeddings.position_embedding.weight"] = [51, 768]
        assertError(s, "w.safetensors: tensor 'vision_model.embeddings.position_embedding.weight' has 51 positions, not a square grid plus the class position")
        s = Self.dinoTimm(width: 100)
        assertError(s, "w.safetensors: width 100 is not a multiple of the head width 64 (DINO/timm's rule: heads = W/64)")
    }

    func testConfigErrors() {
        assertError(Self.hfViT(), ModelConfigs(config: ("dino/config.json", ["hidden_size": 1024.0])),
                    "dino/config.json: hidden_size is 1024 but the weights (w.safetensors) have 768")
        assertError(Self.hfViT(), ModelConfigs(config: ("dino/config.json", ["num_attention_heads": 7.0])),
                    "dino/config.json: num_attention_heads 7 does not divide the weights' width 768")
        assertError(Self.hfViT(), ModelConfigs(config: ("dino/config.json", ["hidden_act": "gelu_new"])),
                    "dino/config.json: hidden_act 'gelu_new' is not supported (only \"gelu\", exact, and \"quick_gelu\")")
        assertError(Self.hfViT(), ModelConfigs(config: ("dino/config.json", ["qkv_bias": false])),
                    "dino/config.json: qkv_bias false is not supported (the DINO and CLIP checkpoints all have query, key and value biases)")
        assertError(Self.dinoTimm(), ModelConfigs(config: ("dino/config.json", ["architecture": "vit_small_patch16_224"])),
                    "dino/config.json: architecture 'vit_small_patch16_224' has width 384 but the weights (w.safetensors) have 768")
        assertError(Self.dinoTimm(), ModelConfigs(config: ("dino/config.json", ["architecture": "deit_base_patch16_224"])),
                    "dino/config.json: architecture 'deit_base_patch16_224' is not one of timm's vit_tiny, vit_small, vit_base or vit_large ViTs")
        assertError(Self.openCLIP(.b32), ModelConfigs(openCLIP: ("clip/open_clip_config.json", ["model_cfg": ["vision_cfg": ["patch_size": 16.0] as [String: any Sendable]] as [String: any Sendable]])),
                    "clip/open_clip_config.json: patch_size is 16 but the weights (w.safetensors) have 32")
        assertError(Self.hfCLIP(.l14), ModelConfigs(config: ("clip/config.json", ["projection_dim": 512.0])),
                    "clip/config.json: projection_dim is 512 but the weights (w.safetensors) have 768")
    }

    /// Folder resolution: the weights' standard names, configs beside them, sharded and empty folders.
    func testFolderResolution() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("gallop-layouts-\(UUID().uuidString)").path
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        XCTAssertThrowsError(try ModelFiles.resolve(dir)) {
            XCTAssertEqual(($0 as? ModelError)?.description, "\(dir): the folder holds neither model.safetensors nor open_clip_model.safetensors")
        }
        XCTAssertTrue(fm.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data("{}".utf8)))
        XCTAssertThrowsError(try ModelFiles.resolve(dir)) {
            XCTAssertEqual(($0 as? ModelError)?.description, "\(dir): sharded weights (model.safetensors.index.json) are not supported; give a single model.safetensors")
        }
        XCTAssertThrowsError(try ModelFiles.resolve(dir + "/model.safetensors.index.json")) {
            XCTAssertEqual(($0 as? ModelError)?.reason, "sharded weights (a safetensors index) are not supported; give a single model.safetensors")
        }
        XCTAssertThrowsError(try ModelFiles.resolve(dir + "/nothing")) { XCTAssertEqual(($0 as? ModelError)?.reason, "no such file or folder") }
        XCTAssertTrue(fm.createFile(atPath: dir + "/open_clip_model.safetensors", contents: Data()))
        XCTAssertTrue(fm.createFile(atPath: dir + "/open_clip_config.json", contents: Data("{}".utf8)))
        var files = try ModelFiles.resolve(dir)
        XCTAssertEqual(files.weights, dir + "/open_clip_model.safetensors")
        XCTAssertEqual(files.openCLIPConfigPath, dir + "/open_clip_config.json")
        XCTAssertNil(files.configPath)
        // model.safetensors wins over open_clip_model.safetensors, and config.json is found beside it.
        XCTAssertTrue(fm.createFile(atPath: dir + "/model.safetensors", contents: Data()))
        XCTAssertTrue(fm.createFile(atPath: dir + "/config.json", contents: Data("[1]".utf8)))
        files = try ModelFiles.resolve(dir)
        XCTAssertEqual(files.weights, dir + "/model.safetensors")
        XCTAssertEqual(files.configPath, dir + "/config.json")
        XCTAssertThrowsError(try files.configs()) { XCTAssertEqual(($0 as? ModelError)?.description, "\(dir)/config.json: the config file is not a JSON object") }
        // An empty weights file is the safetensors reader's error, naming the file.
        XCTAssertThrowsError(try LoadedModel(path: dir + "/open_clip_model.safetensors")) {
            XCTAssertEqual(($0 as? SafetensorsError)?.cause, .headerTooSmall)
        }
    }
}
