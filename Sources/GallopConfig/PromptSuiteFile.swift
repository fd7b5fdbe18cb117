import Foundation
import GallopMetrics
import GallopResults

/// Reads prompt suites (format: prompts/README.md).
public enum PromptSuiteFile {
    /// The camera moves a prompt may ask for: the classes `camera_motion` measures.
    public static var cameraMoves: [String] { CameraMotion.classes }

    public static func load(_ path: String) throws(ConfigError) -> PromptSuite {
        try parse(YAMLReader.contents(of: path, what: "prompt suite"), file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> PromptSuite {
        let r = YAMLReader(file: file)
        guard let root = try r.compose(text) else { throw ConfigError("\(file): empty prompt suite") }
        var name = (file as NSString).lastPathComponent
        name = (name as NSString).deletingPathExtension
        var version = 1
        var prompts: [PromptSuite.Prompt] = []
        var ids = Set<String>()
        for (key, node) in try r.mapping(root, "config", known: ["suite", "version", "description", "prompts"]) {
            switch key {
            case "suite": name = try r.string(node, "suite")
            case "version": version = try r.int(node, "version", 0...Int.max)
            case "description": _ = try r.string(node, "description")
            default:
                guard let items = node.sequence else { throw r.error(node, "prompts", "must be a list of prompts") }
                for item in items {
                    var id: String?, text = "", tags: [String] = [], camera: String?
                    for (k, v) in try r.mapping(item, "prompts[]", known: ["id", "text", "tags", "camera"]) {
                        switch k {
                        case "id": id = try r.string(v, "prompts[].id")
                        case "text": text = try r.string(v, "prompts[].text")
                        case "tags": tags = try r.strings(v, "prompts[].tags")
                        default:
                            let move = try r.string(v, "prompts[].camera")
                            guard cameraMoves.contains(move) else {
                                throw r.error(v, "prompts[].camera", "unknown camera move '\(move)'; known: \(cameraMoves.joined(separator: ", "))")
                            }
                            camera = move
                        }
                    }
                    guard let id else { throw r.error(item, "prompts[]", "a prompt needs an id") }
                    // Clips are named <id>.mp4 or <id>-<seed>.mp4: both must read back as this id.
                    guard ClipName.parse(relativePath: "m/\(id).mp4").prompt == id, ClipName.parse(relativePath: "m/\(id)-1.mp4").prompt == id, !id.hasPrefix("/"), !id.hasSuffix("/") else {
                        throw r.error(item, "prompts[].id", "'\(id)' cannot be a clip's prompt id (a trailing -digits part is read as the seed)")
                    }
                    guard ids.insert(id).inserted else { throw r.error(item, "prompts[].id", "'\(id)' is given twice") }
                    prompts.append(.init(id: id, text: text, tags: tags, camera: camera))
                }
            }
        }
        guard !prompts.isEmpty else { throw ConfigError("\(file): the suite has no prompts") }
        return PromptSuite(name: name, version: version, prompts: prompts, file: file)
    }
}
