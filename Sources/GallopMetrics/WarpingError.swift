import GallopCore

/// `warping_error`: how badly the next frame fails to match this one once
/// motion is undone (EvalCrafter-style; conventions.md: not EvalCrafter's number).
///
/// Per pair (t−1, t): frame t is warped back onto t−1 with the forward flow,
/// W(x) = I_t(x + fw(x)) (bilinear), and the error is mean |W(x) − I_{t−1}(x)|
/// on the 0-255 luma scale over pixels that are not occluded by the
/// forward-backward check |fw(x) + bw(x + fw)|² > 0.01 (|fw|² + |bw|²) + 0.5
/// (``FlowStats/occluded(forward:backward:)``, EvalCrafter's rule). Clip: mean
/// over pairs, hard cuts (``CutDetector``) left out (nothing warps across a cut). Lower is better: morphing, flicker and artefacts that flow
/// cannot explain raise it. It rewards clips that do not move (EvalCrafter
/// issue 9): read it with `motion_magnitude`. Ground truth: a pure
/// translation of texture reads near 0 (< 1 level), a brightness change of d
/// reads ≈ d (`MotionTests`). Series: per-pair error.
public final class WarpingError: Metric {
    public static let info = MetricInfo(
        name: "warping_error", summary: "mean |frame − next frame warped back by the flow|, non-occluded pixels",
        direction: .lower, unit: "levels", needs: [.backwardFlow, .cuts], temporal: true)

    private var series: [Double?] = []

    private let settings: MetricSettings

    public convenience init() { self.init(settings: MetricSettings()) }
    public init(settings: MetricSettings) { self.settings = settings }

    public func consume(_ c: FrameContext) {
        guard let m = c.motion, let fw = m.forward, let bw = m.backward, let prev = m.previousImage else {
            series.append(nil)
            return
        }
        let occluded = FlowStats.occluded(forward: fw, backward: bw)
        var sum = 0.0, n = 0
        for y in 0..<fw.height {
            for x in 0..<fw.width {
                let k = y * fw.width + x
                if occluded[k] { continue }
                sum += Double(abs(m.image.sample(Float(x) + fw.u[k], Float(y) + fw.v[k]) - prev.pixels[k]))
                n += 1
            }
        }
        guard n > 0 else { series.append(nil); return }
        series.append(sum / Double(n))
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let cuts = clip.cuts
        let values = series.indices.filter { !cuts.contains($0) }.compactMap { series[$0] }
        return MetricOutput(values: [(Self.info.name, Series.mean(values))], series: series,
                     warnings: values.isEmpty ? ["warping_error needs at least two frames"] : [])
    }
}
