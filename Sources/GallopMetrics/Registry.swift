import GallopCore
import GallopLearned

/// Every metric Gallop knows, in report order (as libvmaf's static
/// feature-extractor list). Adding a metric: one file, one line here.
public enum MetricRegistry {
    /// The metrics by scorecard group, in report order.
    public static let groups: [(name: String, metrics: [any Metric.Type])] = [
        ("temporal", [TemporalFlickering.self, FlickerIndex.self, FrameDifference.self, Freeze.self, SceneCuts.self]),
        ("motion", [MotionMagnitude.self, DynamicDegree.self, WarpingError.self, MotionSmoothness.self, CameraMotion.self]),
        ("quality", [Sharpness.self, NoiseSigma.self, Exposure.self, Contrast.self, Colorfulness.self, Blockiness.self, NIQE.self, BRISQUE.self]),
        ("reference", [PSNR.self, SSIM.self, SSIMFast.self, MSSSIM.self, VMAF.self]),
        // What the frames show, through learned encoders: each runs only when its weights are configured.
        ("content", [SubjectConsistency.self, BackgroundConsistency.self, AestheticQuality.self, CLIPScore.self]),
        ("audio", [LoudnessLUFS.self, LoudnessRange.self, TruePeak.self, ClippedShare.self, SilenceShare.self, AVOffset.self, AVAlign.self]),
    ]

    public static let all: [any Metric.Type] = groups.flatMap(\.metrics)

    /// The scorecard group of a metric.
    public static func group(of name: String) -> String? {
        groups.first { $0.metrics.contains { $0.info.name == name } }?.name
    }

    public static var names: [String] { all.map { $0.info.name } }

    /// Whether a metric measures the sound (reads `.audio`): null, without a warning of its own, on a clip with no sound track.
    public static func measuresSound(_ info: MetricInfo) -> Bool { info.analyses.contains(.audio) }

    public struct UnknownMetric: Error, CustomStringConvertible {
        public let name: String
        public var description: String {
            "unknown metric '\(name)'; known metrics: \(MetricRegistry.names.joined(separator: ", "))"
        }
    }

    public static func type(named name: String) -> (any Metric.Type)? {
        all.first { $0.info.name == name }
    }

    /// The metric types for a selection, in registry order (`among` the registry's unless given).
    /// No selection (`all`) means every metric selected by default (``MetricInfo/byDefault``), the
    /// full-reference ones only when there is a reference; an opt-in metric runs only when named.
    /// A metric that runs learned models (``MetricInfo/models``) is available only when every one of them is
    /// in `models`; an unavailable one is left out (``unavailable(_:reference:models:among:)`` lists them), so a
    /// run without weights selects, and fingerprints, exactly what it did before the learned metrics existed.
    public static func select(_ names: [String]?, reference: Bool = false, models: Set<ModelKey> = [],
                              among types: [any Metric.Type] = all) throws -> [any Metric.Type] {
        try wanted(names, reference: reference, among: types).filter { Set($0.info.models).isSubset(of: models) }
    }

    /// The metrics a selection asks for that cannot run for want of their models, with the missing keys.
    public static func unavailable(_ names: [String]?, reference: Bool = false, models: Set<ModelKey> = [],
                                   among types: [any Metric.Type] = all) throws -> [(metric: String, missing: [ModelKey])] {
        try wanted(names, reference: reference, among: types).compactMap { t in
            let missing = t.info.models.filter { !models.contains($0) }
            return missing.isEmpty ? nil : (t.info.name, missing)
        }
    }

    /// The stderr line and `summary.json` note of an unavailable metric.
    public static func notComputed(_ metric: String, missing: [ModelKey]) -> String {
        "\(metric) (needs \(missing.map { "models.\($0.rawValue)" }.joined(separator: " and ")); see `gallop metrics`)"
    }

    private static func wanted(_ names: [String]?, reference: Bool, among types: [any Metric.Type]) throws -> [any Metric.Type] {
        guard let names, !names.isEmpty else { return types.filter { $0.info.byDefault && (reference || !$0.info.needsReference) } }
        for n in names where !types.contains(where: { $0.info.name == n }) { throw UnknownMetric(name: n) }
        return types.filter { names.contains($0.info.name) }
    }

    /// Every public number name: headlines and secondary values, in order.
    public static func valueNames(for types: [any Metric.Type]) -> [String] {
        types.flatMap { [$0.info.name] + $0.info.secondary }
    }

    /// One value as the registry declares it, with the metric it belongs to.
    public struct Value: Sendable {
        public var traits: ValueTraits
        public var metric: String
        public var group: String
        /// How it is derived at report time, for a derived value; nil for a number in the rows.
        public var match: PromptCameraMatch?
        /// For a value derived as a distance from a target: which number and target.
        public var offTarget: TargetDistance?
        public var isHeadline: Bool { traits.name == metric }
    }

    /// Every value in order: each metric's headline, its secondary values, then the values derived from it.
    public static var values: [Value] {
        groups.flatMap { group in
            group.metrics.flatMap { type -> [Value] in
                let i = type.info
                return [Value(traits: i.headline, metric: i.name, group: group.name)]
                    + i.secondaryValues.map { Value(traits: $0, metric: i.name, group: group.name) }
                    + i.derived.map { d -> Value in
                        switch d.source {
                        case .cameraClass(let key):
                            Value(traits: d.traits, metric: d.traits.name, group: group.name, match: PromptCameraMatch(metric: i.name, key: key))
                        case .offTarget(let target):
                            Value(traits: d.traits, metric: d.traits.name, group: group.name, offTarget: TargetDistance(metric: i.name, target: target))
                        }
                    }
            }
        }
    }

    /// Names of the values Gallop derives when it reports.
    public static var derivedNames: [String] { all.flatMap { $0.info.derived.map(\.traits.name) } }

    /// The metric whose per-frame series report.html reads for a purpose.
    public static func metric(for series: ReportSeries) -> String? {
        all.first { $0.info.series == series }?.info.name
    }
}
