import GallopCore
import GallopMetrics
import GallopResults

/// The registry's metrics as readers of results see them: each headline,
/// secondary and derived value with its direction, unit and scorecard group,
/// and the default gate and report settings their files declare.
public enum ValueCatalog {
    public static let known: [ValueDescriptor] = MetricRegistry.values.map { v in
        ValueDescriptor(name: v.traits.name, direction: v.traits.direction, unit: v.traits.unit,
                        summary: v.traits.summary.isEmpty ? "secondary value of \(v.metric)" : v.traits.summary,
                        metric: v.metric, group: v.group, match: v.match, offTarget: v.offTarget)
    }

    /// The values Gallop derives when it reports (`Aggregation.derive`).
    public static var derived: [ValueDescriptor] { known.filter(\.isDerived) }

    /// Every value name a config may refer to: headlines, secondary values and derived values.
    public static var names: [String] { known.map(\.name) }

    /// A value's better side, nil for a name the registry does not know.
    public static func direction(of value: String) -> Direction? { known.first { $0.name == value }?.direction }

    /// The gate's defaults: each value's declared tolerance.
    public static let gate: GateSettings = {
        var g = GateSettings()
        for v in MetricRegistry.values { if let t = v.traits.tolerance { g.tolerances[v.traits.name] = t } }
        return g
    }()

    /// The report's defaults: each value's prompt restriction, and the composite groups in the
    /// order of their first term, each group's terms in registry order (a group counts in `overall` as its first term says).
    public static let report: ReportSettings = {
        var r = ReportSettings()
        for v in MetricRegistry.values {
            let t = v.traits
            if let f = t.readOn { r.restrict.append(ReportSettings.Restriction(metric: t.name, tags: f.tags, except: f.except)) }
            guard let c = t.composite else { continue }
            let term = CompositeTerm(metric: t.name, weight: c.weight, worst: c.worst, best: c.best)
            if let i = r.composite.firstIndex(where: { $0.name == c.group }) { r.composite[i].terms.append(term) } else {
                r.composite.append(CompositeGroup(name: c.group, terms: [term], inOverall: c.inOverall))
            }
        }
        return r
    }()
}
