import GallopCore

/// `motion_smoothness`: can the motion be interpolated? (VBench's dimension,
/// with flow-based interpolation in place of its AMT network.)
///
/// As VBench (`vbench/motion_smoothness.py`): keep frames 0, 2, 4, …, rebuild
/// each odd frame from its two neighbours at t = 0.5 and compare with the
/// real one. Gallop's interpolation: with F the flow from frame t−2 to t and G
/// the flow back, the middle frame is B(x) = ½ [I_{t−2}(x − ½F(x)) + I_t(x − ½G(x))]
/// (bilinear, motion-size luma). Score = (255 − mean |B − I_{t−1}|) / 255,
/// the mean over every rebuilt frame and pixel. Higher is smoother; stutter,
/// shuffled or jittering frames lower it. VBench scores RGB frames rebuilt by
/// AMT, so values differ from its table; rankings are what compare. Ground
/// truth: a steady pan rebuilds almost exactly (> 0.99), a shuffled clip
/// scores lower than its original (`MotionTests`). Series: per rebuilt frame
/// error (at the odd frame's index).
public final class MotionSmoothness: Metric {
    public static let info = MetricInfo(
        name: "motion_smoothness", summary: "1 − error of flow-interpolated middle frames / 255", direction: .higher,
        needs: [.skipFlow], temporal: true)

    private var series: [Double?] = []
    private var errors: [Double] = []

    public init() {}

    public func consume(_ c: FrameContext) {
        series.append(nil)
        guard let m = c.motion, let f = m.skipForward, let g = m.skipBackward, let a = m.twoBackImage, let real = m.previousImage else {
            return
        }
        let img = m.image
        var sum = 0.0
        for y in 0..<img.height {
            for x in 0..<img.width {
                let k = y * img.width + x
                let fromA = a.sample(Float(x) - 0.5 * f.u[k], Float(y) - 0.5 * f.v[k])
                let fromC = img.sample(Float(x) - 0.5 * g.u[k], Float(y) - 0.5 * g.v[k])
                sum += Double(abs(0.5 * (fromA + fromC) - real.pixels[k]))
            }
        }
        let error = sum / Double(img.width * img.height)
        errors.append(error)
        if series.count >= 2 { series[series.count - 2] = error }
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard !errors.isEmpty else {
            return MetricOutput(values: [(Self.info.name, nil)], series: series, warnings: ["motion_smoothness needs at least three frames"])
        }
        return MetricOutput(values: [(Self.info.name, (255 - Series.mean(errors)!) / 255)], series: series)
    }
}
