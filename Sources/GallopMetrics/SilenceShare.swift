import GallopCore

extension MetricSettings {
    /// `silence_share`'s section.
    public struct SilenceOptions: Sendable, Hashable {
        /// A 400 ms block quieter than this (LUFS, momentary loudness) is silent.
        public var thresholdLUFS = -60.0
        public init() {}
    }
}

/// `silence_share`: the share of the sound's 400 ms blocks (one every 100 ms, the blocks of the integrated
/// loudness) whose momentary loudness is under `silence_share.threshold_lufs` (−60 LUFS by default: room tone
/// is about −50, digital silence far below). A clip whose sound drops out for half its length reads 0.5.
/// Null without sound and under 400 ms of it. Composite term (`audio`): half the clip silent (the dropout issue 26
/// names) scores 0, none scores 1.
public final class SilenceShare: Metric {
    public static let info = MetricInfo(
        name: "silence_share", summary: "share of 400 ms audio blocks below the silence threshold", direction: .lower,
        needs: [.audio], temporal: false, tolerance: .absolute(0.05),
        composite: CompositeRole(group: "audio", worst: 0.5, best: 0, inOverall: false),
        options: [.double("silence_share", "threshold_lufs", \.silence.thresholdLUFS, -120...0,
                          "a 400 ms block under this momentary loudness (LUFS) is silent")],
        about: "share of 400 ms blocks (100 ms apart) with momentary loudness under the threshold (−60 LUFS)",
        checkedAgainst: "a tone with its second half silent: 0.5 within one block",
        toleranceReason: "5% of the blocks: half a second in a 10 s clip")

    private let threshold: Double

    public init() { threshold = MetricSettings.SilenceOptions().thresholdLUFS }
    public init(settings: MetricSettings) { threshold = settings.silence.thresholdLUFS }
    public func consume(_ c: FrameContext) {}

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard let audio = clip.audio else { return MetricOutput(values: [(Self.info.name, nil)]) }
        let blocks = audio.loudness.momentary
        guard !blocks.isEmpty else {
            return MetricOutput(values: [(Self.info.name, nil)], warnings: ["silence_share: under 400 ms of sound, not one block"])
        }
        return MetricOutput(values: [(Self.info.name, Double(blocks.filter { $0 < threshold }.count) / Double(blocks.count))])
    }
}
