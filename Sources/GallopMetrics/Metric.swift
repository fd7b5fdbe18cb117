import GallopCore

/// Shared per-frame analyses a metric reads from its ``FrameContext``. The
/// engine computes each one once per frame, for all metrics, and only when a
/// selected metric asks for it.
public struct Needs: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Packed RGB planes (the reader converts only when some metric needs them).
    public static let rgb = Needs(rawValue: 1 << 0)
    /// ``Kernels/FrameStats`` of the luma plane (mean, variance, clipping, regions).
    public static let lumaStats = Needs(rawValue: 1 << 1)
    /// ``Kernels/PairDifference`` between this luma plane and the previous one.
    public static let lumaPair = Needs(rawValue: 1 << 2 | 1 << 1)
    /// Σ|a − b| between this RGB plane and the previous one.
    public static let rgbPair = Needs(rawValue: 1 << 3 | 1 << 0)
    /// ``Kernels/OpponentSums`` of this RGB plane (colourfulness).
    public static let opponentSums = Needs(rawValue: 1 << 11 | 1 << 0)
    /// ``Kernels/SecondDifferences`` of the luma (Laplacian and Immerkær sums).
    public static let secondDifferences = Needs(rawValue: 1 << 4)
    /// Dense optical flow from the previous frame to this one (motion planes).
    public static let flow = Needs(rawValue: 1 << 5)
    /// Flow from this frame back to the previous one too (occlusion checks).
    public static let backwardFlow = Needs(rawValue: 1 << 6 | 1 << 5)
    /// Flows between the frames two apart, t−2 → t and back, on even t.
    public static let skipFlow = Needs(rawValue: 1 << 7)

    /// The reference clip's frame aligned with this one (full-reference metrics).
    public static let reference = Needs(rawValue: 1 << 8)
    /// The stored chroma planes of the frame and of its reference.
    public static let chroma = Needs(rawValue: 1 << 9 | 1 << 8)
    /// The frame's and the reference's luma as float images (Gaussian SSIMs).
    public static let referenceImages = Needs(rawValue: 1 << 10 | 1 << 8)

    /// The clip's hard cuts and held frames, decided once by the engine when the clip ends (``ClipAnalyses``).
    public static let cuts = Needs(rawValue: 1 << 12 | 1 << 2 | 1 << 1)

    /// The analyses on blocks, windows or patches (pair blocks, second differences, flows, SSIM
    /// windows): they mean nothing on frames smaller than a block.
    public static let spatial = Needs(rawValue: 1 << 2 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 10)

    /// Any optical flow: the reader must hand out motion planes.
    public var needsMotion: Bool { !isDisjoint(with: [.flow, .backwardFlow, .skipFlow]) }
}

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
    public let needs: Needs
    /// True when the metric compares consecutive frames.
    public let temporal: Bool
    public let resolution: Resolution
    /// Names of secondary numbers it adds under `metrics` (`<name>_<stat>`).
    public let secondary: [String]
    /// Full-reference: runs only when the clip has a reference (`--reference`).
    public var needsReference: Bool { needs.contains(.reference) }

    public init(name: String, summary: String, direction: Direction, unit: String = "", needs: Needs,
                temporal: Bool, resolution: Resolution = .analysis, secondary: [String] = []) {
        self.name = name
        self.summary = summary
        self.direction = direction
        self.unit = unit
        self.needs = needs
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

/// Everything a metric sees for one frame. Shared analyses are computed by the
/// engine before any metric runs, once for all of them.
public struct FrameContext {
    public let frame: Frame
    /// The frame before this one (nil for the first). Its planes are still valid.
    public let previous: Frame?
    /// Luma statistics of this frame (when some metric needs `.lumaStats`).
    public let stats: Kernels.FrameStats?
    public let previousStats: Kernels.FrameStats?
    /// Luma difference to the previous frame (`.lumaPair`).
    public let lumaPair: Kernels.PairDifference?
    /// Σ|a − b| over RGB samples with the previous frame (`.rgbPair`).
    public let rgbSAD: Int64?
    /// Opponent-colour sums of this frame's RGB (`.opponentSums`).
    public let opponent: Kernels.OpponentSums?
    /// Laplacian and Immerkær sums of this frame's luma (`.secondDifferences`).
    public let secondDifferences: Kernels.SecondDifferences?
    /// Optical flows and the motion-size images they were computed on.
    public let motion: MotionAnalysis?
    /// The reference clip's frame aligned with this one (`.reference`), same size.
    public let reference: Frame?
    /// This frame's and its reference's luma as float images (`.referenceImages`).
    public let referenceImages: (frame: FloatImage, reference: FloatImage)?
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
