import GallopCore
import GallopLearned

/// Where a metric samples frames.
public enum Resolution: String, Sendable {
    /// Follows `--max-side` and `--every` (the analysis size and sampling).
    case analysis
    /// Reproduces a peer's number: exact only on every frame at native size; the
    /// config fingerprint records when the run used anything else.
    case native
}

/// What a metric is, as the registry, the CLI, the config, the gate and the
/// reports see it: everything about the metric except how it computes, in its
/// own file. The defaults Gallop derives from these (the gate's tolerances,
/// the composite, the prompt restrictions, report.html's moments, the config's
/// option sections) are read off the registry, never listed by name elsewhere.
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
    /// The gate's default tolerance for the headline (nil: the gate's fallback).
    public let tolerance: Tolerance?
    /// The headline's default composite term (nil: in no group).
    public let composite: CompositeRole?
    /// The prompts the metric and its secondary values are read on, given a prompt suite (nil: every prompt).
    public let readOn: PromptFilter?
    /// What report.html reads its per-frame series for, if anything.
    public let series: ReportSeries?
    /// The typed options of its config section (section = its name), with ranges and help.
    public let options: [MetricOption]
    /// The secondary numbers it adds under `metrics` (`<name>_<stat>`), each with its own better side and unit.
    public let secondaryValues: [ValueTraits]
    /// Values Gallop derives from its extras when it reports (`camera_agreement`).
    public let derived: [DerivedValue]
    /// What it measures and how it was checked, for the README's metric table (`gallop metrics --markdown`).
    public let about: String
    public let checkedAgainst: String
    /// Why its default tolerance is what it is.
    public let toleranceReason: String
    /// Selected when no metric is named (no `--metrics`, `--metrics all`, `metrics: all`). False makes
    /// it opt-in: it runs only when named, so adding it moves neither the default run's numbers, its
    /// fingerprint nor its cost (for costly or specialised metrics).
    public let byDefault: Bool
    /// The learned models it runs (config keys `models.<key>`): it is available only when each is configured,
    /// and their content hashes enter the fingerprint when it is selected.
    public let models: [ModelKey]
    /// Names of its secondary numbers.
    public var secondary: [String] { secondaryValues.map(\.name) }
    /// The headline as a value.
    public var headline: ValueTraits {
        ValueTraits(name: name, summary: summary, direction: direction, unit: unit, tolerance: tolerance, composite: composite, readOn: readOn,
                    toleranceReason: toleranceReason)
    }
    /// Full-reference: runs only when the clip has a reference (`--reference`).
    public var needsReference: Bool { analyses.contains(.reference) }
    /// It means nothing on frames smaller than a block: some analysis it reads is spatial
    /// (``AnalysisSpec/spatial``), or it reads the frame's planes itself in blocks or windows and says so.
    public let spatial: Bool

    public init(name: String, summary: String, direction: Direction, unit: String = "", needs: [AnalysisKey],
                temporal: Bool, resolution: Resolution = .analysis, tolerance: Tolerance? = nil, composite: CompositeRole? = nil,
                readOn: PromptFilter? = nil, series: ReportSeries? = nil, options: [MetricOption] = [],
                secondary: [ValueTraits] = [], derived: [DerivedValue] = [], about: String? = nil, checkedAgainst: String = "",
                toleranceReason: String = "", spatial: Bool = false, byDefault: Bool = true, models: [ModelKey] = []) {
        self.name = name
        self.summary = summary
        self.direction = direction
        self.unit = unit
        self.needs = needs
        self.analyses = AnalysisKey.resolve(needs)
        self.temporal = temporal
        self.resolution = resolution
        self.tolerance = tolerance
        self.composite = composite
        self.readOn = readOn
        self.series = series
        self.options = options
        self.secondaryValues = secondary
        self.derived = derived
        self.about = about ?? summary
        self.checkedAgainst = checkedAgainst
        self.toleranceReason = toleranceReason
        self.spatial = spatial || analyses.anySpatial
        self.byDefault = byDefault
        self.models = models
    }

    /// A secondary number: its name, better side and unit. Its summary in reports is "secondary value of <metric>".
    public static func value(_ name: String, _ direction: Direction, unit: String = "") -> ValueTraits {
        ValueTraits(name: name, summary: "", direction: direction, unit: unit)
    }
}

/// A value derived when Gallop reports: from a metric's extras and the prompt (``PromptCameraMatch``), or from
/// one of its numbers as a distance from a target (``TargetDistance``). Its traits, and its source.
public struct DerivedValue: Sendable {
    public enum Source: Sendable {
        /// The key in the metric's extras compared with the prompt's camera move.
        case cameraClass(key: String)
        /// |the metric's headline − target|.
        case offTarget(Double)
    }
    public let traits: ValueTraits
    public let source: Source
    public init(_ traits: ValueTraits, cameraClassKey: String) {
        self.traits = traits
        self.source = .cameraClass(key: cameraClassKey)
    }
    public init(_ traits: ValueTraits, offTarget target: Double) {
        self.traits = traits
        self.source = .offTarget(target)
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
    /// The clip's luma scaled to its reference's stored size and the reference's own luma
    /// (`.atReferenceSize`); nil when the two sizes are equal (then `frame` and `reference` are that pair).
    public let atReferenceSize: (clip: Plane, reference: Plane)?
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

    init(frame: Frame, previous: Frame?, reference: Frame?, atReferenceSize: (clip: Plane, reference: Plane)? = nil) {
        self.frame = frame
        self.previous = previous
        self.reference = reference
        self.atReferenceSize = atReferenceSize
    }
}

/// What the engine decides over the whole clip, handed to every metric when the clip ends.
public struct ClipAnalyses: Sendable {
    /// Frame indices t whose pair (t − 1, t) is a hard cut (``CutDetector``); empty unless some metric needs `.cuts`.
    public var cuts: Set<Int>
    /// Whether frame t repeats frame t − 1 (``Freeze/isRepeat(_:_:)``); empty unless some metric needs `.cuts`.
    public var repeats: [Bool]
    /// The clip's sound as measured (`.audio`); nil when no metric needs it, when the clip has no sound
    /// track, or when not one sample of it decoded (the row's `audio` and warnings say which).
    public var audio: AudioAnalysis?
    /// Each frame's features from a learned encoder (`.dinoFeatures`, `.clipB32Features`, `.clipL14Features`), as the
    /// encoder gives them (not normalised); empty unless some metric needs them.
    public var features: [AnalysisKey: [[Float]]] = [:]
    /// Why an encoder gave no features (its model could not be loaded or run), by analysis.
    public var featureFailures: [AnalysisKey: String] = [:]

    public init(cuts: Set<Int> = [], repeats: [Bool] = [], audio: AudioAnalysis? = nil) {
        self.cuts = cuts
        self.repeats = repeats
        self.audio = audio
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
    /// Entry `index` of the per-frame series as known so far, read while frames arrive (O(1), no copy): what
    /// the scorer ranks the candidate frames of report.html's moments by (``MetricEngine/provisionalValue(for:at:)``).
    /// A metric with a ``MetricInfo/series`` answers it; its final series may still differ where the clip's end
    /// decides (a flicker value across a cut is left out). Nil: not known (yet), or no series.
    func provisionalValue(at index: Int) -> Double?
}

extension Metric {
    public init(settings: MetricSettings) { self.init() }
    public func provisionalValue(at index: Int) -> Double? { nil }
}
