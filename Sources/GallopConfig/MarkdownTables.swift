import Foundation
import GallopCore
import GallopLearned
import GallopMetrics
import GallopResults

/// The README's tables that describe the metrics, written from the registry
/// (`gallop metrics --markdown`): the metric table, the config keys with their
/// defaults, the gate's default tolerances and the composite's default terms.
/// The README holds each between `<!-- gallop metrics --markdown: NAME -->`
/// and `<!-- end -->`, and a test fails when it differs from this output.
public enum MarkdownTables {
    /// Each table's marker name and text, in the README's order.
    public static var sections: [(name: String, table: String)] {
        [("config", config), ("tolerances", tolerances), ("composite", composite), ("metrics", metrics)]
    }

    /// The tables as `gallop metrics --markdown` prints them: each inside its markers.
    public static var document: String {
        sections.map { block($0.name, $0.table) }.joined(separator: "\n")
    }

    /// One table as the README holds it.
    public static func block(_ name: String, _ table: String) -> String {
        "<!-- gallop metrics --markdown: \(name) -->\n\(table)<!-- end -->\n"
    }

    /// A number as the tables write it: the shortest form (12, 0.4, 0.005).
    static func number(_ x: Double) -> String { String(format: "%g", x) }

    static func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }

    static var metrics: String {
        var out = "| metric | better | unit | what it measures | checked against |\n|---|---|---|---|---|\n"
        for type in MetricRegistry.all {
            let i = type.info
            let also = i.secondary.isEmpty ? "" : " (+" + i.secondary.map { "`\($0)`" }.joined(separator: ", ") + ")"
            let better = i.direction == .none ? "·" : i.direction.rawValue
            let weights = i.models.isEmpty ? "" : " (needs " + i.models.map { "`models.\($0.rawValue)`" }.joined(separator: ", ") + ")"
            out += "| `\(i.name)`\(also)\(i.byDefault ? "" : " (opt-in)")\(weights) | \(better) | \(i.unit.isEmpty ? "–" : cell(i.unit)) | \(cell(i.about)) | \(cell(i.checkedAgainst)) |\n"
        }
        return out
    }

    static var config: String {
        let d = Configuration()
        var out = "| key | default | meaning |\n|---|---|---|\n"
        out += "| `metrics` | `all` | a list of metric names, or `all`: every metric but the opt-in ones, which run only when named (the full-reference metrics only with `--reference`) |\n"
        out += "| `analysis.max_side`, `every`, `max_frames`, `motion_side` | `native`, \(d.every), `all`, \(d.motionSide) | as the flags of the same names |\n"
        out += "| `models.\(ModelKey.allCases.map(\.rawValue).joined(separator: "`, `"))` | none | the learned metrics' weights: a folder as downloaded or the `.safetensors` file, relative to the config file (`--weights DIR` finds `DIR/<key>`); a metric whose weights are missing is listed as not computed |\n"
        for o in MetricSettings.options {
            out += "| `options.\(o.section).\(o.key)` | \(number(o.value(d.options))) | \(cell(o.help)) |\n"
        }
        let b = d.report.bootstrap
        out += "| `report.bootstrap.resamples`, `seed`, `level` | \(b.resamples), \(b.seed), \(number(b.level)) | the intervals and ranks |\n"
        let restricted = d.report.restrict.map { r in
            "`\(r.metric)`: `{tags: [\(r.tags.joined(separator: ", "))]\(r.except.isEmpty ? "" : ", except: [\(r.except.joined(separator: ", "))]")}`"
        }
        out += "| `report.restrict` | \(restricted.isEmpty ? "none" : restricted.joined(separator: "; ")) | metric → the prompt tags it is read on, and tags that rule a prompt out (`metric: [tags]` is short for `{tags: […]}`; `metric: []` lifts the restriction) |\n"
        out += "| `report.composite` | see below | group → metric → `{weight, worst, best}`; a file's group replaces the group of that name (`group: {}` removes it); `overall` is reserved |\n"
        let f = d.gate.fallback
        out += "| `gate.default`, `gate.tolerances` | `{\(f.kind.rawValue): \(number(f.value))}`; see [CI regression checks](#ci-regression-checks) | `gallop check`: how much worse a metric may get |\n"
        return out
    }

    static var tolerances: String {
        var out = "| metric | default tolerance | why |\n|---|---|---|\n"
        for v in MetricRegistry.values {
            guard let t = v.traits.tolerance else { continue }
            let unit = v.traits.unit == "%" ? " (points of %)" : v.traits.unit.isEmpty ? "" : " \(v.traits.unit)"
            let amount = t.kind == .absolute ? number(t.value) + unit : number(t.value * 100) + "%"
            out += "| `\(v.traits.name)` | \(cell(amount)) | \(cell(v.traits.toleranceReason)) |\n"
        }
        return out
    }

    static var composite: String {
        var out = "| group | metric: worst → best |\n|---|---|\n"
        for g in Configuration().report.composite {
            let terms = g.terms.map { t in
                "`\(t.metric)` \(number(t.worst)) → \(number(t.best))" + (t.weight == 1 ? "" : " (weight \(number(t.weight)))")
            }
            out += "| \(g.name)\(g.inOverall ? "" : " (not in overall)") | \(terms.joined(separator: ", ")) |\n"
        }
        return out
    }
}
