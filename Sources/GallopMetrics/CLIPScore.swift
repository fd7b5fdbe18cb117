import GallopCore
import GallopLearned

/// `clip_score`: text–video alignment, torchmetrics' CLIP score (functional/multimodal/clip_score.py) on every
/// frame handed to metrics.
///
/// Each frame's CLIP ViT-B/32 image embedding (the pass `background_consistency` shares: VBench's
/// `clip_transform`) against the embedding of the clip's prompt text (from the suite given with `--prompts`,
/// CLIP's tokenizer from the merges beside the ViT-B/32 weights): per frame 100 · cos, the clip's value
/// max(0, mean) as torchmetrics clamps the mean (``LearnedFormulas/clipScore(_:text:)``; the same as the mean of
/// max(0, 100 · cos) unless some frame's cosine is negative). Two differences from torchmetrics, stated: the
/// images go through VBench's clip_transform rather than HF's CLIPProcessor (PIL, antialiased), and a text
/// over 77 tokens is truncated as open_clip does (keeping the end token). A clip without prompt text: null and
/// a warning.
public final class CLIPScore: Metric {
    public static let info = MetricInfo(
        name: "clip_score", summary: "CLIP score: 100 × cosine of each frame's CLIP ViT-B/32 embedding with the prompt's, averaged (torchmetrics)",
        direction: .higher, needs: [.clipB32Features], temporal: false, resolution: .native, tolerance: .absolute(1.0),
        about: "torchmetrics' CLIP score on VBench's clip_transform: max(0, mean over frames of 100 · cos(image, prompt text)), CLIP ViT-B/32; the text from --prompts. Frames: every frame handed to metrics (--every, --max-frames apply).",
        checkedAgainst: "hand-computed embeddings give max(0, mean 100 · cos); the encoders and tokenizer against PyTorch and open_clip fixtures (GallopLearnedTests)",
        toleranceReason: "CLIP scores of matching pairs sit near 30; a point is a visible change of alignment", models: [.clipViTB32])

    private let model: ModelRef?
    private let promptID: String?
    private let promptText: String?
    public init() { model = nil; promptID = nil; promptText = nil }
    public init(settings: MetricSettings) {
        model = settings.models[.clipViTB32]
        promptID = settings.promptID
        promptText = settings.promptText
    }
    public func consume(_ c: FrameContext) {}

    /// SHA-256 of the prompt text's UTF-8 bytes, hex: recorded in the row (`extras.clip_score.prompt_sha256`)
    /// so a resumed run rescores a clip whose prompt text has changed (the text is in neither the fingerprint
    /// nor the row). nil for no text (no value to record).
    public static func promptHash(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return Array(text.utf8).withUnsafeBytes { SHA256.hex($0) }
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let name = Self.info.name
        if let failed = learnedFailure(name, .clipB32Features, clip) { return failed }
        guard let promptText, !promptText.isEmpty else {
            return MetricOutput(values: [(name, nil)], warnings: ["no prompt text for '\(promptID ?? "")' (give --prompts)"])
        }
        let text: [Float]
        do {
            guard let model else { throw ModelError(path: "models.clip_vitb32", reason: "not configured") }
            let ids = try ModelStore.shared.tokenizer(model).tokenize(promptText).map(Int.init)
            text = try ModelStore.shared.textEncoder(model).encode(ids)
        } catch {
            return MetricOutput(values: [(name, nil)], warnings: ["\(name) not computed: \(error)"])
        }
        let (value, series) = LearnedFormulas.clipScore(clip.features[.clipB32Features]!, text: text)
        return MetricOutput(values: [(name, value)], extras: [("prompt_sha256", .string(Self.promptHash(promptText)!))], series: series,
                            warnings: value == nil ? ["\(name): no frames"] : [])
    }
}
