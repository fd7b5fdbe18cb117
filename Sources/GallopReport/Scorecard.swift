import Foundation
import GallopCore
import GallopHarness
import GallopMetrics

/// The markdown scorecard: one row per model, one column per headline metric
/// (mean ± 95% CI over clips), clip and failure counts, each metric's better
/// direction, and a list of failed clips.
public enum Scorecard {
    public static func markdown(rows: [ClipResult], title: String = "Gallop scorecard") -> String {
        let groups = Aggregation.group(rows, by: .model)
        let headlines = Aggregation.valueNames(in: rows).filter { name in MetricRegistry.type(named: name) != nil }
        var out = "# \(title)\n\n"
        let ok = rows.filter { $0.status == .ok }.count
        out += "\(rows.count) clip\(rows.count == 1 ? "" : "s") from \(groups.count) model\(groups.count == 1 ? "" : "s"); "
        out += "\(ok) scored, \(rows.count - ok) failed. Values are means over clips ± the half-width of a 95% Student-t interval"
        out += " (no interval with one clip). ↑ higher is better, ↓ lower is better, · no better side.\n"
        let fingerprints = Set(rows.map(\.fingerprint)).filter { !$0.isEmpty }.sorted()
        if !fingerprints.isEmpty {
            out += "Config fingerprint\(fingerprints.count > 1 ? "s (mixed runs!)" : ""): \(fingerprints.map { "`\($0)`" }.joined(separator: ", ")).\n"
        }
        out += "\n"
        if !headlines.isEmpty {
            out += "| model | clips | failed | " + headlines.map { name in
                "\(name) \(MetricRegistry.type(named: name)!.info.direction.arrow)"
            }.joined(separator: " | ") + " |\n"
            out += "|---|---:|---:|" + String(repeating: "---:|", count: headlines.count) + "\n"
            for g in groups {
                var cells = [escape(g.key), String(g.clips), String(g.failed)]
                for name in headlines {
                    cells.append(g.summary(name).map(format) ?? "–")
                }
                out += "| " + cells.joined(separator: " | ") + " |\n"
            }
            out += "\n"
        }
        let secondary = Aggregation.valueNames(in: rows).filter { MetricRegistry.type(named: $0) == nil }
        if !secondary.isEmpty {
            out += "## Secondary values\n\n| model | " + secondary.joined(separator: " | ") + " |\n"
            out += "|---|" + String(repeating: "---:|", count: secondary.count) + "\n"
            for g in groups {
                out += "| " + ([escape(g.key)] + secondary.map { g.summary($0).map(format) ?? "–" }).joined(separator: " | ") + " |\n"
            }
            out += "\n"
        }
        out += "## Metrics\n\n| metric | better | unit | what it measures |\n|---|---|---|---|\n"
        for name in headlines {
            let info = MetricRegistry.type(named: name)!.info
            out += "| `\(name)` | \(info.direction.rawValue) | \(info.unit.isEmpty ? "–" : info.unit) | \(escape(info.summary)) |\n"
        }
        let undefined = groups.flatMap { g in g.undefined.sorted { $0.key < $1.key }.map { "\(g.key): \($0.key) undefined on \($0.value) clip(s)" } }
        if !undefined.isEmpty {
            out += "\nUndefined values (left out of the means; see each row's `warnings`): " + undefined.joined(separator: "; ") + ".\n"
        }
        let failed = rows.filter { $0.status == .error }.sorted { $0.path < $1.path }
        if !failed.isEmpty {
            out += "\n## Failed clips\n\n"
            for row in failed { out += "- `\(row.path)`: \(escape(row.error ?? "unknown error"))\n" }
        }
        return out
    }

    /// `mean ± ci` with 4 significant digits on the mean and the CI rounded to
    /// the mean's last shown decimal.
    static func format(_ s: Summary) -> String {
        let decimals = decimalsFor(s.mean)
        let mean = fixed(s.mean, decimals)
        guard let ci = s.ci95 else { return mean }
        return "\(mean) ± \(fixed(ci, decimals))"
    }

    static func decimalsFor(_ v: Double) -> Int {
        let a = abs(v)
        if a == 0 || !a.isFinite { return 2 }
        if a >= 1000 { return 0 }
        if a >= 100 { return 1 }
        if a >= 10 { return 2 }
        if a >= 1 { return 3 }
        if a >= 0.1 { return 4 }
        if a >= 0.01 { return 5 }
        return 6
    }

    static func fixed(_ v: Double, _ decimals: Int) -> String {
        guard v.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let r = (abs(v) * scale).rounded()
        let whole = Int64(r / scale)
        var text = String(whole)
        if decimals > 0 {
            let frac = String(Int64(r) - whole * Int64(scale))
            text += "." + String(repeating: "0", count: decimals - frac.count) + frac
        }
        return (v < 0 && r > 0 ? "-" : "") + text
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
