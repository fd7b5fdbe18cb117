import GallopCore

/// `motion_magnitude`: how far things move, in pixels per frame.
///
/// Per pair: the mean magnitude |(u, v)| of the dense forward flow (``DISFlow``
/// at the motion analysis size), scaled to a reference long side of 512 px so
/// that clips of different resolutions compare; `motion_magnitude_top5` is
/// the mean of the largest 5% of magnitudes (VBench's statistic for
/// dynamic degree). Clip: means over pairs, hard cuts (``CutDetector``) left
/// out, since a cut has no motion to measure. No better side: a clip that
/// barely moves reads near 0. Ground truth: a pan of d px per frame reads
/// d ± 5% (`MotionTests`). Series: the per-pair mean.
public final class MotionMagnitude: Metric {
    public static let info = MetricInfo(
        name: "motion_magnitude", summary: "mean optical-flow magnitude, px/frame at 512 px long side", direction: .none,
        unit: "px/frame", needs: [.flow, .cuts], temporal: true, secondary: [MetricInfo.value("motion_magnitude_top5", .none, unit: "px/frame")],
        about: "mean optical-flow magnitude, px/frame at a 512 px long side, hard cuts left out",
        checkedAgainst: "a pan of d px/frame reads d ± 5%; a splice does not move the mean; Gaussian noise (σ 10, 25) raises it no more than DIS medium's mean flow (`scripts/verify crosscheck-flow`); grain on real footage adds at most 25% (`scripts/verify realclips`)")

    private var series: [Double?] = []
    private var tops: [Double?] = []

    private let settings: MetricSettings

    public convenience init() { self.init(settings: MetricSettings()) }
    public init(settings: MetricSettings) { self.settings = settings }

    public func consume(_ c: FrameContext) {
        guard let m = c.motion, let magnitude = m.forwardMagnitude else { series.append(nil); tops.append(nil); return }
        series.append(magnitude.mean * m.referenceScale)
        tops.append(magnitude.top5 * m.referenceScale)
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let cuts = clip.cuts
        let keep = series.indices.filter { !cuts.contains($0) }
        let means = keep.compactMap { series[$0] }, top = keep.compactMap { tops[$0] }
        return MetricOutput(values: [(Self.info.name, Series.mean(means)), ("motion_magnitude_top5", Series.mean(top))],
                            series: series, warnings: means.isEmpty ? ["motion_magnitude needs at least two frames"] : [])
    }
}
