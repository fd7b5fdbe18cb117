import GallopCore

/// `colorfulness`: Hasler and Süsstrunk's colourfulness (2003, "Measuring
/// colourfulness in natural images", SPIE 5007), the M̂(3) metric.
///
/// Per frame on 8-bit RGB: rg = R − G, yb = (R + G)/2 − B;
/// C = √(σ_rg² + σ_yb²) + 0.3 · √(μ_rg² + μ_yb²) (population statistics).
/// Clip: mean over frames. 0 for grey frames; about 15 "slightly", 33
/// "moderately", 59 "quite", 82 "highly", 109 "extremely colourful" on their
/// scale. No better side. Ground truth: a uniform frame (r, g, b) reads
/// 0.3·√((r−g)² + ((r+g)/2−b)²) (`MetricTests`). Series: per-frame C.
public final class Colorfulness: Metric {
    public static let info = MetricInfo(
        name: "colorfulness", summary: "Hasler–Süsstrunk colourfulness of the RGB frame", direction: .none,
        needs: [.opponentSums], temporal: false,
        about: "Hasler–Süsstrunk M̂(3)",
        checkedAgainst: "uniform and two-colour frames")

    private var values = PerFrameSeries()

    public init() {}

    public static func colorfulness(_ s: Kernels.OpponentSums) -> Double {
        let n = Double(s.count)
        let mrg = Double(s.rg) / n, myb = Double(s.yb2) / n / 2
        let vrg = max(0, Double(s.rgSquares) / n - mrg * mrg)
        let vyb = max(0, Double(s.yb2Squares) / n / 4 - myb * myb)
        return (vrg + vyb).squareRoot() + 0.3 * (mrg * mrg + myb * myb).squareRoot()
    }

    public func consume(_ c: FrameContext) {
        guard let sums = c.opponent else { return }
        values.append(Colorfulness.colorfulness(sums))
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput { values.output(Self.info) }
}
