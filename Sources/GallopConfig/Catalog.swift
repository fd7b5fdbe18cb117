import GallopCore
import GallopMetrics
import GallopResults

/// The registry's metrics as readers of results see them: each headline and
/// secondary value with its direction, unit and scorecard group.
public enum ValueCatalog {
    public static let known: [ValueDescriptor] = MetricRegistry.groups.flatMap { group in
        group.metrics.flatMap { type -> [ValueDescriptor] in
            let i = type.info
            let headline = ValueDescriptor(name: i.name, direction: i.direction, unit: i.unit, summary: i.summary, group: group.name)
            return [headline] + i.secondary.map {
                ValueDescriptor(name: $0, direction: Configuration.direction(of: $0) ?? .none, summary: "secondary value of \(i.name)",
                                metric: i.name, group: group.name)
            }
        }
    }
}
