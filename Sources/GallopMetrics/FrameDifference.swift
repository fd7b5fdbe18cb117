import GallopCore

/// `frame_diff`: how much the luma changes between consecutive frames.
///
/// Per pair t: MAD_t = mean |Y_t − Y_{t−1}| over the stored luma samples
/// (0-255 levels). Headline: mean_t MAD_t; `frame_diff_p95`: the 95th
/// percentile (linear interpolation, as numpy). No better side: a still clip
/// and a wild one are both visible here. Ground truth: a clip whose frames
/// differ by a known constant reads that constant (`MetricTests`). Series: MAD_t.
public final class FrameDifference: Metric {
    public static let info = MetricInfo(
        name: "frame_diff", summary: "mean absolute luma change between consecutive frames",
        direction: .none, unit: "levels", needs: [.lumaPair], temporal: true, series: .lumaStep,
        secondary: [MetricInfo.value("frame_diff_p95", .none, unit: "levels")],
        about: "mean luma |Δ| between consecutive frames",
        checkedAgainst: "constant steps")

    private var series: [Double?] = []
    private var values: [Double] = []

    public init() {}

    public func consume(_ c: FrameContext) {
        guard let pair = c.lumaPair else { series.append(nil); return }
        values.append(pair.mad)
        series.append(pair.mad)
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let warnings = values.isEmpty ? ["frame_diff needs at least two frames"] : []
        return MetricOutput(values: [(Self.info.name, Series.mean(values)), ("frame_diff_p95", Series.percentile(values, 95))],
                            series: series, warnings: warnings)
    }
}
