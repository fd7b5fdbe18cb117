import GallopCore

/// `freeze_ratio` and `longest_freeze_s`: stutter and frozen frames.
///
/// A frame repeats its predecessor when no 16×16 luma block changed by more
/// than `block_tolerance` (3.5) levels on average and the whole frame by no more
/// than `mean_tolerance` (0.4; config section `freeze_ratio`). Calibrated on real clips re-encoded with every
/// other frame held (`scripts/verify realclips`, libx264 CRF 18): held pairs measured
/// at most 2.9 levels per block and 0.3 overall (one keyframe pair 0.55);
/// real motion at least 0.6 overall even on a blurred 176×144 clip whose
/// blocks change by only 1.9, and 17 per block on 720p. `freeze_ratio` = repeated frames /
/// frames. A still span is a run of repeated frames with the frame they repeat;
/// it lasts from that frame's timestamp to the next different frame's (or the
/// clip's end). It is a freeze when it holds two or more frames or lasts at
/// least 1.5 nominal frame intervals (the median interval), so a variable-rate
/// clip whose encoder merged a held frame into one long frame counts too.
/// `longest_freeze_s` is the longest freeze (0 when none). Extras: `spans`
/// as [start s, length s] pairs. Ground truth: a clip with every frame shown
/// twice reads 0.5 (`MetricTests`). Series: 1 for a repeated frame, else 0.
public final class Freeze: Metric {
    public static let info = MetricInfo(
        name: "freeze_ratio", summary: "share of frames that repeat their predecessor",
        direction: .lower, needs: [.lumaPair], temporal: true,
        tolerance: .absolute(0.05), composite: CompositeRole(group: "temporal", worst: 0.5, best: 0), series: .freeze,
        options: [
            .double("freeze_ratio", "block_tolerance", \.freeze.blockTolerance, 0...255, "a repeat changes no 16×16 block by more (mean |Δ|, levels)"),
            .double("freeze_ratio", "mean_tolerance", \.freeze.meanTolerance, 0...255, "… and the whole frame by no more (levels)"),
        ],
        secondary: [MetricInfo.value("longest_freeze_s", .lower, unit: "s")],
        about: "frames that repeat their predecessor (robust to encoder noise), and the longest freeze from timestamps",
        checkedAgainst: "held-frame clips, slow motion, one long variable-rate frame",
        toleranceReason: "one held frame in 20")

    private let options: MetricSettings.FreezeOptions

    private var series: [Double?] = []
    private var repeated = 0
    private var frames = 0
    private var intervals: [Double] = []
    /// Still spans as (start time, frames in span); the last one is open.
    private var spans: [(start: Double, frames: Int)] = []
    private var lastTime = 0.0
    private var lastDuration = 0.0

    public convenience init() { self.init(settings: MetricSettings()) }
    public init(settings: MetricSettings) { options = settings.freeze }

    public static func isRepeat(_ pair: Kernels.PairDifference, _ o: MetricSettings.FreezeOptions) -> Bool {
        pair.maxBlockMAD <= o.blockTolerance && pair.mad <= o.meanTolerance
    }

    public func consume(_ c: FrameContext) {
        frames += 1
        if let previous = c.previous { intervals.append(c.frame.time - previous.time) }
        lastTime = c.frame.time
        lastDuration = c.frame.duration
        if let pair = c.lumaPair, Freeze.isRepeat(pair, options) {
            repeated += 1
            series.append(1)
            spans[spans.count - 1].frames += 1
        } else {
            series.append(c.previous == nil ? nil : 0)
            spans.append((c.frame.time, 1))
        }
    }

    public func provisionalValue(at index: Int) -> Double? { series.indices.contains(index) ? series[index] : nil }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard frames >= 2 else {
            return MetricOutput(values: [(Self.info.name, nil), ("longest_freeze_s", nil)], series: series,
                                warnings: ["freeze_ratio needs at least two frames"])
        }
        let nominal = Series.median(intervals) ?? lastDuration
        let end = lastTime + (lastDuration > 0 ? lastDuration : nominal)
        var freezes: [(Double, Double)] = []
        for (i, span) in spans.enumerated() {
            let spanEnd = i + 1 < spans.count ? spans[i + 1].start : end
            let length = spanEnd - span.start
            if span.frames >= 2 || length >= 1.5 * nominal { freezes.append((span.start, length)) }
        }
        let longest = freezes.map(\.1).max() ?? 0
        return MetricOutput(
            values: [(Self.info.name, Double(repeated) / Double(frames)), ("longest_freeze_s", longest)],
            extras: [("spans", .array(freezes.map { .numbers([$0.0, $0.1]) }))],
            series: series)
    }
}

/// Its config section's values (``MetricInfo/options`` declares their names, ranges and help).
extension MetricSettings {
    /// When a frame repeats its predecessor (`freeze_ratio`, and the held frames `flicker_index` skips).
    public struct FreezeOptions: Sendable, Hashable {
        public var blockTolerance = 3.5
        public var meanTolerance = 0.4
        public init() {}
    }
}
