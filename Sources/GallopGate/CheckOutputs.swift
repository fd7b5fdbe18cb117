import Foundation
import GallopCore
import GallopResults
import XMLCoder

/// What `gallop check` writes: the markdown summary, GitHub workflow
/// commands, JUnit XML and the JSON verdict, all from one ``Check/Result``.
public enum CheckOutputs {
    /// GitHub caps a step summary at 1 MiB.
    public static let summaryLimit = 1 << 20
    /// GitHub shows at most 10 error and 10 warning annotations a step.
    public static let annotationLimit = 10

    // MARK: Markdown

    /// The verdict first, then per model the regressions and the metric table;
    /// when the text would pass `limit` bytes the tables are cut, never the verdict.
    public static func markdown(_ r: Check.Result, limit: Int = summaryLimit) -> String {
        let regressions = r.models.reduce(0) { $0 + $1.regressions.count }
        let failing = r.models.reduce(0) { $0 + $1.newlyFailing.count }
        let missing = r.models.reduce(0) { $0 + $1.missing.count }
        var head = "## Gallop check: \(r.failed ? "❌ failed" : "✅ passed")\n\n"
        var reasons: [String] = []
        if regressions > 0 { reasons.append("\(regressions) metric regression\(regressions == 1 ? "" : "s")") }
        if failing > 0 { reasons.append("\(failing) newly failing clip\(failing == 1 ? "" : "s")") }
        if missing > 0 { reasons.append("\(missing) missing clip\(missing == 1 ? "" : "s")" + (r.allowMissing ? " (allowed)" : "")) }
        let paired = r.models.reduce(0) { $0 + $1.paired }
        head += (reasons.isEmpty ? "No regression" : reasons.joined(separator: ", ").prefix(1).uppercased() + reasons.joined(separator: ", ").dropFirst())
        head += " over \(paired) paired clip\(paired == 1 ? "" : "s") of \(r.models.count) model\(r.models.count == 1 ? "" : "s"). "
        head += "A metric regresses when the whole 95% interval of its mean paired change lies past its tolerance in its bad direction.\n\n"
        var details = ""
        for m in r.models {
            for x in m.regressions.sorted(by: { $0.severity > $1.severity }) {
                details += "- **\(m.name)**: `\(x.metric)` regressed: \(describe(x))\n"
            }
            for c in m.newlyFailing { details += "- **\(m.name)**: `\(c.path)` newly fails: \(c.message)\n" }
            if !m.missing.isEmpty && !r.allowMissing {
                details += "- **\(m.name)**: \(m.missing.count) baseline clip\(m.missing.count == 1 ? "" : "s") missing: \(list(m.missing))\n"
            }
        }
        if !r.configDifferences.isEmpty {
            details += "\n⚠️ The configs differ (allowed): \(r.configDifferences.prefix(6).joined(separator: "; ")).\n"
        }
        var tables = ""
        for m in r.models {
            tables += "\n### \(m.name)\(m.baselineName != m.name ? " (baseline: \(m.baselineName))" : "")\n\n"
            tables += "| metric | verdict | baseline | candidate | change [95% interval] | tolerance | prompts |\n|---|---|---:|---:|---:|---:|---:|\n"
            for x in m.metrics {
                let change = x.interval.map { "\(num(x.difference)) [\(num($0.low)), \(num($0.high))]" } ?? num(x.difference)
                let tol = x.tolerance.map { "\($0.kind == .relative ? "\(num($0.value * 100))% = " : "")\(num(x.toleranceAmount!))" } ?? "–"
                tables += "| `\(x.metric)` \(x.direction.arrow) | \(icon(x.verdict)) \(x.verdict.rawValue) | \(num(x.baselineMean)) | \(num(x.candidateMean)) | \(change) | \(tol) | \(x.prompts) |\n"
            }
            if !m.extra.isEmpty { tables += "\n\(m.extra.count) candidate clip\(m.extra.count == 1 ? "" : "s") with no baseline: \(list(m.extra))\n" }
        }
        let foot = "\nBaseline config `\(r.baselineFingerprint)`, candidate `\(r.candidateFingerprint)`; bootstrap \(r.bootstrap.resamples) resamples of prompts, seed \(r.bootstrap.seed). Gallop \(Gallop.version).\n"
        let full = head + details + tables + foot
        guard full.utf8.count > limit else { return full }
        // Over the limit: the verdict stays, then as many lines of the list and the tables as fit.
        let note = "\n_The list and tables were cut to fit GitHub's 1 MiB step summary; `--json` has every number._\n"
        var cut = head
        for line in (details + tables).split(separator: "\n", omittingEmptySubsequences: false) {
            if cut.utf8.count + line.utf8.count + note.utf8.count + foot.utf8.count + 1 > limit { break }
            cut += line + "\n"
        }
        return cut + note + foot
    }

    static func describe(_ x: Check.MetricResult) -> String {
        let i = x.interval.map { " [\(num($0.low)), \(num($0.high))]" } ?? ""
        return "\(num(x.baselineMean)) → \(num(x.candidateMean)), change \(num(x.difference))\(i) against a tolerance of \(num(x.toleranceAmount ?? 0)) (\(x.direction == .higher ? "higher" : "lower") is better, \(x.prompts) prompts)"
    }

    static func icon(_ v: Check.Verdict) -> String {
        switch v {
        case .regression: return "❌"
        case .improvement: return "⬆️"
        case .unchanged: return "✅"
        case .notGated, .tooFew: return "·"
        }
    }

    static func list(_ items: [String], limit: Int = 8) -> String {
        let shown = items.prefix(limit).map { "`\($0)`" }.joined(separator: ", ")
        return items.count > limit ? shown + ", … (\(items.count - limit) more)" : shown
    }

    /// Four significant digits.
    static func num(_ v: Double) -> String {
        guard v.isFinite else { return "–" }
        if v == 0 { return "0" }
        let digits = max(0, 3 - Int(floor(log10(abs(v)))))
        return String(format: "%.\(min(digits, 8))f", v)
    }

    // MARK: GitHub workflow commands

    /// `::error` for regressions and newly failing clips, `::warning` for
    /// improvements and missing clips: the worst 10 of each, then one line
    /// pointing to the summary for the rest.
    public static func annotations(_ r: Check.Result) -> [String] {
        var errors: [(Double, String)] = [], warnings: [(Double, String)] = []
        for m in r.models {
            for x in m.regressions {
                errors.append((x.severity, "::error title=\(escapeProperty("Gallop: \(m.name) \(x.metric) regressed"))::\(escapeData(describe(x)))"))
            }
            for c in m.newlyFailing {
                errors.append((.infinity, "::error title=\(escapeProperty("Gallop: \(m.name) clip newly fails"))::\(escapeData("\(c.path): \(c.message)"))"))
            }
            for x in m.improvements {
                warnings.append((x.severity, "::warning title=\(escapeProperty("Gallop: \(m.name) \(x.metric) improved"))::\(escapeData(describe(x)))"))
            }
            if !m.missing.isEmpty {
                warnings.append((.infinity, "::warning title=\(escapeProperty("Gallop: \(m.name) clips missing"))::\(escapeData("\(m.missing.count) baseline clips have no candidate: \(m.missing.prefix(5).joined(separator: ", "))"))"))
            }
        }
        func worst(_ items: [(Double, String)], _ kind: String) -> [String] {
            let sorted = items.sorted { $0.0 > $1.0 }.map(\.1)
            guard sorted.count > annotationLimit else { return sorted }
            let rest = sorted.count - (annotationLimit - 1)
            return Array(sorted.prefix(annotationLimit - 1)) + ["::\(kind) title=Gallop: \(rest) more::\(rest) more; see the step summary or --json for every one"]
        }
        return worst(errors, "error") + worst(warnings, "warning")
    }

    /// Workflow-command escaping (actions/toolkit): data escapes %, CR, LF; properties also : and ,.
    static func escapeData(_ s: String) -> String {
        s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }

    static func escapeProperty(_ s: String) -> String {
        escapeData(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }

    // MARK: JSON

    public static func json(_ r: Check.Result) -> JSONValue {
        .object([
            ("schema_version", .int(1)),
            ("gallop_version", .string(Gallop.version)),
            ("verdict", .string(r.failed ? "fail" : "pass")),
            ("baseline_fingerprint", .string(r.baselineFingerprint)),
            ("candidate_fingerprint", .string(r.candidateFingerprint)),
            ("config_differences", .array(r.configDifferences.map { .string($0) })),
            ("bootstrap", .object([("resamples", .int(r.bootstrap.resamples)), ("seed", .number(Double(r.bootstrap.seed))),
                                   ("level", .number(r.bootstrap.level)), ("unit", .string("prompt"))])),
            ("models", .array(r.models.map { m in
                .object([
                    ("name", .string(m.name)), ("baseline_name", .string(m.baselineName)), ("paired", .int(m.paired)),
                    ("metrics", .object(m.metrics.map { x in
                        (x.metric, .object([
                            ("direction", .string(x.direction.rawValue)), ("verdict", .string(x.verdict.rawValue)),
                            ("baseline_mean", .number(x.baselineMean)), ("candidate_mean", .number(x.candidateMean)),
                            ("difference", .number(x.difference)), ("interval", x.interval.map { .numbers([$0.low, $0.high]) } ?? .null),
                            ("tolerance", x.tolerance.map { .object([("kind", .string($0.kind.rawValue)), ("value", .number($0.value)),
                                                                     ("amount", .number(x.toleranceAmount))]) } ?? .null),
                            ("pairs", .int(x.pairs)), ("prompts", .int(x.prompts)),
                        ]))
                    })),
                    ("newly_failing", .array(m.newlyFailing.map { .object([("path", .string($0.path)), ("error", .string($0.message))]) })),
                    ("missing", .array(m.missing.map { .string($0) })),
                    ("extra", .array(m.extra.map { .string($0) })),
                ])
            })),
        ])
    }

    // MARK: JUnit

    /// JUnit XML: a testsuite per model, a testcase per metric (failure on a
    /// regression, skipped when not gated) and per newly failing or missing clip.
    public static func junit(_ r: Check.Result) throws -> String {
        var suites: [JUnit.Suite] = []
        for m in r.models {
            var cases: [JUnit.Case] = m.metrics.map { x in
                var c = JUnit.Case(name: x.metric, classname: "gallop.\(m.name)")
                switch x.verdict {
                case .regression: c.failure = JUnit.Failure(message: "\(x.metric) regressed", type: "regression", text: describe(x))
                case .notGated: c.skipped = JUnit.Skipped(message: "no better side: reported, never gated")
                case .tooFew: c.skipped = JUnit.Skipped(message: "fewer than \(Bootstrap.minimumUnits) prompts paired: no interval, not gated")
                case .improvement, .unchanged: c.systemOut = "\(x.verdict.rawValue): \(describe(x))"
                }
                return c
            }
            cases += m.newlyFailing.map {
                JUnit.Case(name: "clip \($0.path)", classname: "gallop.\(m.name).clips",
                           failure: JUnit.Failure(message: "newly failing clip", type: "clip", text: $0.message))
            }
            if !r.allowMissing {
                cases += m.missing.map {
                    JUnit.Case(name: "clip \($0)", classname: "gallop.\(m.name).clips",
                               failure: JUnit.Failure(message: "missing clip", type: "missing", text: "\($0) is in the baseline and not in the candidate"))
                }
            }
            suites.append(JUnit.Suite(name: m.name, tests: cases.count, failures: cases.filter { $0.failure != nil }.count,
                                      skipped: cases.filter { $0.skipped != nil }.count, testcase: cases))
        }
        let root = JUnit.Suites(name: "gallop check", tests: suites.reduce(0) { $0 + $1.tests },
                                failures: suites.reduce(0) { $0 + $1.failures }, testsuite: suites)
        let encoder = XMLEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        let data = try encoder.encode(root, withRootKey: "testsuites", header: XMLHeader(version: 1.0, encoding: "UTF-8"))
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// The JUnit XML schema as CI systems read it (attributes marked for XMLCoder).
enum JUnit {
    struct Suites: Encodable, DynamicNodeEncoding {
        var name: String
        var tests: Int
        var failures: Int
        var testsuite: [Suite]
        static func nodeEncoding(for key: CodingKey) -> XMLEncoder.NodeEncoding { key.stringValue == "testsuite" ? .element : .attribute }
    }

    struct Suite: Encodable, DynamicNodeEncoding {
        var name: String
        var tests: Int
        var failures: Int
        var skipped: Int
        var testcase: [Case]
        static func nodeEncoding(for key: CodingKey) -> XMLEncoder.NodeEncoding { key.stringValue == "testcase" ? .element : .attribute }
    }

    struct Case: Encodable, DynamicNodeEncoding {
        var name: String
        var classname: String
        var failure: Failure?
        var skipped: Skipped?
        var systemOut: String?
        enum CodingKeys: String, CodingKey { case name, classname, failure, skipped, systemOut = "system-out" }
        static func nodeEncoding(for key: CodingKey) -> XMLEncoder.NodeEncoding {
            ["name", "classname"].contains(key.stringValue) ? .attribute : .element
        }
    }

    struct Failure: Encodable, DynamicNodeEncoding {
        var message: String
        var type: String
        var text: String
        enum CodingKeys: String, CodingKey { case message, type, text = "" }
        static func nodeEncoding(for key: CodingKey) -> XMLEncoder.NodeEncoding { key.stringValue == "" ? .element : .attribute }
    }

    struct Skipped: Encodable, DynamicNodeEncoding {
        var message: String
        static func nodeEncoding(for key: CodingKey) -> XMLEncoder.NodeEncoding { .attribute }
    }
}
