import GallopCore

/// `av_align`: AV-Align (Yariv et al., "Diverse and Aligned Audio-to-Video Generation via Text-to-Video Model
/// Adaptation", arXiv:2309.16429; TempoTokens' av_align.py): the intersection over union of the sound's onset
/// peaks and the picture's motion peaks, a pair matching when |t_audio − t_video| < 1/fps.
///
/// Audio peaks: librosa's `onset_detect` rules (``OnsetEnvelope/onsets(_:)``: normalised envelope, peak_pick with
/// 30 ms / 100 ms windows, δ 0.07) on the sync envelope of the clip's own sound track (``OnsetEnvelope/forSync(rate:)``:
/// the clip's rate and 5.8 ms hops, not the script's 22050 Hz and 23 ms hops), dated on the picture's clock.
/// Video peaks: strict local maxima m[t−1] < m[t] > m[t+1] of the mean forward optical-flow magnitude per pair
/// (Gallop's DIS flow, not the script's Farnebäck), at least 0.1 px in the stored luma's pixels (the script's floor,
/// added in its commit bf0b1e3); the pair (t−1, t) is dated at frame t's time, and the first frame is never a peak,
/// as in the script. fps is the clip's (the median frame duration's inverse).
///
/// Fixed where the reference script is broken: its first public version (34d9502) calls `range(1, n - 1)` in
/// `find_local_max_indexes` with `n` never defined (a NameError on every call); its matching lets one video peak
/// match several audio peaks, so the score could exceed 1, and it divides by zero when neither side has a peak.
/// Here matching is one-to-one and optimal (two pointers over the sorted times: match within the window, else
/// advance the earlier), and no peaks on either side is null with a warning. Null without a warning when the clip
/// has no sound (the row's `audio: false`). Higher is better: 1 when every sound event has its motion peak.
/// Extras: the peak counts and times (s, on the picture's clock: `audio_peak_times`, `video_peak_times`), so that
/// the score can be recomputed from the peaks (scripts/gallopcheck/crosscheck_avalign.py does, against librosa
/// and OpenCV's Farnebäck flow).
public final class AVAlign: Metric {
    public static let info = MetricInfo(
        name: "av_align", summary: "AV-Align: IoU of sound onset peaks and motion peaks within one frame", direction: .higher,
        needs: [.flow, .onsets], temporal: true, tolerance: .absolute(0.1),
        about: "AV-Align (arXiv:2309.16429): onset peaks of the sound against local maxima of the mean optical-flow magnitude, one-to-one within 1/fps, intersection over union",
        checkedAgainst: "motion bursts with clicks: 1 in sync, 0 three frames off; no events: null",
        toleranceReason: "one matched peak in ten lost")

    private var times: [Double] = []
    private var durations: [Double] = []
    private var magnitudes: [Double?] = []

    public init() {}

    public func consume(_ c: FrameContext) {
        times.append(c.frame.time)
        durations.append(c.frame.duration)
        guard let m = c.motion, let magnitude = m.forwardMagnitude else { magnitudes.append(nil); return }
        let native = Double(max(c.frame.luma.width, c.frame.luma.height)) / Double(max(m.image.width, m.image.height))
        magnitudes.append(magnitude.mean * native)
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard let audio = clip.audio, let onsets = audio.onsets, !times.isEmpty else { return MetricOutput(values: [(Self.info.name, nil)]) }
        let env = onsets.envelope()
        let hop = Double(onsets.hop) / Double(onsets.rate), start = onsets.start ?? 0
        let heard = onsets.onsets(env).map { start + Double($0) * hop }
        var seen: [Double] = []
        for t in magnitudes.indices.dropFirst().dropLast() {
            guard let a = magnitudes[t - 1], let b = magnitudes[t], let c = magnitudes[t + 1] else { continue }
            if a < b && b > c && b >= 0.1 { seen.append(times[t]) }
        }
        guard !heard.isEmpty || !seen.isEmpty else {
            return MetricOutput(values: [(Self.info.name, nil)], warnings: ["av_align: no audible or visible events"])
        }
        let window = durations.sorted()[durations.count / 2]
        let matched = AVAlign.matches(heard, seen, window: window)
        return MetricOutput(values: [(Self.info.name, Double(matched) / Double(heard.count + seen.count - matched))],
                            extras: [("audio_peaks", .number(Double(heard.count))), ("video_peaks", .number(Double(seen.count))),
                                     ("audio_peak_times", .array(heard.map { .number($0) })),
                                     ("video_peak_times", .array(seen.map { .number($0) }))])
    }

    /// The most one-to-one pairs of `a` and `b` (each sorted) closer than `window`.
    public static func matches(_ a: [Double], _ b: [Double], window: Double) -> Int {
        var i = 0, j = 0, n = 0
        while i < a.count && j < b.count {
            if abs(a[i] - b[j]) < window { n += 1; i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return n
    }
}
