import GallopCore

/// `loudness_lufs`: integrated loudness of the clip's sound (ITU-R BS.1770-4 with its gating), as FFmpeg's
/// `ebur128` filter computes it (``LoudnessMeter``): K-weighted per channel at the stream's own rate, 400 ms
/// blocks every 100 ms, the −70 LUFS absolute and −10 LU relative gates over a 1/100 LU histogram.
/// No better side: the right loudness is a target (−23 LUFS for broadcast, about −14 for streaming), not a
/// direction. Secondary: the loudest 400 ms block (`loudness_lufs_momentary_max`). Extras: every block's
/// momentary loudness (`momentary`, LUFS, one every `hop_s` from 400 ms on). Null without sound (the row says
/// `audio: false`) and for silence (no block reaches −70 LUFS, where FFmpeg prints −70.0).
///
/// Derived when Gallop reports: `loudness_off_target` = |loudness_lufs − (−16)| LU, the distance from the
/// streaming target (−16 LUFS: AES TD1008's recommendation for streamed programmes, and Apple Music's level;
/// Spotify and YouTube normalise to −14, 2 LU off). It has a better side, so it is gated (1 LU: a listener
/// notices a level change of about 1 LU) and is a term of the `audio` composite: 0 LU scores 1, 10 LU off
/// (−26 LUFS, far too quiet beside other clips, or −6, crushed loud) and beyond scores 0.
public final class LoudnessLUFS: Metric {
    public static let info = MetricInfo(
        name: "loudness_lufs", summary: "integrated loudness of the sound (BS.1770-4, gated)", direction: .none,
        unit: "LUFS", needs: [.audio], temporal: false,
        secondary: [MetricInfo.value("loudness_lufs_momentary_max", .none, unit: "LUFS")],
        derived: [DerivedValue(ValueTraits(name: "loudness_off_target", summary: "distance of the integrated loudness from the −16 LUFS streaming target",
                                           direction: .lower, unit: "LU", tolerance: .absolute(1),
                                           composite: CompositeRole(group: "audio", worst: 10, best: 0, inOverall: false),
                                           toleranceReason: "1 LU: about the smallest level change a listener notices"),
                               offTarget: -16)],
        about: "integrated loudness of the sound track: BS.1770-4 K-weighting at the stream's rate, 400 ms blocks, −70 LUFS and −10 LU gates (FFmpeg ebur128's histogram)",
        checkedAgainst: "FFmpeg 5.1 ebur128 to 0.002 LU on 7 signals (EBU Tech 3341 cases 1-2: −23.0, −33.0)")

    public init() {}
    public func consume(_ c: FrameContext) {}

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard let audio = clip.audio else { return MetricOutput(values: [(Self.info.name, nil), ("loudness_lufs_momentary_max", nil)]) }
        let meter = audio.loudness
        let momentary = meter.momentary.filter { $0 >= -70 }
        var warnings: [String] = []
        if meter.integrated == nil { warnings.append("loudness_lufs: no 400 ms block of the sound reaches −70 LUFS (silent)") }
        return MetricOutput(values: [(Self.info.name, meter.integrated), ("loudness_lufs_momentary_max", momentary.max())],
                            extras: [("momentary", .array(meter.momentary.map { $0 >= -70 ? .number(rounded2($0)) : .null })),
                                     ("hop_s", .number(Double(meter.hop) / Double(meter.rate)))],
                            warnings: warnings)
    }
}

/// Two decimals: what FFmpeg's metadata prints of loudness is three, but blocks are read at 0.01 LU.
func rounded2(_ v: Double) -> Double { (v * 100).rounded() / 100 }
