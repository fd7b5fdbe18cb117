import GallopCore

/// `loudness_range`: EBU Tech 3342's loudness range (LRA) of the clip's sound, as FFmpeg's `ebur128`
/// computes it (``LoudnessMeter``): 3 s blocks every 100 ms, −70 LUFS and −20 LU gates, the 95th minus the
/// 10th percentile over a 1/100 LU histogram. No better side (speech and music want different ranges). Null
/// without sound, for silence, and under 3 s of sound (not one block; FFmpeg prints 0 there).
public final class LoudnessRange: Metric {
    public static let info = MetricInfo(
        name: "loudness_range", summary: "loudness range of the sound (EBU Tech 3342)", direction: .none,
        unit: "LU", needs: [.audio], temporal: false,
        about: "loudness range (LRA): 95th − 10th percentile of the gated 3 s blocks (FFmpeg ebur128's histogram)",
        checkedAgainst: "FFmpeg 5.1 ebur128 to 0.002 LU on 7 signals (a 12 dB step: 12.05)")

    public init() {}
    public func consume(_ c: FrameContext) {}

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard let audio = clip.audio else { return MetricOutput(values: [(Self.info.name, nil)]) }
        let range = audio.loudness.range
        var warnings: [String] = []
        if range == nil {
            warnings.append(audio.seconds < 3 ? String(format: "loudness_range: %.2f s of sound, under one 3 s block", audio.seconds)
                                              : "loudness_range: no 3 s block of the sound reaches −70 LUFS (silent)")
        }
        return MetricOutput(values: [(Self.info.name, range)], warnings: warnings)
    }
}
