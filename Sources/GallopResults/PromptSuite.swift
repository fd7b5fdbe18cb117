/// A prompt suite: what each prompt id asks for (format: prompts/README.md).
public struct PromptSuite: Sendable, Equatable {
    public struct Prompt: Sendable, Equatable {
        public var id: String
        public var text: String
        public var tags: [String]
        /// The camera move the prompt asks for (`static`, `pan_left`, …), if any.
        public var camera: String?
        public init(id: String, text: String, tags: [String], camera: String? = nil) {
            self.id = id
            self.text = text
            self.tags = tags
            self.camera = camera
        }
    }

    public var name: String
    public var version: Int
    public var prompts: [Prompt]
    /// The file the suite was read from (named in errors); nil for a suite built in code.
    public var file: String?
    private var index: [String: Int]

    public init(name: String, version: Int, prompts: [Prompt], file: String? = nil) {
        self.name = name
        self.version = version
        self.prompts = prompts
        self.file = file
        var index: [String: Int] = [:]
        for (i, p) in prompts.enumerated() where index[p.id] == nil { index[p.id] = i }
        self.index = index
    }

    public func prompt(_ id: String) -> Prompt? { index[id].map { prompts[$0] } }

    /// Every tag, in first-use order.
    public var tags: [String] {
        var seen = Set<String>()
        return prompts.flatMap(\.tags).filter { seen.insert($0).inserted }
    }

    /// When clips were given but not one of their prompt ids is in the suite, the error that says so
    /// (every clip would be left out, and the reports would read "0 clips from 0 models"): the suite file,
    /// the clips' prompt ids and the suite's, a few of each. nil when some clip is in the suite, or none was given.
    public func noClipIn(prompts clipPrompts: [String]) -> ResultsError? {
        guard !clipPrompts.isEmpty, !clipPrompts.contains(where: { prompt($0) != nil }) else { return nil }
        func few(_ ids: [String]) -> String {
            var seen = Set<String>()
            let unique = ids.filter { seen.insert($0).inserted }
            let shown = unique.count > 6 ? unique.prefix(5).joined(separator: ", ") + ", … (\(unique.count) in all)" : unique.joined(separator: ", ")
            return shown
        }
        return ResultsError("\(file ?? "prompt suite `\(name)`"): no clip's prompt id is in the suite, so every clip would be left out "
            + "(clip prompts: \(few(clipPrompts.sorted())); suite ids: \(few(prompts.map(\.id))))")
    }

    public static func == (a: PromptSuite, b: PromptSuite) -> Bool {
        a.name == b.name && a.version == b.version && a.prompts == b.prompts
    }
}
