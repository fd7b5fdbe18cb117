import Foundation
import GallopCore
import GallopResults

/// What a report says about how it was made, beyond the rows.
public struct ReportContext: Sendable {
    public var title = "Gallop scorecard"
    /// ISO 8601 creation time.
    public var created: String
    /// The command line that wrote the report.
    public var command: [String]
    /// Lines of the results file that were skipped or replaced.
    public var problems: [LoadedResults.Problem] = []
    /// Metrics the run was asked for but could not compute for want of their learned models' weights, with the
    /// config keys each needs (`summary.json`'s `not_computed`, present only when there are some).
    public var notComputed: [(metric: String, needs: [String])] = []

    public init(created: String = ReportContext.now(), command: [String] = CommandLine.arguments, problems: [LoadedResults.Problem] = []) {
        self.created = created
        self.command = command
        self.problems = problems
    }

    public static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}

/// `summary.json`: the aggregates with their intervals and ranks, and
/// everything needed to reproduce them (`schema_version` 1, its own numbering).
public enum SummaryJSON {
    public static let schemaVersion = 1

    public static func make(_ s: ResultsSummary, context: ReportContext) -> JSONValue {
        let b = s.settings.bootstrap
        var metrics: [(String, JSONValue)] = []
        for v in s.values {
            var entry: [(String, JSONValue)] = [
                ("direction", .string(v.direction.rawValue)),
                ("higher_is_better", v.direction == .none ? .null : .bool(v.direction == .higher)),
                ("unit", .string(v.unit)),
                ("group", .string(v.group)),
                ("metric", .string(v.metric)),
                ("restricted_to_tags", s.restricted[v.name].map { .array($0.tags.map { .string($0) }) } ?? .null),
                ("except_tags", s.restricted[v.name].map { .array($0.except.map { .string($0) }) } ?? .null),
                ("models", .object(s.models.compactMap { m in m.all.values[v.name].map { (m.name, aggregate($0)) } })),
            ]
            if let c = s.coverage {
                let tags: [(String, JSONValue)] = c.suite.tags.compactMap { tag in
                    let cells = s.models.compactMap { m in m.tags[tag]?.values[v.name].map { (m.name, aggregate($0)) } }
                    return cells.isEmpty ? nil : (tag, .object(cells))
                }
                entry.append(("tags", .object(tags)))
            }
            metrics.append((v.name, .object(entry)))
        }
        let suite: JSONValue = s.coverage.map { c in
            .object([
                ("name", .string(c.suite.name)), ("version", .int(c.suite.version)), ("prompts", .int(c.suite.prompts.count)),
                ("missing", .object(c.missing.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map { .string($0) })) })),
                ("not_in_suite", .array(c.unknown.map { .string($0) })),
            ])
        } ?? .null
        var fields: [(String, JSONValue)] = [
            ("schema_version", .int(schemaVersion)),
            ("gallop_version", .string(Gallop.version)),
            ("created", .string(context.created)),
            ("command", .array(context.command.map { .string($0) })),
            ("fingerprint", .string(s.fingerprint)),
            ("config", s.config),
            ("report", .object([
                ("fingerprint", .string(s.settings.fingerprint)),
                ("bootstrap", .object([("resamples", .int(b.resamples)), ("seed", .number(Double(b.seed))), ("level", .number(b.level)),
                                       ("unit", .string("prompt")), ("method", .string(Bootstrap.method))])),
                ("ranks", .string("1 + the number of models significantly better, paired by prompt")),
                ("restrict", .object(s.settings.restrict.map {
                    ($0.metric, .object([("tags", .array($0.tags.map { .string($0) })), ("except", .array($0.except.map { .string($0) }))]))
                })),
                ("composite", .object(s.settings.composite.map { g in
                    (g.name, .object(g.terms.map { t in
                        (t.metric, .object([("weight", .number(t.weight)), ("worst", .number(t.worst)), ("best", .number(t.best))]))
                    }))
                })),
                ("overall", .array(s.settings.composite.filter(\.inOverall).map { .string($0.name) })),
            ])),
            ("suite", suite),
            ("results", .object([
                ("rows", .int(s.clips.count)),
                ("failed", .int(s.clips.filter { $0.row.status == .error }.count)),
                ("skipped_lines", .array(context.problems.filter { $0.kind == .skipped }.map { .int($0.line) })),
                ("duplicate_lines", .array(context.problems.filter { $0.kind == .duplicate }.map { .int($0.line) })),
            ])),
            ("models", .array(s.models.map { m in
                .object([("name", .string(m.name)), ("clips", .int(m.all.clips)), ("failed", .int(m.all.failed)), ("frames", .int(m.frames)),
                         ("prompts", .int(m.prompts.values.filter { $0.clips > $0.failed }.count)),
                         ("tags", .object((s.coverage?.suite.tags ?? []).compactMap { tag in
                             m.tags[tag].map { (tag, .object([("clips", .int($0.clips)), ("failed", .int($0.failed))])) }
                         }))])
            })),
            ("metrics", .object(metrics)),
            ("prompts", .object(s.models.map { m in
                (m.name, .object(m.prompts.sorted { $0.key < $1.key }.map { id, cell in
                    (id, .object([("clips", .int(cell.clips)), ("failed", .int(cell.failed)),
                                  ("means", .object(s.values.compactMap { v in cell.means[v.name].map { (v.name, .number($0)) } }))]))
                }))
            })),
        ]
        if !context.notComputed.isEmpty {
            fields.append(("not_computed", .object(context.notComputed.map { ($0.metric, .object([("needs", .array($0.needs.map { .string($0) }))])) })))
        }
        return .object(fields)
    }

    static func aggregate(_ a: Aggregate) -> JSONValue {
        .object([
            ("mean", .number(a.mean)), ("median", a.median.isFinite ? .number(a.median) : .null), ("n", .int(a.n)), ("prompts", .int(a.prompts)),
            ("ci", a.interval.map { .numbers([$0.low, $0.high]) } ?? .null),
            ("rank", a.rank.map { .int($0) } ?? .null), ("undefined", .int(a.undefined)),
        ])
    }
}

/// `clips.csv` and `frames.csv` (RFC 4180: CRLF line ends, fields with a
/// comma, quote or line break quoted, quotes doubled). The writer is a few
/// lines here rather than CSV.swift's, which writes one scalar per stream
/// call; the tests read both files back with CSV.swift's reader.
public enum CSVFiles {
    public static func clips(_ s: ResultsSummary) -> String {
        let base = ["path", "model", "prompt", "seed", "status", "error", "warnings", "frames", "fps", "width", "height", "rotation", "duration"]
        // Composites are model-level scores, not a clip's.
        let values = s.values.filter { $0.group != "composite" }
        var out = row(base + values.map(\.name))
        for c in s.clips {
            let r = c.row
            var fields = [r.path, r.name.model, r.name.prompt, r.name.seed.map(String.init) ?? "", r.status.rawValue, r.error ?? "",
                          r.warnings.joined(separator: "; ")]
            // An error row has no frames or size: empty fields, not zeros.
            fields += r.status == .ok ? [String(r.frames), number(r.fps), String(r.width), String(r.height), String(r.rotation), number(r.duration)]
                                      : ["", "", "", "", "", ""]
            fields += values.map { v in c.value(v.name).map(number) ?? "" }
            out += row(fields)
        }
        return out
    }

    /// Long format: one line per clip, scored frame, metric; `frame` counts scored frames from 0.
    public static func frames(_ rows: [ClipResult]) -> String {
        var out = row(["path", "frame", "time", "metric", "value"])
        for r in rows.sorted(by: { $0.path < $1.path }) where r.status == .ok {
            let path = quote(r.path)
            for (metric, extra) in r.extras {
                guard let series = extra["series"]?.arrayValue else { continue }
                for (i, v) in series.enumerated() {
                    guard let x = v.doubleValue else { continue }
                    let time = i < r.frameTimes.count ? number(r.frameTimes[i]) : ""
                    out += "\(path),\(i),\(time),\(metric),\(number(x))\r\n"
                }
            }
        }
        return out
    }

    static func number(_ v: Double) -> String { v.isFinite ? JSONValue.number(v).serialized() : "" }

    static func row(_ fields: [String]) -> String { fields.map(quote).joined(separator: ",") + "\r\n" }

    static func quote(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
