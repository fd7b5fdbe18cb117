import Foundation
import GallopCore

/// `true_peak_dbtp`: the largest sample of the sound after resampling to 192 kHz, in dB of full scale, as
/// FFmpeg's `ebur128=peak=true` measures it: libswresample's default filter from the stream's rate to
/// 192 kHz (4× oversampling only at 48 kHz; 4.35× at 44.1 kHz), never flushed, so the last few samples of
/// the clip are not examined. That is FFmpeg's number, not BS.1770-4 Annex 2's 48-tap 4× filter, which
/// reads a little differently. Lower is safer: above −1 dBTP a lossy encode may clip. Secondary: the plain
/// sample peak (`sample_peak_dbfs`). Null without sound and for digital silence.
/// Composite term (`audio`): +1 dBTP scores 0 (over full scale: the reconstructed wave clips in any DAC or
/// re-encode), −1 dBTP scores 1 (EBU R 128's and the streaming services' ceiling, which leaves room for a lossy encode).
public final class TruePeak: Metric {
    public static let info = MetricInfo(
        name: "true_peak_dbtp", summary: "true peak of the sound (192 kHz, as FFmpeg ebur128)", direction: .lower,
        unit: "dBTP", needs: [.truePeak], temporal: false, tolerance: .absolute(1),
        composite: CompositeRole(group: "audio", worst: 1, best: -1, inOverall: false),
        secondary: [MetricInfo.value("sample_peak_dbfs", .lower, unit: "dBFS")],
        about: "largest |sample| after libswresample's resampling to 192 kHz (FFmpeg ebur128's peak=true), in dB",
        checkedAgainst: "FFmpeg 5.1 ebur128 true peaks to 0.001 (linear) on 7 signals",
        toleranceReason: "a re-encode of the same sound moves the peak by a few tenths of a dB")

    public init() {}
    public func consume(_ c: FrameContext) {}

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard let audio = clip.audio else { return MetricOutput(values: [(Self.info.name, nil), ("sample_peak_dbfs", nil)]) }
        func db(_ x: Double?) -> Double? { x.flatMap { $0 > 0 ? 20 * log10($0) : nil } }
        var warnings: [String] = []
        if audio.samplePeak == 0 { warnings.append("true_peak_dbtp: the sound is digital silence") }
        return MetricOutput(values: [(Self.info.name, db(audio.truePeak)), ("sample_peak_dbfs", db(audio.samplePeak))], warnings: warnings)
    }
}
