import GallopCore

/// `dynamic_degree`: VBench's dynamic-degree rule on Gallop's flow.
///
/// VBench (`vbench/dynamic_degree.py`) samples frames about 8 fps apart
/// (step k = max(1, round(fps / 8))), takes per sampled pair the mean of the
/// top 5% RAFT flow magnitudes at native size, and calls the clip dynamic when
/// at least round(4·N/16) pairs exceed 6·min(H, W)/256 (N sampled frames).
/// Gallop computes flow between consecutive frames at the motion analysis
/// size, so a k-apart pair's statistic is taken as the sum of the k
/// consecutive top-5% means, and the threshold is the same rule at the
/// analysis size, 6·min(h, w)/256 px (sizes scale out). The rule was kept as
/// VBench states it rather than refitted, since DIS and RAFT agree on
/// translations within a few percent (`FlowTests`); flows that RAFT smooths
/// differently can move borderline clips. Headline: 1 when dynamic, else 0
/// (its mean over clips is VBench's dimension score); `dynamic_fraction`: the
/// share of sampled pairs above the threshold. Series: top-5% mean per pair.
public final class DynamicDegree: Metric {
    public static let info = MetricInfo(
        name: "dynamic_degree", summary: "1 when the clip is dynamic by VBench's rule, else 0", direction: .none,
        needs: [.flow], temporal: true,
        options: [
            .double("dynamic_degree", "threshold_scale", \.dynamic.thresholdScale, 0...256, "dynamic above this many px per 256 px of the short side"),
            .double("dynamic_degree", "sample_fps", \.dynamic.sampleFPS, 0.1...1000, "flow is summed over steps of about 1/sample_fps s"),
        ],
        secondary: [MetricInfo.value("dynamic_fraction", .none)],
        about: "1 when the clip is dynamic by VBench's rule (top-5% flow over ~8 fps steps vs 6·min(H,W)/256), else 0",
        checkedAgainst: "slow and fast pans either side of the threshold")

    private var series: [Double?] = []
    private var tops: [Double] = []
    private var times: [Double] = []
    private var shortSide = 0
    private let options: MetricSettings.DynamicOptions

    public convenience init() { self.init(settings: MetricSettings()) }
    public init(settings: MetricSettings) { options = settings.dynamic }

    public func consume(_ c: FrameContext) {
        times.append(c.frame.time)
        guard let m = c.motion, let magnitude = m.forwardMagnitude else { series.append(nil); return }
        shortSide = min(m.image.width, m.image.height)
        let top = magnitude.top5
        tops.append(top)
        series.append(top)
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard !tops.isEmpty else {
            return MetricOutput(values: [(Self.info.name, nil), ("dynamic_fraction", nil)], series: series,
                                warnings: ["dynamic_degree needs at least two frames"])
        }
        let intervals = zip(times.dropFirst(), times).map { $0 - $1 }
        let fps = 1 / max(1e-6, Series.median(intervals) ?? 1.0 / 25)
        let step = max(1, Int((fps / options.sampleFPS).rounded()))
        let threshold = options.thresholdScale * Double(shortSide) / 256
        var groups: [Double] = []
        var start = 0
        while start + step <= tops.count {
            groups.append(tops[start..<(start + step)].reduce(0, +))
            start += step
        }
        if groups.isEmpty { groups = [tops.reduce(0, +)] }
        let above = groups.filter { $0 > threshold }.count
        let sampledFrames = groups.count + 1
        let needed = max(1, Int((4.0 * Double(sampledFrames) / 16).rounded()))
        return MetricOutput(values: [(Self.info.name, above >= needed ? 1 : 0), ("dynamic_fraction", Double(above) / Double(groups.count))],
                            extras: [("threshold_px", .number(threshold)), ("step", .int(step))], series: series)
    }
}

/// Its config section's values (``MetricInfo/options`` declares their names, ranges and help).
extension MetricSettings {
    public struct DynamicOptions: Sendable, Hashable {
        /// VBench's threshold: this many px per 256 px of the short side.
        public var thresholdScale = 6.0
        /// Pairs are grouped into steps of about 1/sampleFPS s.
        public var sampleFPS = 8.0
        public init() {}
    }
}
