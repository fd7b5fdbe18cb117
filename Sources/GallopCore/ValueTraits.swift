/// What a metric's file declares about each number it reports, beyond how it
/// is computed: its better side and unit, the gate's default tolerance, its
/// default composite term, the prompts it is read on and the report series it
/// feeds. Plain values, so that modules which must not see the metrics
/// (GallopResults) can be handed them: GallopMetrics declares them, GallopConfig
/// turns them into the default gate and report settings.
public struct ValueTraits: Sendable, Hashable {
    /// Public name: a key in a row's `metrics` (a headline or `<metric>_<stat>`), or a derived value's name.
    public var name: String
    public var summary: String
    public var direction: Direction
    /// Unit for reports ("" when unitless).
    public var unit: String
    /// How much worse it may get before `gallop check` calls it a regression (nil: the gate's fallback).
    public var tolerance: Tolerance?
    /// Its term in a composite group (nil: in none).
    public var composite: CompositeRole?
    /// The prompts it is read on when a prompt suite is given (nil: every prompt).
    public var readOn: PromptFilter?
    /// Why the tolerance is what it is (the README's tolerance table).
    public var toleranceReason: String

    public init(name: String, summary: String, direction: Direction, unit: String = "", tolerance: Tolerance? = nil,
                composite: CompositeRole? = nil, readOn: PromptFilter? = nil, toleranceReason: String = "") {
        self.name = name
        self.summary = summary
        self.direction = direction
        self.unit = unit
        self.tolerance = tolerance
        self.composite = composite
        self.readOn = readOn
        self.toleranceReason = toleranceReason
    }
}

/// How much worse a value may get, in its bad direction: an absolute amount in
/// its unit or a fraction of the baseline mean.
public struct Tolerance: Sendable, Hashable {
    public enum Kind: String, Sendable { case absolute, relative }
    public var kind: Kind
    public var value: Double
    public init(kind: Kind, value: Double) {
        self.kind = kind
        self.value = value
    }

    public static func absolute(_ value: Double) -> Tolerance { Tolerance(kind: .absolute, value: value) }
    public static func relative(_ value: Double) -> Tolerance { Tolerance(kind: .relative, value: value) }

    /// The tolerance in the metric's unit, given the baseline mean.
    public func amount(baselineMean: Double) -> Double {
        kind == .absolute ? value : value * abs(baselineMean)
    }

    public var text: String { kind == .absolute ? "\(value)" : "\(value * 100)%" }
}

/// A value's default term in a composite group: mapped linearly from `worst`
/// (0) to `best` (1), clamped, and weighted. A convention, not a measurement:
/// bounds chosen so that a clean clip scores near 1 and a clip with the defect
/// plainly visible near 0. Terms appear in their group in registry order, and
/// groups in the order of their first term.
public struct CompositeRole: Sendable, Hashable {
    public var group: String
    public var weight: Double
    public var worst: Double
    public var best: Double
    /// Whether its group counts in `overall`. False for a group that only some clips can have (`audio`: a silent
    /// clip has no sound to score), so that `overall` stays comparable between models with and without it.
    public var inOverall: Bool
    public init(group: String, weight: Double = 1, worst: Double, best: Double, inOverall: Bool = true) {
        self.group = group
        self.weight = weight
        self.worst = worst
        self.best = best
        self.inOverall = inOverall
    }
}

/// The prompts a value is read on: a prompt with any of `tags` and none of `except`.
public struct PromptFilter: Sendable, Hashable {
    public var tags: [String]
    public var except: [String]
    public init(tags: [String], except: [String] = []) {
        self.tags = tags
        self.except = except
    }
}

/// What report.html reads a metric's per-frame series for: the moment kinds it
/// flags (each read off one metric's series; `fidelity`, the frame least like
/// its reference), and the luma step of each pair that picks which side of a
/// flicker peak to show.
public enum ReportSeries: String, Sendable, CaseIterable {
    case flicker, freeze, cut, blur, warping, fidelity
    case lumaStep
}

/// A value Gallop derives per clip when it reports, from one of the clip's numbers: its distance
/// |x − `target`| from a target, in the number's unit (`loudness_off_target`: LU from −16 LUFS); absent
/// where the number is null.
public struct TargetDistance: Sendable, Hashable {
    /// The number it is derived from (a key in the row's `metrics`).
    public var metric: String
    public var target: Double
    public init(metric: String, target: Double) {
        self.metric = metric
        self.target = target
    }

    public func value(_ x: Double) -> Double { abs(x - target) }
}

/// A value Gallop derives per clip when it reports, from a metric's extras and
/// the prompt suite: 1 when the metric's extra `key` (a class name) is the
/// camera move the clip's prompt asks for, else 0; absent without a suite or
/// for a prompt that asks for none.
public struct PromptCameraMatch: Sendable, Hashable {
    /// The metric whose extras hold the class.
    public var metric: String
    public var key: String
    public init(metric: String, key: String) {
        self.metric = metric
        self.key = key
    }
}
