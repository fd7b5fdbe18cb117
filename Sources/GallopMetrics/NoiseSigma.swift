import Foundation
import GallopCore

/// `noise_sigma`: Immerkær's fast noise variance estimate (Immerkær 1996,
/// "Fast Noise Variance Estimation", CVIU 64(2)).
///
/// Per frame: σ = √(π/2) · Σ|Y ∗ N| / (6 (W − 2)(H − 2)) with
/// N = [1 −2 1; −2 4 −2; 1 −2 1], over interior pixels, in luma levels. Clip:
/// mean over frames. N annihilates locally linear structure, so flat and
/// smoothly shaded content reads near 0 and added Gaussian noise of σ reads ≈ σ
/// (within 5% for σ in 2…20 on a flat frame, `MetricTests`); strong texture
/// reads as some noise. Lower is cleaner. Series: per-frame σ.
public final class NoiseSigma: Metric {
    public static let info = MetricInfo(
        name: "noise_sigma", summary: "Immerkær noise σ of the luma", direction: .lower,
        unit: "levels", needs: [.secondDifferences], temporal: false,
        tolerance: .relative(0.15), composite: CompositeRole(group: "quality", worst: 4, best: 0),
        about: "Immerkær's fast noise estimate (σ in levels)",
        checkedAgainst: "added Gaussian noise σ = 2…20 within 5%",
        toleranceReason: "encoders smooth noise: a re-encode lowered it by 3%")

    private var values = PerFrameSeries()
    private static let scale = (Double.pi / 2).squareRoot() / 6

    public init() {}

    public func consume(_ c: FrameContext) {
        guard let second = c.secondDifferences else { return }
        values.append(second.count > 0 ? NoiseSigma.scale * Double(second.immerkaerSum) / Double(second.count) : 0)
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput { values.output(Self.info) }
}
