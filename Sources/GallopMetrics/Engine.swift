import GallopCore

/// Feeds one clip's frames to every selected metric from a single pass.
///
/// The engine computes each shared analysis (luma statistics, pair
/// differences) at most once per frame and only when a
/// selected metric declared it in ``MetricInfo/needs``. It keeps no frames:
/// the reader guarantees the previous frame's planes stay valid for one more
/// call, so memory does not grow with clip length (the per-frame series do,
/// by a few numbers a frame).
public final class MetricEngine {
    public let metrics: [any Metric]
    public let needs: Needs
    private var previous: Frame?
    private var previousStats: Kernels.FrameStats?
    private var motion: MotionState?
    public private(set) var frameCount = 0
    /// Presentation time of each frame consumed, for series and reports.
    public private(set) var times: [Double] = []
    public private(set) var sourceIndices: [Int] = []
    /// Display duration of the last frame consumed (s).
    public private(set) var lastDuration = 0.0
    /// Per frame, for the cut decision at the end (`.cuts`): the pair's centred MAD, and whether it is a repeat.
    private var cutScores: [Double?] = []
    private var repeats: [Bool] = []

    /// `flowThreads`: how many of a frame's optical flows may run at once
    /// (the numbers do not depend on it).
    public let settings: MetricSettings

    /// The engine for metric types, each made with the same settings.
    public convenience init(types: [any Metric.Type], settings: MetricSettings = MetricSettings(), flowThreads: Int = 1) {
        self.init(metrics: types.map { $0.init(settings: settings) }, settings: settings, flowThreads: flowThreads)
    }

    public init(metrics: [any Metric], settings: MetricSettings = MetricSettings(), flowThreads: Int = 1) {
        self.metrics = metrics
        self.settings = settings
        self.needs = metrics.reduce(Needs()) { $0.union(type(of: $1).info.needs) }
        if needs.needsMotion {
            let dis = DISFlow(stride: settings.flow.stride, iterations: settings.flow.iterations)
            let plan = MotionPlan(warmBackward: settings.flow.warmBackward, skipSide: settings.flow.skipSide)
            motion = MotionState(needs: needs, dis: dis, plan: plan, threads: flowThreads)
        }
    }

    /// Whether the reader must hand out motion planes (some metric needs flow).
    public var needsMotion: Bool { needs.needsMotion }

    /// Whether the reader must convert frames to RGB.
    public var needsRGB: Bool { needs.contains(.rgb) }

    /// Whether the reader must hand out chroma planes.
    public var needsChroma: Bool { needs.contains(.chroma) }

    /// Whether some metric compares against a reference clip.
    public var needsReference: Bool { needs.contains(.reference) }

    /// Rows per band of the colour analyses: both kernels run on one band
    /// before the next, so the band is read from cache by the second (32 rows
    /// of 1080p RGB0 are 240 KiB).
    static let colourBand = 32

    /// The RGB pair SAD and the opponent sums: from the YUV planes in one
    /// pass when both frames came that way (``Kernels/yuvColour(previous:current:opponent:)``),
    /// else band by band over packed RGB, making the RGB of a frame that came
    /// as YUV (a format change mid-clip).
    private func colourAnalyses(_ frame: Frame) -> (sad: Int64?, opponent: Kernels.OpponentSums?) {
        let wantsSAD = needs.contains(.rgbPair), wantsOpponent = needs.contains(.opponentSums)
        let yuv = Kernels.YUVFrame(frame)
        guard frame.rgb != nil || yuv != nil else { return (nil, nil) }
        let before: Frame? = wantsSAD && (previous?.rgb != nil || previous?.rgbFromYUV != nil) ? previous : nil
        if let yuv, before == nil || before!.rgb == nil {
            return Kernels.yuvColour(previous: before.flatMap(Kernels.YUVFrame.init), current: yuv, opponent: wantsOpponent)
        }
        // Packed RGB for both (a frame that came as YUV is converted here).
        let channels = frame.rgb?.channels ?? before!.rgb!.channels
        func withRGB<R>(_ f: Frame, _ body: (Plane) -> R) -> R {
            if let rgb = f.rgb { return body(rgb) }
            return Kernels.YUVFrame(f)!.rgb(channels: channels).withPlane(body)
        }
        return withRGB(frame) { rgb in
            guard let before else { return packedColourAnalyses(rgb, before: nil, opponent: wantsOpponent) }
            return withRGB(before) { packedColourAnalyses(rgb, before: $0, opponent: wantsOpponent) }
        }
    }

    /// Both kernels on one band of rows before the next.
    private func packedColourAnalyses(_ rgb: Plane, before: Plane?, opponent wantsOpponent: Bool) -> (sad: Int64?, opponent: Kernels.OpponentSums?) {
        var sad: Int64? = before == nil ? nil : 0
        var opponent: Kernels.OpponentSums? = wantsOpponent
            ? Kernels.OpponentSums(count: 0, rg: 0, rgSquares: 0, yb2: 0, yb2Squares: 0) : nil
        guard sad != nil || opponent != nil else { return (nil, nil) }
        var y = 0
        while y < rgb.height {
            let rows = y..<min(rgb.height, y + Self.colourBand)
            let band = rgb.rows(rows)
            if let before { sad! += Kernels.sumAbsoluteDifference(before.rows(rows), band) }
            if opponent != nil { opponent!.add(Kernels.opponentSums(band)) }
            y = rows.upperBound
        }
        return (sad, opponent)
    }

    /// One frame, with its reference frame when the clip has one.
    public func consume(_ frame: Frame, reference: Frame? = nil) {
        let stats: Kernels.FrameStats? = needs.contains(.lumaStats)
            ? Kernels.frameStats(frame.luma, clipLow: frame.range.clipLevels.low, clipHigh: frame.range.clipLevels.high,
                                 grid: settings.flicker.grid)
            : nil
        let second = needs.contains(.secondDifferences) ? Kernels.secondDifferences(frame.luma) : nil
        var pair: Kernels.PairDifference?
        if let previous, needs.contains(.lumaPair), let stats, let previousStats {
            let offset = Int((previousStats.mean - stats.mean).rounded())
            pair = Kernels.pairDifference(previous.luma, frame.luma, offset: offset)
        }
        if needs.contains(.cuts) {
            cutScores.append(pair?.centredMAD)
            repeats.append(pair.map { Freeze.isRepeat($0, settings.freeze) } ?? false)
        }
        let (rgbSAD, opponent) = colourAnalyses(frame)
        let motionAnalysis = motion?.consume(frame)
        var images: (frame: FloatImage, reference: FloatImage)?
        if needs.contains(.referenceImages), let reference {
            images = (FloatImage(frame.luma), FloatImage(reference.luma))
        }
        let context = FrameContext(frame: frame, previous: previous, stats: stats, previousStats: previousStats,
                                   lumaPair: pair, rgbSAD: rgbSAD, opponent: opponent, secondDifferences: second, motion: motionAnalysis,
                                   reference: reference, referenceImages: images)
        for metric in metrics { metric.consume(context) }
        previous = frame
        previousStats = stats
        frameCount += 1
        times.append(frame.time)
        sourceIndices.append(frame.sourceIndex)
        lastDuration = frame.duration
    }

    /// Each metric's result, in selection order.
    public func finish() -> [(MetricInfo, MetricOutput)] {
        previous = nil
        var clip = ClipAnalyses()
        if needs.contains(.cuts) {
            clip = ClipAnalyses(cuts: Set(CutDetector.cuts(in: cutScores, repeats: repeats, settings.cuts)), repeats: repeats)
        }
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
