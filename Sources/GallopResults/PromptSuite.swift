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
    private var index: [String: Int]

    public init(name: String, version: Int, prompts: [Prompt]) {
        self.name = name
        self.version = version
        self.prompts = prompts
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

    public static func == (a: PromptSuite, b: PromptSuite) -> Bool {
        a.name == b.name && a.version == b.version && a.prompts == b.prompts
    }
}
