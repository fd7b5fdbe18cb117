import GallopCore

/// `clipped_share`: the share of the sound's samples (every channel) at full scale, |x| ≥ 32767/32768 (the
/// largest 16-bit value; decoded float that goes beyond 1.0 counts too). A few clipped samples are inaudible;
/// a share of 1% is harsh distortion. Null without sound. Composite term (`audio`): 1% scores 0, none scores 1.
public final class ClippedShare: Metric {
    public static let info = MetricInfo(
        name: "clipped_share", summary: "share of audio samples at full scale", direction: .lower,
        needs: [.audio], temporal: false, tolerance: .absolute(0.001),
        composite: CompositeRole(group: "audio", worst: 0.01, best: 0, inOverall: false),
        about: "share of samples (every channel) with |x| ≥ 32767/32768",
        checkedAgainst: "a full-scale square wave: 1; a −6 dBFS tone: 0",
        toleranceReason: "0.1% of the samples: a handful of clipped peaks a second")

    public init() {}
    public func consume(_ c: FrameContext) {}

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard let audio = clip.audio, audio.totalSamples > 0 else { return MetricOutput(values: [(Self.info.name, nil)]) }
        return MetricOutput(values: [(Self.info.name, Double(audio.clippedSamples) / Double(audio.totalSamples))])
    }
}
