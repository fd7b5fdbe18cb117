import GallopCore

/// `contrast`: RMS contrast, the standard deviation of the luma samples.
///
/// Per frame: √(mean(Y²) − mean(Y)²) in levels (population standard
/// deviation, as numpy's `Y.std()`). Clip: mean over frames. No better side:
/// flat, washed-out generations read low, harsh ones high. Ground truth: a
/// frame of two equal halves at a and b reads |a − b| / 2 (`MetricTests`).
/// Series: per-frame value.
public final class Contrast: Metric {
    public static let info = MetricInfo(
        name: "contrast", summary: "RMS contrast (std of luma)", direction: .none,
        unit: "levels", needs: [.lumaStats], temporal: false,
        about: "RMS contrast (luma standard deviation)",
        checkedAgainst: "two-level frames")

    private var values = PerFrameSeries()

    public init() {}

    public func consume(_ c: FrameContext) {
        guard let s = c.stats else { return }
        values.append(s.variance.squareRoot())
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput { values.output(Self.info) }
}
