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
        direction: .lower, unit: "cuts", needs: [.cuts], temporal: true,
        tolerance: .absolute(0.1), composite: CompositeRole(group: "temporal", worst: 1, best: 0), series: .cut,
        // The hard-cut detector's options: it serves every metric that leaves cuts out.
        options: [
            .double("scene_cuts", "floor", \.cuts.floor, 0...255, "a cut's centred luma MAD is at least this (levels)"),
            .double("scene_cuts", "factor", \.cuts.factor, 1...100, "… and at least factor × the median of its neighbours + margin"),
            .double("scene_cuts", "margin", \.cuts.margin, 0...255, "the margin above, in levels"),
            .int("scene_cuts", "window", \.cuts.window, 1...1000, "neighbour pairs on each side for that median"),
        ],
        about: "hard cuts, from an adaptive luma detector that ignores flashes, flicker and held frames",
        checkedAgainst: "spliced scenes; flicker and pans give no cuts; stutter (frames held ×2, ×3) adds none (bikes: 5 cuts held or not, 10 and 26 before)",
        toleranceReason: "a cut in one clip of ten")

    private var series: [Double?] = []
    private var sourceIndices: [Int] = []
    private var times: [Double] = []

    public init() {}

    public func consume(_ c: FrameContext) {
        series.append(c.lumaPair?.centredMAD)
        sourceIndices.append(c.frame.sourceIndex)
        times.append(c.frame.time)
    }

    public func provisionalValue(at index: Int) -> Double? { series.indices.contains(index) ? series[index] : nil }

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

/// Its config section's values (``MetricInfo/options`` declares their names, ranges and help).
extension MetricSettings {
    /// The hard-cut detector shared by `scene_cuts` and every metric that leaves cuts out.
    public struct CutOptions: Sendable, Hashable {
        public var floor = 12.0
        public var factor = 3.0
        public var margin = 4.0
        public var window = 6
        public init() {}
    }
}
