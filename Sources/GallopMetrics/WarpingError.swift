import GallopCore

/// `warping_error`: how badly the next frame fails to match this one once
/// motion is undone (EvalCrafter-style; conventions.md: not EvalCrafter's number).
///
/// Per pair (t−1, t): frame t is warped back onto t−1 with the forward flow,
/// W(x) = I_t(x + fw(x)) (bilinear), and the error is mean |W(x) − I_{t−1}(x)|
/// on the 0-255 luma scale over every pixel whose flow target lies inside the
/// frame (content that leaves the frame cannot be checked). Pixels that fail
/// the forward-backward check |fw(x) + bw(x + fw)|² > 0.01 (|fw|² + |bw|²) + 0.5
/// (EvalCrafter's rule) are counted, not dropped: EvalCrafter leaves them out,
/// so the less of a clip the flow can explain (morphing, frames out of order)
/// the less of it is measured, and shuffled frames can read better than the
/// original. Their share is `warping_error_occluded` (mean over pairs, 0–1).
/// Clip: mean over pairs, hard cuts left out (nothing warps across a cut).
/// Lower is better: morphing, flicker and artefacts that flow cannot explain
/// raise it; true occlusions at moving edges add a little. It rewards clips
/// that do not move (EvalCrafter issue 9): read it with `motion_magnitude`.
/// Ground truth: a pure translation of texture reads near 0 (< 1 level), a
/// brightness change of d reads ≈ d, frames shuffled in time read higher than
/// in order (`MotionTests`; real footage in `scripts/verify realclips`). Series: per-pair error.
public final class WarpingError: Metric {
    public static let info = MetricInfo(
        name: "warping_error", summary: "mean |frame − next frame warped back by the flow|, occluded pixels counted",
        direction: .lower, unit: "levels", needs: [.backwardFlow, .cuts], temporal: true,
        tolerance: .relative(0.2), composite: CompositeRole(group: "motion", worst: 10, best: 0), series: .warping,
        secondary: [MetricInfo.value("warping_error_occluded", .lower)],
        about: "mean |frame − next frame warped back by the flow| over every pixel whose flow stays in the frame; `_occluded` is the share failing the forward-backward check, counted in the mean (EvalCrafter drops them)",
        checkedAgainst: "a pure pan reads < 1 level; flicker raises it; frames shuffled in time read worse, on a still shot with a small mover too",
        toleranceReason: "a CRF 18 → 20 re-encode raised it by 7.5% on the test clips")

    private var series: [Double?] = []
    /// Per pair: the share of checked pixels that fail the forward-backward check.
    private var occludedShares: [Double?] = []

    private let settings: MetricSettings

    public convenience init() { self.init(settings: MetricSettings()) }
    public init(settings: MetricSettings) { self.settings = settings }

    public func consume(_ c: FrameContext) {
        guard let m = c.motion, let fw = m.forward, let bw = m.backward, let prev = m.previousImage else {
            series.append(nil)
            occludedShares.append(nil)
            return
        }
        let (sum, n, occluded) = FlowStats.warping(forward: fw, backward: bw, image: m.image, previous: prev)
        guard n > 0 else {
            series.append(nil)
            occludedShares.append(nil)
            return
        }
        series.append(sum / Double(n))
        occludedShares.append(Double(occluded) / Double(n))
    }

    public func provisionalValue(at index: Int) -> Double? { series.indices.contains(index) ? series[index] : nil }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let cuts = clip.cuts
        let kept = series.indices.filter { !cuts.contains($0) }
        let values = kept.compactMap { series[$0] }
        let shares = kept.compactMap { occludedShares[$0] }
        return MetricOutput(values: [(Self.info.name, Series.mean(values)), ("warping_error_occluded", Series.mean(shares))], series: series,
                     warnings: values.isEmpty ? ["warping_error needs at least two frames"] : [])
    }
}
