import GallopCore

/// `scene_cuts`: hard cuts nobody asked for.
///
/// A pair is a cut when ``CutDetector`` says so: centred luma MAD (brightness
/// steps removed) at least max(12, 3 × median of the 6 pairs on each side + 4)
/// levels (`floor`, `factor`, `window`, `margin` in config section `scene_cuts`), and a local maximum, held frames skipped. This adaptive, luma-only rule differs on purpose from FFmpeg's scdet
/// (fixed threshold 10 on min(mafd, |Δmafd|) over all planes): flashes and
/// flicker are not cuts, and fast motion raises the bar. Headline: the number
/// of cuts (lower is better for single-shot generation). Extras: `frames`
/// (decoded-stream index of the first frame of each new shot) and `times` (s).
/// Ground truth: a clip spliced from two scenes has exactly one cut at the
/// splice; moving and flickering clips have none (`MetricTests`).
/// Series: the centred MAD per pair.
public final class SceneCuts: Metric {
    public static let info = MetricInfo(
        name: "scene_cuts", summary: "number of hard cuts (adaptive luma detector)",
        direction: .lower, unit: "cuts", needs: [.cuts], temporal: true)

    private var series: [Double?] = []
    private var sourceIndices: [Int] = []
    private var times: [Double] = []

    public init() {}

    public func consume(_ c: FrameContext) {
        series.append(c.lumaPair?.centredMAD)
        sourceIndices.append(c.frame.sourceIndex)
        times.append(c.frame.time)
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let n = series.count
        let cuts = clip.cuts.sorted()
        return MetricOutput(values: [(Self.info.name, n >= 2 ? Double(cuts.count) : nil)],
                            extras: [("frames", .array(cuts.map { .int(sourceIndices[$0]) })),
                                     ("times", .numbers(cuts.map { times[$0] }))],
                            series: series,
                            warnings: n >= 2 ? [] : ["scene_cuts needs at least two frames"])
    }
}
