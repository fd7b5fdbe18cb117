import GallopCore
import GallopLearned

/// `background_consistency`: VBench 0.1.5's background-consistency dimension (background_consistency.py 23-65).
///
/// As ``SubjectConsistency`` with CLIP ViT-B/32 image features (`clip_vitb32`) of VBench's `clip_transform`
/// (short side to 224 bicubic without antialias on the float frame, centre crop 224 with Python's half-even
/// offsets, CLIP normalisation). The ViT-B/32 pass is shared with `clip_score`. VBench on a GPU runs CLIP in
/// fp16; Gallop matches its fp32 (CPU) path.
public final class BackgroundConsistency: Metric {
    public static let info = MetricInfo(
        name: "background_consistency", summary: "VBench background consistency: CLIP ViT-B/32 feature similarity to the first and previous frame",
        direction: .higher, needs: [.clipB32Features], temporal: true, resolution: .native, tolerance: .absolute(0.01),
        about: "VBench's dimension: mean over frames 2…N of (max(0, cos(f_{t−1}, f_t)) + max(0, cos(f_0, f_t))) / 2, f = CLIP ViT-B/32 image features of VBench's clip_transform (short side 224 bicubic, centre crop). " + learnedSampling,
        checkedAgainst: "the first-and-previous formula on hand-computed features (1,0), (0.6,0.8), (−1,0) give 0.3; the encoder and preprocessing against PyTorch fixtures (GallopLearnedTests)",
        toleranceReason: "0.01 is a visible change of the scene", models: [.clipViTB32])

    public init() {}
    public func consume(_ c: FrameContext) {}

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        consistencyOutput(Self.info.name, .clipB32Features, clip)
    }
}
