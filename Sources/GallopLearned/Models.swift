import Foundation

/// The models Gallop's learned metrics read, by their config key (`models.<key>`, or `--weights DIR` finding
/// `DIR/<key>`). Each is a folder as downloaded (`model.safetensors` or `open_clip_model.safetensors`, with its
/// config beside it) or the `.safetensors` file itself (see ``ModelFiles``).
public enum ModelKey: String, Sendable, CaseIterable, Hashable, Comparable {
    case dinoViTB16 = "dino_vitb16"
    case clipViTB32 = "clip_vitb32"
    case clipViTL14 = "clip_vitl14"
    case laionAesthetic = "laion_aesthetic"

    public static func < (a: ModelKey, b: ModelKey) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The architecture the metrics were defined with, in words.
    public var expected: String {
        switch self {
        case .dinoViTB16: return "DINO ViT-B/16 (width 768, 12 blocks, patch 16, 224 px)"
        case .clipViTB32: return "CLIP ViT-B/32 (image width 768, 12 blocks, patch 32, 224 px, projection 512, with its text encoder)"
        case .clipViTL14: return "CLIP ViT-L/14 (image width 1024, 24 blocks, patch 14, 224 px, projection 768)"
        case .laionAesthetic: return "LAION's linear aesthetic head on ViT-L/14 features (768 → 1)"
        }
    }

    /// How to get the weights (not run by Gallop; the repositories as published on the Hugging Face Hub and GitHub).
    /// ViT-B/32 comes from timm's copy of OpenAI's weights: `openai/clip-vit-base-patch32` publishes no safetensors
    /// file on its main branch (PyTorch pickle, TensorFlow and Flax only), while timm's repository holds the whole
    /// model, text tower included, as `open_clip_model.safetensors` with its `open_clip_config.json` and tokenizer.
    public var download: String {
        switch self {
        case .dinoViTB16:
            return "huggingface-cli download timm/vit_base_patch16_224.dino model.safetensors config.json --local-dir weights/dino_vitb16"
        case .clipViTB32:
            return "huggingface-cli download timm/vit_base_patch32_clip_224.openai open_clip_model.safetensors open_clip_config.json merges.txt vocab.json --local-dir weights/clip_vitb32"
        case .clipViTL14:
            return "huggingface-cli download openai/clip-vit-large-patch14 model.safetensors config.json --local-dir weights/clip_vitl14"
        case .laionAesthetic:
            return "curl -LO https://github.com/LAION-AI/aesthetic-predictor/raw/main/sa_0_4_vit_l_14_linear.pth, then scripts/convert-aesthetic sa_0_4_vit_l_14_linear.pth weights/laion_aesthetic/model.safetensors (Gallop reads no pickle)"
        }
    }

    /// Whether an architecture is the one the metric was defined with (the tiny test models are not).
    public func accepts(_ a: Architecture) -> Bool {
        switch self {
        case .dinoViTB16:
            guard let v = a.vision, v.projection == nil else { return false }
            return v.stack.width == 768 && v.stack.depth == 12 && v.stack.heads == 12 && v.patch == 16 && v.grid == 14
        case .clipViTB32:
            guard let v = a.vision, a.text != nil else { return false }
            return v.stack.width == 768 && v.stack.depth == 12 && v.patch == 32 && v.grid == 7 && v.projection == 512
        case .clipViTL14:
            guard let v = a.vision else { return false }
            return v.stack.width == 1024 && v.stack.depth == 24 && v.patch == 14 && v.grid == 16 && v.projection == 768
        case .laionAesthetic:
            return a.aestheticInput == 768
        }
    }
}

/// One file a model reads, by name (its last path component: all sit in the model's folder), with the SHA-256
/// of its content.
public struct ModelFileHash: Sendable, Hashable, Codable {
    public var name: String
    public var sha256: String
    public init(name: String, sha256: String) {
        self.name = name
        self.sha256 = sha256
    }
}

/// A configured model, resolved once in the parent process: the weights file, its layout and its identity,
/// what the fingerprint records. The identity covers every file the model reads (``files``): the weights, the
/// configs beside them (`config.json`'s layer-norm ε and activation, `open_clip_config.json`'s widths) and,
/// for ViT-B/32, CLIP's tokenizer files, so that a changed config or vocabulary is another model and its rows
/// are not resumed. Workers receive it as it is (``json``) and do not hash again.
public struct ModelRef: Sendable, Hashable, Codable {
    public var key: String
    /// The path as configured (a folder or a file).
    public var path: String
    /// The safetensors file read.
    public var file: String
    /// SHA-256 of the lines `<name> <sha256>` of ``files`` sorted by name (``identity(of:)``).
    public var identity: String
    /// Every file the model reads, with its content hash.
    public var files: [ModelFileHash]
    /// The key layout (`Layout` raw value).
    public var layout: String
    /// The architecture in one line.
    public var architecture: String

    public init(key: String, path: String, file: String, identity: String, files: [ModelFileHash] = [], layout: String, architecture: String) {
        self.key = key
        self.path = path
        self.file = file
        self.identity = identity
        self.files = files
        self.layout = layout
        self.architecture = architecture
    }

    /// Resolves and hashes `path` for `key`: an error sentence names the file when the weights cannot be
    /// read, their layout cannot be told, or they are not the architecture the key stands for.
    /// Each file's hash comes from `cache` when the file is unchanged since it was hashed (``HashCache``).
    public static func resolve(_ key: ModelKey, path: String, cache: HashCache = .fromEnvironment()) throws -> ModelRef {
        let model = try LoadedModel(path: path)
        if !ModelStore.acceptsAnyArchitecture && !key.accepts(model.architecture) {
            throw ModelError(path: model.files.weights, reason: "models.\(key.rawValue) must be \(key.expected); this file holds \(model.architecture.summary)")
        }
        let files = try readFiles(key, model.files).map { ModelFileHash(name: ($0 as NSString).lastPathComponent, sha256: try cache.sha256(of: $0, hash: hashFile)) }
        return ModelRef(key: key.rawValue, path: path, file: model.files.weights, identity: identity(of: files), files: files,
                        layout: model.architecture.layout.rawValue, architecture: model.architecture.summary)
    }

    /// The files the model of `key` reads: the weights, the configs ``LoadedModel`` parses, and for ViT-B/32
    /// the tokenizer's files (``ModelStore/tokenizer(_:)`` reads them from the weights' folder), whether or not
    /// this run scores clip_score: the model is one thing whatever metrics use it.
    static func readFiles(_ key: ModelKey, _ files: ModelFiles) -> [String] {
        var read = [files.weights] + [files.configPath, files.openCLIPConfigPath].compactMap { $0 }
        if key == .clipViTB32 {
            let folder = (files.weights as NSString).deletingLastPathComponent
            read += CLIPTokenizer.files(folder: URL(fileURLWithPath: folder.isEmpty ? "." : folder)).map(\.path)
        }
        return read
    }

    /// The identity of a model reading `files`: SHA-256 of `<name> <sha256>\n` per file, sorted by name.
    public static func identity(of files: [ModelFileHash]) -> String {
        var sha = SHA256()
        sha.update(Array(files.sorted { $0.name < $1.name }.map { "\($0.name) \($0.sha256)\n" }.joined().utf8))
        return sha.hexDigest()
    }

    /// SHA-256 of a file, read in 4 MiB pieces.
    static func hashFile(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ModelError(path: path, reason: "cannot read the file") }
        defer { try? handle.close() }
        var sha = SHA256()
        while true {
            let data = handle.readData(ofLength: 4 << 20)
            if data.isEmpty { break }
            data.withUnsafeBytes { sha.update($0) }
        }
        return sha.hexDigest()
    }
}

/// The encoders of the configured models, loaded once per process (each worker process loads its own) and
/// shared by every clip it scores: a cache keyed by path and content hash, safe to use from several threads.
public final class ModelStore: @unchecked Sendable {
    public static let shared = ModelStore()

    /// Test-only: accept any architecture for any key, so the tiny fixture models (2 blocks, width 64) run the
    /// metrics' whole path. Production never sets it; the metrics are defined on the full-size models.
    nonisolated(unsafe) public static var acceptsAnyArchitecture = false

    private let lock = NSLock()
    private var models: [String: LoadedModel] = [:]
    private var vision: [String: VisionEncoder] = [:]
    private var text: [String: TextEncoder] = [:]
    private var heads: [String: AestheticHead] = [:]
    private var tokenizers: [String: CLIPTokenizer] = [:]

    private func cacheKey(_ ref: ModelRef, _ extra: String = "") -> String { ref.file + "\u{0}" + ref.identity + "\u{0}" + extra }

    private func loaded(_ ref: ModelRef) throws -> LoadedModel {
        if let m = models[cacheKey(ref)] { return m }
        let m = try LoadedModel(path: ref.file)
        models[cacheKey(ref)] = m
        return m
    }

    /// The image encoder of `ref`; `eps` replaces the layer norms' ε (DINO's metric pins VBench's 1e-6).
    public func visionEncoder(_ ref: ModelRef, eps: Float? = nil) throws -> VisionEncoder {
        lock.lock()
        defer { lock.unlock() }
        let key = cacheKey(ref, eps.map { "\($0)" } ?? "")
        if let e = vision[key] { return e }
        var model = try loaded(ref)
        if let eps, model.architecture.vision != nil { model = model.with(eps: eps) }
        let e = try VisionEncoder(model)
        vision[key] = e
        return e
    }

    public func textEncoder(_ ref: ModelRef) throws -> TextEncoder {
        lock.lock()
        defer { lock.unlock() }
        if let e = text[cacheKey(ref)] { return e }
        let e = try TextEncoder(try loaded(ref))
        text[cacheKey(ref)] = e
        return e
    }

    public func aestheticHead(_ ref: ModelRef) throws -> AestheticHead {
        lock.lock()
        defer { lock.unlock() }
        if let h = heads[cacheKey(ref)] { return h }
        let h = try AestheticHead(try loaded(ref))
        heads[cacheKey(ref)] = h
        return h
    }

    /// CLIP's tokenizer from the files beside the weights (`merges.txt` + `vocab.json`, or `bpe_simple_vocab_16e6.txt`).
    public func tokenizer(_ ref: ModelRef) throws -> CLIPTokenizer {
        lock.lock()
        defer { lock.unlock() }
        let folder = (ref.file as NSString).deletingLastPathComponent
        if let t = tokenizers[folder] { return t }
        let t = try CLIPTokenizer.load(folder: URL(fileURLWithPath: folder.isEmpty ? "." : folder))
        tokenizers[folder] = t
        return t
    }
}

extension LoadedModel {
    /// The same model with every layer norm's ε of the image tower set to `eps`.
    func with(eps: Float) -> LoadedModel {
        var copy = self
        copy.architecture.vision?.stack.eps = eps
        return copy
    }
}
