import GallopCore

/// Where a metric samples frames.
public enum Resolution: String, Sendable {
    /// Follows `--max-side` and `--every` (the analysis size and sampling).
    case analysis
    /// Reproduces a peer's number: exact only on every frame at native size; the
    /// config fingerprint records when the run used anything else.
    case native
}

/// What a metric is, as the registry, the CLI and the reports see it.
public struct MetricInfo: Sendable {
    /// Public name: a key in `metrics`, a scorecard column, a `--metrics` word.
    public let name: String
    public let summary: String
    public let direction: Direction
    /// Unit of the headline number, for reports ("" when unitless).
    public let unit: String
    /// The shared analyses it reads (``AnalysisKey``).
    public let needs: [AnalysisKey]
    /// Those and everything they depend on, in the order the engine computes them.
    public let analyses: [AnalysisKey]
    /// True when the metric compares consecutive frames.
    public let temporal: Bool
    public let resolution: Resolution
    /// Names of secondary numbers it adds under `metrics` (`<name>_<stat>`).
    public let secondary: [String]
    /// Full-reference: runs only when the clip has a reference (`--reference`).
    public var needsReference: Bool { analyses.contains(.reference) }
    /// Some analysis it reads means nothing on frames smaller than a block (``AnalysisSpec/spatial``).
    public var spatial: Bool { analyses.anySpatial }

    public init(name: String, summary: String, direction: Direction, unit: String = "", needs: [AnalysisKey],
                temporal: Bool, resolution: Resolution = .analysis, secondary: [String] = []) {
        self.name = name
        self.summary = summary
        self.direction = direction
        self.unit = unit
        self.needs = needs
        self.analyses = AnalysisKey.resolve(needs)
        self.temporal = temporal
        self.resolution = resolution
        self.secondary = secondary
    }
}

/// What a metric reports for one clip.
public struct MetricOutput: Sendable {
    /// The headline under the metric's own name and secondary numbers under
    /// their own names. `nil` means "not defined for this clip" and must come
    /// with a warning.
    public var values: [(String, Double?)]
    /// Values that are not single numbers (cut indices, classes).
    public var extras: [(String, JSONValue)]
    /// The per-frame series behind the headline, one entry per frame handed to
    /// metrics; `nil` where undefined (the first frame of a pair metric).
    public var series: [Double?]
    public var warnings: [String]

    public init(values: [(String, Double?)], extras: [(String, JSONValue)] = [], series: [Double?] = [], warnings: [String] = []) {
        self.values = values
        self.extras = extras
        self.series = series
        self.warnings = warnings
    }
}

/// Everything a metric sees for one frame. The engine's analysis passes fill
/// the shared results in before any metric runs, once for all of them; a
/// result is nil when no selected metric needs its analysis.
public struct FrameContext {
    public let frame: Frame
    /// The frame before this one (nil for the first). Its planes are still valid.
    public let previous: Frame?
    /// The reference clip's frame aligned with this one (`.reference`), same size.
    public let reference: Frame?
    /// Luma statistics of this frame and the previous one (`.lumaStats`).
    public internal(set) var stats: Kernels.FrameStats?
    public internal(set) var previousStats: Kernels.FrameStats?
    /// Luma difference to the previous frame (`.lumaPair`).
    public internal(set) var lumaPair: Kernels.PairDifference?
    /// Σ|a − b| over RGB samples with the previous frame (`.rgbPair`).
    public internal(set) var rgbSAD: Int64?
    /// Opponent-colour sums of this frame's RGB (`.opponentSums`).
    public internal(set) var opponent: Kernels.OpponentSums?
    /// Laplacian and Immerkær sums of this frame's luma (`.secondDifferences`).
    public internal(set) var secondDifferences: Kernels.SecondDifferences?
    /// Optical flows and the motion-size images they were computed on (`.flow`, `.backwardFlow`, `.skipFlow`).
    public internal(set) var motion: MotionAnalysis?
    /// This frame's and its reference's luma as float images (`.referenceImages`).
    public internal(set) var referenceImages: (frame: FloatImage, reference: FloatImage)?

    init(frame: Frame, previous: Frame?, reference: Frame?) {
        self.frame = frame
        self.previous = previous
        self.reference = reference
    }
}

/// What the engine decides over the whole clip, handed to every metric when the clip ends.
public struct ClipAnalyses: Sendable {
    /// Frame indices t whose pair (t − 1, t) is a hard cut (``CutDetector``); empty unless some metric needs `.cuts`.
    public var cuts: Set<Int>
    /// Whether frame t repeats frame t − 1 (``Freeze/isRepeat(_:_:)``); empty unless some metric needs `.cuts`.
    public var repeats: [Bool]

    public init(cuts: Set<Int> = [], repeats: [Bool] = []) {
        self.cuts = cuts
        self.repeats = repeats
    }
}

/// The streaming interface every metric implements: created per clip,
/// fed every frame in order, then asked once for its result.
/// (As libvmaf's feature extractors: init, extract, flush/close.)
public protocol Metric: AnyObject, SendableMetatype {
    static var info: MetricInfo { get }
    init()
    /// A metric that reads options (``MetricSettings``) implements this one;
    /// the others keep the plain `init()`.
    init(settings: MetricSettings)
    /// One frame (with its predecessor and the shared analyses).
    func consume(_ context: FrameContext)
    /// The clip's result once every frame has been consumed, with what the engine found over the whole clip.
    func finish(_ clip: ClipAnalyses) -> MetricOutput
}

extension Metric {
    public init(settings: MetricSettings) { self.init() }
}
