import GallopCore

/// `exposure`: mean luma, and how much of the frame is crushed or blown.
///
/// Per frame: mean of the stored luma samples (levels, range as stored: 16-235
/// for limited-range clips); `exposure_clipped_low` / `exposure_clipped_high`:
/// the share of samples at or below 16 / at or above 235 for limited range (0
/// and 255 for full range). Clip: means over frames; `exposure_drift`: the
/// largest minus the smallest per-frame mean (levels), for clips whose
/// brightness wanders. No better side for the mean. Ground truth: constant
/// frames read their level exactly (`MetricTests`). Series: per-frame mean.
public final class Exposure: Metric {
    public static let info = MetricInfo(
        name: "exposure", summary: "mean luma; clipped shares at the range limits", direction: .none,
        unit: "levels", needs: [.lumaStats], temporal: false,
        secondary: [MetricInfo.value("exposure_clipped_low", .none), MetricInfo.value("exposure_clipped_high", .none),
                    MetricInfo.value("exposure_drift", .none, unit: "levels")],
        about: "mean luma; share at or beyond 16/235 (limited range) or 0/255 (full range)",
        checkedAgainst: "constant frames")

    private var values = PerFrameSeries()
    private var low: [Double] = []
    private var high: [Double] = []

    public init() {}

    public func consume(_ c: FrameContext) {
        guard let s = c.stats else { return }
        values.append(s.mean)
        low.append(Double(s.clippedLow) / Double(s.count))
        high.append(Double(s.clippedHigh) / Double(s.count))
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let drift = values.values.isEmpty ? nil : values.values.max()! - values.values.min()!
        return values.output(Self.info, secondary: [
            ("exposure_clipped_low", Series.mean(low)), ("exposure_clipped_high", Series.mean(high)), ("exposure_drift", drift),
        ])
    }
}
