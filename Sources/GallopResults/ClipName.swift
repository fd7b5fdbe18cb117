/// Model, prompt and seed of a clip, read from its path.
///
/// Convention: `DIR/<model>/<prompt-id>[-<seed>].<ext>`. The model is the first
/// folder under DIR (deeper folders are kept in the prompt id:
/// `wan/animals/cat-3.mp4` is model `wan`, prompt `animals/cat`, seed 3). The
/// seed is the last `-` part of the file name only when it is all digits
/// (`a-cat-42.mp4`: prompt `a-cat`, seed 42; `a-cat.mp4`: prompt `a-cat`, no
/// seed). A clip directly in DIR has no model folder: `--model NAME` names it,
/// else its model is `default`.
public struct ClipName: Sendable, Equatable {
    public var model: String
    public var prompt: String
    public var seed: Int?

    public init(model: String, prompt: String, seed: Int?) {
        self.model = model
        self.prompt = prompt
        self.seed = seed
    }

    /// `relativePath` uses `/` separators and is relative to the scored folder.
    /// `model`, when given, overrides the folder convention (a flat folder of one model).
    public static func parse(relativePath: String, model: String? = nil) -> ClipName {
        var parts = relativePath.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let file = parts.removeLast()
        var stem = file
        if let dot = file.lastIndex(of: "."), dot != file.startIndex { stem = String(file[..<dot]) }
        var seed: Int?
        if let dash = stem.lastIndex(of: "-") {
            let tail = stem[stem.index(after: dash)...]
            let head = stem[..<dash]
            if !tail.isEmpty, !head.isEmpty, tail.allSatisfy(\.isASCII), tail.allSatisfy(\.isNumber), let s = Int(tail) {
                seed = s
                stem = String(head)
            }
        }
        if let model { return ClipName(model: model, prompt: (parts + [stem]).joined(separator: "/"), seed: seed) }
        let folderModel = parts.isEmpty ? "default" : parts.removeFirst()
        return ClipName(model: folderModel, prompt: (parts + [stem]).joined(separator: "/"), seed: seed)
    }
}
