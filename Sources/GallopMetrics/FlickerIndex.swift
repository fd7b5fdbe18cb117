import Foundation
import GallopCore

/// `flicker_index`: brightness flicker that motion and held frames do not fool.
///
/// The frame is cut into a 4×4 grid; L_r(t) is the mean luma of cell r. Per
/// pair, the frame's brightness change is the median over cells of the
/// log-ratio, G(t) = median_r [ln(L_r(t) + 1) − ln(L_r(t−1) + 1)]: a global
/// gain moves every cell alike, while motion moves a few cells either way and
/// leaves the median near 0. The brightness curve B(t) = Σ G loses its smooth
/// trend (exposure drift, fades) through the halved second difference
/// R(t) = [B(t) − (B(t−1) + B(t+1)) / 2] / 2 = (G(t) − G(t+1)) / 4, scaled so
/// that brightness alternating by a factor e^{±s} reads s. Pairs that are hard
/// cuts (``CutDetector``) are left out. flicker_index = 100 × RMS_t R(t):
/// percent of brightness oscillation. A static clip reads 0; a gain alternating
/// ±s reads 100·s; i.i.d. per-frame log gains of standard deviation s read
/// 100·s·√6/4 ≈ 61·s (`MetricTests`). Holding every frame
/// twice never lowers it (a staircase has larger second
/// differences than the ramp it replaces), unlike `temporal_flickering`.
/// Series: R(t) × 100 (nil where undefined).
public final class FlickerIndex: Metric {
    public static let info = MetricInfo(
        name: "flicker_index", summary: "RMS of detrended global brightness oscillation, % (motion-robust)",
        direction: .lower, unit: "%", needs: [.lumaPair], temporal: true)

    /// G(t) per frame (nil for the first frame).
    private var gains: [Double?] = []
    /// Centred luma MAD per pair, for the shared cut decision.
    private var cutScores: [Double?] = []

    public init() {}

    public func consume(_ c: FrameContext) {
        cutScores.append(c.lumaPair?.centredMAD)
        guard let s = c.stats, let p = c.previousStats else { gains.append(nil); return }
        let changes = zip(s.regionMeans, p.regionMeans).map { log($0 + 1) - log($1 + 1) }
        gains.append(Series.median(changes))
    }

    public func finish() -> MetricOutput {
        for cut in CutDetector.cuts(in: cutScores) { gains[cut] = nil }
        var series = [Double?](repeating: nil, count: gains.count)
        var squares = 0.0, n = 0
        if gains.count >= 3 {
            for t in 1..<(gains.count - 1) {
                guard let g0 = gains[t], let g1 = gains[t + 1] else { continue }
                let r = (g0 - g1) / 4
                squares += r * r
                n += 1
                series[t] = 100 * r
            }
        }
        guard n > 0 else {
            return MetricOutput(values: [(Self.info.name, nil)], series: series,
                                warnings: ["flicker_index needs at least three frames without a cut"])
        }
        return MetricOutput(values: [(Self.info.name, 100 * (squares / Double(n)).squareRoot())], series: series)
    }
}
