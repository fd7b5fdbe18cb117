import GallopCore

/// `sharpness`: variance of the luma Laplacian (Pech-Pacheco et al. 2000).
///
/// Per frame: Var(Y ∗ [0 1 0; 1 −4 1; 0 1 0]) over interior pixels (the 3×3
/// kernel of OpenCV's `cv2.Laplacian(img, cv2.CV_64F).var()`, which also
/// counts a reflected border: the two agree within 1% at 64×64 and closer at
/// real sizes). Clip: mean over frames. Higher is sharper; noise also raises
/// it, so read it with `noise_sigma`. Ground truth: a checkerboard of ±a
/// levels has Laplacian ±8a at every interior pixel, variance 64a²
/// (`MetricTests`). Series: per-frame variance.
public final class Sharpness: Metric {
    public static let info = MetricInfo(
        name: "sharpness", summary: "variance of the luma Laplacian", direction: .higher,
        unit: "levels²", needs: [.secondDifferences], temporal: false,
        tolerance: .relative(0.15), composite: CompositeRole(group: "quality", worst: 5, best: 50), series: .blur,
        about: "variance of the 3×3 luma Laplacian",
        checkedAgainst: "checkerboard: 64a²",
        toleranceReason: "a CRF 18 → 20 re-encode lowered it by 6%")

    private var values = PerFrameSeries()

    public init() {}

    public func consume(_ c: FrameContext) {
        guard let second = c.secondDifferences else { return }
        values.append(second.laplacian.variance)
    }

    public func provisionalValue(at index: Int) -> Double? { values.value(at: index) }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput { values.output(Self.info) }
}
