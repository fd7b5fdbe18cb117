import Foundation

/// Where a model's files are: the weights file and the configs beside it.
///
/// A model is given as a folder or as its `.safetensors` file, as a user downloads it: a folder holds
/// `model.safetensors` (HF and timm) or else `open_clip_model.safetensors` (open_clip), with `config.json` and
/// `open_clip_config.json` read from beside the weights when present. A file given directly finds the same
/// configs in its folder when it has one of those two standard names (so a folder and its weights file
/// resolve alike); a file with another name is read with no config (its layout's published rule gives the
/// heads, ε and activation). Sharded weights (`model.safetensors.index.json`) are not supported: none of
/// the checkpoints Gallop uses is sharded.
public struct ModelFiles: Sendable {
    public let weights: String
    public let configPath: String?
    public let openCLIPConfigPath: String?

    public static func resolve(_ path: String) throws -> ModelFiles {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ModelError(path: path, reason: "no such file or folder")
        }
        let folder: String, weights: String
        if isFolder.boolValue {
            folder = path
            let candidates = ["model.safetensors", "open_clip_model.safetensors"].map { (path as NSString).appendingPathComponent($0) }
            if let found = candidates.first(where: { fm.fileExists(atPath: $0) }) {
                weights = found
            } else if fm.fileExists(atPath: (path as NSString).appendingPathComponent("model.safetensors.index.json")) {
                throw ModelError(path: path, reason: "sharded weights (model.safetensors.index.json) are not supported; give a single model.safetensors")
            } else {
                throw ModelError(path: path, reason: "the folder holds neither model.safetensors nor open_clip_model.safetensors")
            }
        } else {
            if path.hasSuffix(".index.json") {
                throw ModelError(path: path, reason: "sharded weights (a safetensors index) are not supported; give a single model.safetensors")
            }
            weights = path
            let name = (path as NSString).lastPathComponent
            guard name == "model.safetensors" || name == "open_clip_model.safetensors" else {
                return ModelFiles(weights: path, configPath: nil, openCLIPConfigPath: nil)
            }
            folder = (path as NSString).deletingLastPathComponent
        }
        func beside(_ name: String) -> String? {
            let p = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(name)
            return fm.fileExists(atPath: p) ? p : nil
        }
        return ModelFiles(weights: weights, configPath: beside("config.json"), openCLIPConfigPath: beside("open_clip_config.json"))
    }

    /// The configs, parsed.
    public func configs() throws -> ModelConfigs {
        ModelConfigs(config: try configPath.map { ($0, try ModelConfigs.read($0)) },
                     openCLIP: try openCLIPConfigPath.map { ($0, try ModelConfigs.read($0)) })
    }
}

/// A weights file opened and its architecture resolved: what the encoders are built from.
public struct LoadedModel: Sendable {
    public let files: ModelFiles
    public let file: SafetensorsFile
    public internal(set) var architecture: Architecture

    /// Resolves `path` (a folder or a file, see `ModelFiles`), maps the weights and resolves the architecture.
    public init(path: String) throws {
        files = try ModelFiles.resolve(path)
        file = try SafetensorsFile(path: files.weights)
        architecture = try Architecture.resolve(shapes: file.tensors.mapValues(\.shape), configs: try files.configs(), path: files.weights)
    }

    /// The tensor for `role` as float32 (HF's q, k and v concatenated into one (3W, W) or (3W) tensor).
    public func tensor(_ role: String) throws -> Tensor {
        let names = architecture.names(role)
        precondition(!names.isEmpty, "LoadedModel: \(role) is not a role of \(architecture.layout)")
        if names.count == 1 { return try file.tensor(names[0]) }
        let parts = try names.map { try file.tensor($0) }
        var shape = parts[0].shape
        shape[0] *= parts.count
        return Tensor(shape: shape, values: parts.flatMap(\.values))
    }
}
