import GallopCore

/// Feeds one clip's frames to every selected metric from a single pass.
///
/// The engine resolves the analyses the selected metrics declared in
/// ``MetricInfo/needs``, with their dependencies (``AnalysisKey/spec``), once
/// at init into a flat list of passes in dependency order, and runs each pass
/// once per frame for all metrics. It keeps no frames:
/// the reader guarantees the previous frame's planes stay valid for one more
/// call, so memory does not grow with clip length (the per-frame series do,
/// by a few numbers a frame).
public final class MetricEngine {
    public let metrics: [any Metric]
    /// The analyses computed, dependencies first.
    public let analyses: [AnalysisKey]
    /// What the reader must hand out with each frame.
    public let readerInputs: Set<ReaderInput>
    /// The metric whose series each report kind reads, by position in ``metrics``.
    private let seriesOwners: [ReportSeries: Int]
    /// Names of the passes run each frame, in order.
    let passNames: [String]
    private let passes: [PassRun]
    private var previous: Frame?
    public private(set) var frameCount = 0
    /// Presentation time of each frame consumed, for series and reports.
    public private(set) var times: [Double] = []
    public private(set) var sourceIndices: [Int] = []
    /// Display duration of the last frame consumed (s).
    public private(set) var lastDuration = 0.0
    /// The sound measured so far (made by the first run of it).
    private var audio: AudioAnalysis?

    /// `flowThreads`: how many of a frame's optical flows may run at once
    /// (the numbers do not depend on it).
    public let settings: MetricSettings

    /// The engine for metric types, each made with the same settings.
    public convenience init(types: [any Metric.Type], settings: MetricSettings = MetricSettings(), flowThreads: Int = 1) {
        self.init(metrics: types.map { $0.init(settings: settings) }, settings: settings, flowThreads: flowThreads)
    }

    public convenience init(metrics: [any Metric], settings: MetricSettings = MetricSettings(), flowThreads: Int = 1) {
        self.init(metrics: metrics, needs: [], settings: settings, flowThreads: flowThreads)
    }

    /// With `needs` computed too, beyond what the metrics declared.
    init(metrics: [any Metric], needs: [AnalysisKey], settings: MetricSettings, flowThreads: Int) {
        self.metrics = metrics
        self.settings = settings
        analyses = AnalysisKey.resolve(needs + metrics.flatMap { type(of: $0).info.needs })
        readerInputs = analyses.readerInputs
        let setup = PassSetup(selected: Set(analyses), settings: settings, flowThreads: flowThreads)
        let kinds = AnalysisKey.passes(for: analyses)
        passNames = kinds.map(\.name)
        passes = kinds.map { $0.make(setup) }
        var owners: [ReportSeries: Int] = [:]
        for (i, metric) in metrics.enumerated() {
            if let series = type(of: metric).info.series, owners[series] == nil { owners[series] = i }
        }
        seriesOwners = owners
    }

    /// Whether a selected metric has the series of `kind`.
    public func hasSeries(_ kind: ReportSeries) -> Bool { seriesOwners[kind] != nil }

    /// Entry `index` of the series report.html reads for `kind`, as known so far (``Metric/provisionalValue(at:)``):
    /// O(1) a call, nothing copied, so the scorer can rank candidate frames as they arrive. Nil when not known.
    public func provisionalValue(for kind: ReportSeries, at index: Int) -> Double? {
        seriesOwners[kind].flatMap { metrics[$0].provisionalValue(at: index) }
    }

    /// Whether the reader must hand out motion planes (some metric needs flow).
    public var needsMotion: Bool { readerInputs.contains(.motionPlanes) }

    /// Whether the reader must convert frames to RGB.
    public var needsRGB: Bool { readerInputs.contains(.rgb) }

    /// Whether the reader must hand out chroma planes.
    public var needsChroma: Bool { readerInputs.contains(.chroma) }

    /// Whether the reader must decode the sound track (some metric measures it).
    public var needsAudio: Bool { readerInputs.contains(.audio) }

    /// Whether the reader must also hand out the sound's 192 kHz peaks.
    public var needsTruePeak: Bool { readerInputs.contains(.truePeak) }

    /// Whether some metric compares against a reference clip.
    public var needsReference: Bool { readerInputs.contains(.reference) }

    /// Whether, with a reference of another size, the reader must also hand out the clip's luma at the
    /// reference's size and the reference's own luma (``FrameContext/atReferenceSize``).
    public var needsAtReferenceSize: Bool { readerInputs.contains(.atReferenceSize) }

    /// One frame, with its reference frame when the clip has one (and the pair at the reference's size when
    /// the sizes differ and a metric needs it).
    public func consume(_ frame: Frame, reference: Frame? = nil, atReferenceSize: (clip: Plane, reference: Plane)? = nil) {
        var context = FrameContext(frame: frame, previous: previous, reference: reference, atReferenceSize: atReferenceSize)
        for pass in passes { pass.frame(&context) }
        for metric in metrics { metric.consume(context) }
        previous = frame
        frameCount += 1
        times.append(frame.time)
        sourceIndices.append(frame.sourceIndex)
        lastDuration = frame.duration
    }

    /// A run of the clip's sound, as the reader decodes it (between frames, in stream order): measured once
    /// for every audio metric, and not kept. Ignored when no metric needs the sound.
    public func consumeAudio(_ chunk: AudioChunk) {
        guard needsAudio, chunk.count > 0 else { return }
        if audio == nil { audio = AudioAnalysis(rate: chunk.rate, roles: chunk.roles, onsets: analyses.contains(.onsets)) }
        audio!.add(chunk)
    }

    /// Each metric's result, in selection order.
    public func finish() -> [(MetricInfo, MetricOutput)] {
        previous = nil
        var clip = ClipAnalyses(audio: audio)
        for pass in passes { pass.clipEnd?(&clip) }
        return metrics.map { (type(of: $0).info, $0.finish(clip)) }
    }
}

/// Hard-cut decision, made once per clip by the engine for `scene_cuts` and the metrics that must ignore cuts.
///
/// Score per pair: the centred luma MAD (mean |a − b − δ|, δ the difference of
/// the frame means), so a uniform brightness step or flash is not a cut. Pair t
/// is a cut when its score is at least `max(floor, factor × baseline + margin)`
/// and at least the score of the nearest pair before it and above the nearest
/// after, the baseline being the median score of the `window` nearest pairs on
/// each side (t itself left out). Held frames (pairs that repeat, per
/// ``Freeze/isRepeat(_:_:)``) are skipped as neighbours: each shows nothing
/// new, so stutter (every frame held two or three times) leaves the baseline
/// of the pairs that do change, and a change after a hold is not a cut. Steady
/// fast motion raises the bar, a still scene lowers it to the floor. Looking
/// both ways needs the whole series, so the decision is made when the clip
/// ends. FFmpeg's scdet instead thresholds min(mafd, |Δmafd|) at a fixed 10%
/// over all planes; this adaptive, luma-only rule differs on purpose.
public enum CutDetector {
    /// Indices (into `scores`) of the pairs that are cuts; nil scores are no pair. `repeats[t]`: pair t
    /// repeats (empty: none do). Floor, factor, margin and window come from `scene_cuts` in the config.
    public static func cuts(in scores: [Double?], repeats: [Bool] = [], _ o: MetricSettings.CutOptions) -> [Int] {
        // The pairs that show something new, in order.
        let moving = scores.indices.filter { scores[$0] != nil && !(repeats.indices.contains($0) && repeats[$0]) }
        var result: [Int] = []
        for (k, t) in moving.enumerated() {
            let s = scores[t]!
            guard s >= o.floor else { continue }
            let neighbours = moving[max(0, k - o.window)..<k].map { scores[$0]! }
                + moving[(k + 1)..<min(moving.count, k + 1 + o.window)].map { scores[$0]! }
            let baseline = Series.median(neighbours) ?? 0
            guard s >= o.factor * baseline + o.margin else { continue }
            let before = k > 0 ? scores[moving[k - 1]]! : 0
            let after = k + 1 < moving.count ? scores[moving[k + 1]]! : 0
            if s >= before && s > after { result.append(t) }
        }
        return result
    }
}
