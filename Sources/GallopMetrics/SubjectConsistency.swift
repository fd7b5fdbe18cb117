import GallopCore
import GallopLearned

/// `subject_consistency`: VBench 0.1.5's subject-consistency dimension (subject_consistency.py 30-69).
///
/// Each frame through VBench's `dino_transform` (short side to 224, bilinear without antialias, no crop,
/// ImageNet normalisation) and DINO ViT-B/16 (`dino_vitb16`, layer norm ε 1e-6 as DINO's `vit_base`, whatever
/// a config beside the weights says), its CLS feature L2-normalised; frame t ≥ 1 scores
/// (max(0, cos(f_{t−1}, f_t)) + max(0, cos(f_0, f_t))) / 2 and the clip's value is their mean over the N − 1
/// frames (``LearnedFormulas/consistency(_:)``). One frame: null and a warning (VBench divides by zero).
/// VBench's own dimension total is frame-weighted over videos in one process; Gallop's row is the video's value.
public final class SubjectConsistency: Metric {
    public static let info = MetricInfo(
        name: "subject_consistency", summary: "VBench subject consistency: DINO ViT-B/16 feature similarity to the first and previous frame",
        direction: .higher, needs: [.dinoFeatures], temporal: true, resolution: .native, tolerance: .absolute(0.01),
        about: "VBench's dimension: mean over frames 2…N of (max(0, cos(f_{t−1}, f_t)) + max(0, cos(f_0, f_t))) / 2, f = DINO ViT-B/16 CLS features of VBench's dino_transform (short side 224, bilinear, no crop; layer norm ε pinned to DINO's 1e-6). " + learnedSampling,
        checkedAgainst: "hand-computed features (1,0), (0.6,0.8), (−1,0) give 0.3 (the clamp at 0); the encoder and preprocessing against PyTorch fixtures (GallopLearnedTests)",
        toleranceReason: "a re-encode moves DINO features little; 0.01 is a visible change of the subject", models: [.dinoViTB16])

    public init() {}
    public func consume(_ c: FrameContext) {}

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        consistencyOutput(Self.info.name, .dinoFeatures, clip)
    }
}

/// The output of a first-and-previous consistency metric from its features.
func consistencyOutput(_ name: String, _ key: AnalysisKey, _ clip: ClipAnalyses) -> MetricOutput {
    if let failed = learnedFailure(name, key, clip) { return failed }
    let (value, series) = LearnedFormulas.consistency(clip.features[key]!)
    guard let value else {
        return MetricOutput(values: [(name, nil)], series: series, warnings: ["\(name) needs at least two frames"])
    }
    return MetricOutput(values: [(name, value)], series: series)
}
