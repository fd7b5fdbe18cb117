import GallopCore
import GallopLearned

/// `aesthetic_quality`: VBench 0.1.5's aesthetic-quality dimension (aesthetic_quality.py 20-78).
///
/// Each frame through `clip_transform` and CLIP ViT-L/14 (`clip_vitl14`), the image feature L2-normalised and
/// scored by LAION's linear aesthetic head (`laion_aesthetic`: `sa_0_4_vit_l_14_linear.pth`, w · f̂ + b), divided
/// by 10 as VBench does, averaged over the frames (``LearnedFormulas/aesthetic(_:head:)``). Series: each frame's value.
public final class AestheticQuality: Metric {
    public static let info = MetricInfo(
        name: "aesthetic_quality", summary: "VBench aesthetic quality: LAION's linear aesthetic head on CLIP ViT-L/14 features, / 10",
        direction: .higher, needs: [.clipL14Features], temporal: false, resolution: .native, tolerance: .absolute(0.01),
        about: "VBench's dimension: mean over frames of (w · f̂ + b) / 10, f̂ = the L2-normalised CLIP ViT-L/14 image feature of VBench's clip_transform, (w, b) LAION's linear aesthetic head (sa_0_4_vit_l_14_linear). " + learnedSampling,
        checkedAgainst: "hand-computed features and head give mean(w · f̂ + b) / 10; the encoder and preprocessing against PyTorch fixtures (GallopLearnedTests)",
        toleranceReason: "the head's scale is 1-10 before / 10: 0.01 is a tenth of a point", models: [.clipViTL14, .laionAesthetic])

    private let head: ModelRef?
    public init() { head = nil }
    public init(settings: MetricSettings) { head = settings.models[.laionAesthetic] }
    public func consume(_ c: FrameContext) {}

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let name = Self.info.name
        if let failed = learnedFailure(name, .clipL14Features, clip) { return failed }
        let h: AestheticHead
        do {
            guard let head else { throw ModelError(path: "models.laion_aesthetic", reason: "not configured") }
            h = try ModelStore.shared.aestheticHead(head)
        } catch {
            return MetricOutput(values: [(name, nil)], warnings: ["\(name) not computed: \(error)"])
        }
        let (value, series) = LearnedFormulas.aesthetic(clip.features[.clipL14Features]!, head: (h.weight, h.bias))
        return MetricOutput(values: [(name, value)], series: series, warnings: value == nil ? ["\(name): no frames"] : [])
    }
}
