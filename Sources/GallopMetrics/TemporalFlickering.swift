import GallopCore

/// `temporal_flickering`: VBench's temporal-flickering dimension.
///
/// Per consecutive pair t: m_t = mean |RGB_t − RGB_{t−1}| over every pixel and
/// all three channels (8-bit). Score = (255 − mean_t m_t) / 255: 1 for a
/// static clip, lower for more change. Reference: VBench
/// `vbench/temporal_flickering.py` (OpenCV-decoded BGR frames, native size,
/// every frame); Gallop's RGB comes from libswscale with the stream's matrix
/// and range. Tolerance against that formula: 0.0005 (`scripts/verify crosscheck-fidelity`).
/// VBench scores only static clips with it; on moving or frozen clips it
/// rewards held frames (see `flicker_index`). Series: m_t.
public final class TemporalFlickering: Metric {
    public static let info = MetricInfo(
        name: "temporal_flickering", summary: "VBench temporal flickering: 1 − mean RGB change per frame / 255",
        direction: .higher, needs: [.rgbPair], temporal: true, resolution: .native,
        tolerance: .absolute(0.002), composite: CompositeRole(group: "temporal", worst: 0.9, best: 1),
        // VBench reads flicker on static-camera prompts; changing light (lightning, a candle) is left out.
        readOn: PromptFilter(tags: ["static"], except: ["lighting"]),
        about: "VBench's dimension: (255 − mean over pairs of mean |ΔRGB|) / 255",
        checkedAgainst: "a static clip gives exactly 1; a known step gives (255 − d)/255",
        toleranceReason: "a re-encode moves it by 0.0001; the demo's flicker by 0.02")

    private var series: [Double?] = []
    private var total = 0.0
    private var pairs = 0

    public init() {}

    public func consume(_ c: FrameContext) {
        guard let sad = c.rgbSAD else { series.append(nil); return }
        // RGB made from YUV has the luma's size.
        let size = c.frame.rgb.map { $0.width * $0.height } ?? c.frame.luma.width * c.frame.luma.height
        let m = Double(sad) / Double(size * 3)
        total += m
        pairs += 1
        series.append(m)
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard pairs > 0 else {
            return MetricOutput(values: [(Self.info.name, nil)], series: series,
                                warnings: ["temporal_flickering needs at least two frames"])
        }
        return MetricOutput(values: [(Self.info.name, (255 - total / Double(pairs)) / 255)], series: series)
    }
}
