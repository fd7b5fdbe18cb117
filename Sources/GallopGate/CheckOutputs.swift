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

    /// The verdict first (what failed, by name), then one line per failure,
    /// then the failing models' tables and the passing ones folded away. When
    /// the text would pass `limit` bytes the list and tables are cut, never the verdict.
    public static func markdown(_ r: Check.Result, limit: Int = summaryLimit) -> String {
        // Shown open: the failing models, and those holding an undecided metric that blocks the job.
        func shownOpen(_ m: Check.ModelResult) -> Bool { m.failed(allowMissing: r.allowMissing) || (!r.allowUndecided && !m.undecided.isEmpty) }
        let failing = r.models.filter(shownOpen)
        var head = "## Gallop check: \(r.failed ? "❌ failed" : r.blockedByUndecided ? "❓ undecided" : "✅ passed")\n\n"
        var reasons: [String] = []
        let regressed = Set(r.models.flatMap { $0.regressions.map(\.metric) })
        if !regressed.isEmpty { reasons.append("regressed: " + r.models.flatMap { $0.metrics.filter(\.fails).map(\.metric) }.uniqued().map { "`\($0)`" }.joined(separator: ", ")) }
        let undecided = r.models.flatMap { $0.undecided.map(\.metric) }.uniqued()
        if !undecided.isEmpty {
            reasons.append("undecided\(r.allowUndecided ? " (allowed)" : ""), too few prompts to decide a change past the tolerance: "
                           + undecided.map { "`\($0)`" }.joined(separator: ", "))
        }
        let newlyFailing = r.models.reduce(0) { $0 + $1.newlyFailing.count }
        if newlyFailing > 0 { reasons.append("\(newlyFailing) newly failing clip\(plural(newlyFailing))") }
        let missing = r.models.reduce(0) { $0 + $1.missing.count }
        if missing > 0 { reasons.append("\(missing) missing clip\(plural(missing))" + (r.allowMissing ? " (allowed)" : "")) }
        let paired = r.models.reduce(0) { $0 + $1.scoredPairs }
        head += reasons.isEmpty ? "No regression" : reasons.joined(separator: "; ").prefix(1).uppercased() + reasons.joined(separator: "; ").dropFirst()
        head += " (\(paired) paired clip\(plural(paired)), \(r.models.count) model\(plural(r.models.count))).\n\n"
        var details = ""
        for m in failing {
            for x in m.regressions.sorted(by: { $0.severity > $1.severity }) {
                details += "- **\(escape(m.name))** `\(x.metric)`: \(describe(x))\n"
            }
            for c in m.newlyFailing { details += "- **\(escape(m.name))** \(code(c.path)) newly fails: \(escape(c.message))\n" }
            if !m.missing.isEmpty && !r.allowMissing {
                details += "- **\(escape(m.name))**: \(m.missing.count) baseline clip\(plural(m.missing.count)) missing: \(list(m.missing))\n"
            }
        }
        for m in r.models {
            for x in m.undecided { details += "- **\(escape(m.name))** `\(x.metric)` undecided: \(describe(x))\n" }
        }
        let small = r.models.flatMap(\.metrics).filter { $0.method == .signFlip || $0.verdict == .undecided || $0.verdict == .untested }
        if !small.isEmpty {
            details += "\nℹ️ \(smallSets(r))\n"
        }
        for (verdict, text) in [(Check.Verdict.untested, "Not tested (too few prompts; the mean change is within the tolerance or better)"),
                                (.noPrompts, "Compared on no prompt (no paired prompt is read for them)"),
                                (.notScored, "Not scored in the candidate, so not compared")] {
            let names = r.models.flatMap { m in m.metrics.filter { $0.verdict == verdict }.map { "\(escape(m.name)) `\($0.metric)`" } }
            if !names.isEmpty { details += "\n⚠️ \(text): \(names.prefix(12).joined(separator: ", "))\(names.count > 12 ? ", …" : "").\n" }
        }
        if !r.configDifferences.isEmpty {
            details += "\n⚠️ The configs differ (allowed): \(escape(r.configDifferences.prefix(6).joined(separator: "; "))).\n"
        }
        if !r.duplicates.isEmpty {
            details += "\n⚠️ \(r.duplicates.count) clip\(plural(r.duplicates.count)) left out as duplicates: \(list(r.duplicates))\n"
        }
        var tables = ""
        func table(_ m: Check.ModelResult) -> String {
            var t = "| metric | verdict | baseline | candidate | change [95% interval] or (sign-flip p) | tolerance | prompts |\n|---|---|---:|---:|---:|---:|---:|\n"
            for x in m.metrics {
                var change = x.interval.map { "\(num(x.difference)) [\(num($0.low)), \(num($0.high))]" } ?? num(x.difference)
                if let p = x.verdict == .improvement ? x.pImprovement : x.pRegression { change += " (p = \(num(p)))" }
                let tol = x.tolerance.map { "\($0.kind == .relative ? "\(num($0.value * 100))% = " : "")\(num(x.toleranceAmount!))" } ?? "–"
                t += "| `\(x.metric)` \(x.direction.arrow) | \(icon(x.verdict)) \(x.verdict.rawValue) | \(num(x.baselineMean)) | \(num(x.candidateMean)) | \(change) | \(tol) | \(x.prompts) |\n"
            }
            if !m.extra.isEmpty { t += "\n\(m.extra.count) candidate clip\(plural(m.extra.count)) with no baseline: \(list(m.extra))\n" }
            return t
        }
        for m in failing { tables += "\n### \(escape(m.name))\(m.baselineName != m.name ? " (baseline: \(escape(m.baselineName)))" : "")\n\n" + table(m) }
        let passing = r.models.filter { !shownOpen($0) }
        if !passing.isEmpty {
            tables += "\n<details><summary>\(passing.count) model\(plural(passing.count)) passed: \(passing.prefix(8).map { escape($0.name) }.joined(separator: ", "))\(passing.count > 8 ? ", …" : "")</summary>\n"
            for m in passing { tables += "\n### \(escape(m.name))\(m.baselineName != m.name ? " (baseline: \(escape(m.baselineName)))" : "")\n\n" + table(m) }
            tables += "\n</details>\n"
        }
        let foot = "\nBaseline config `\(r.baselineFingerprint)`, candidate `\(r.candidateFingerprint)`; bootstrap \(r.bootstrap.resamples) resamples of prompts, seed \(r.bootstrap.seed), from \(Bootstrap.minimumUnits) prompts; below, the exact sign-flip test at one-sided α = \(level(r.alpha)): a regression can fail from \(r.smallestDecisive) paired prompts. Gallop \(Gallop.version).\n"
        let full = head + details + tables + foot
        guard full.utf8.count > limit else { return full }
        // Over the limit: the verdict stays, then as many lines of the list and the tables as fit.
        let note = "\n_The list and tables were cut to fit GitHub's 1 MiB step summary; `--json` has every number._\n"
        var cut = head
        var open = false
        for line in (details + tables).split(separator: "\n", omittingEmptySubsequences: false) {
            if cut.utf8.count + line.utf8.count + note.utf8.count + foot.utf8.count + 16 > limit { break }
            cut += line + "\n"
            if line.hasPrefix("<details>") { open = true } else if line.hasPrefix("</details>") { open = false }
        }
        return cut + (open ? "</details>\n" : "") + note + foot
    }

    /// How sets of fewer than ``Bootstrap/minimumUnits`` prompts are decided, with the numbers in force.
    static func smallSets(_ r: Check.Result) -> String {
        "Metrics on fewer than \(Bootstrap.minimumUnits) paired prompts are decided by an exact one-sided sign-flip test of the per-prompt changes "
            + "against the tolerance at α = \(level(r.alpha)): a regression can fail from \(r.smallestDecisive) prompts. Below \(r.smallestDecisive), "
            + "a mean change past the tolerance in the bad direction is undecided (exit 4\(r.allowUndecided ? "; allowed here by --allow-undecided" : " unless --allow-undecided")), "
            + "and one within it is untested."
    }

    /// One metric's verdict in words: how much worse or better, how sure, and what is allowed.
    static func describe(_ x: Check.MetricResult) -> String {
        switch x.verdict {
        case .lost:
            return "defined in the baseline, undefined (null) in the candidate on \(x.lostClips.count) clip\(plural(x.lostClips.count)): \(list(x.lostClips, limit: 3))"
        case .notScored:
            return "\(num(x.baselineMean)) in the baseline; the candidate did not score it, so it is not compared"
        default: break
        }
        let side = x.direction == .higher ? "lower" : "higher"
        let by = x.worseBy, change = "\(num(x.baselineMean)) → \(num(x.candidateMean))"
        let prompts = "\(x.prompts) prompt\(plural(x.prompts))"
        guard let t = x.toleranceAmount else { return "\(change) over \(prompts)" }
        if let w = x.worse {
            if x.verdict == .improvement {
                return "\(change): better by \(num(-by)) (at least \(num(-w.high)) at 95%), tolerance \(num(t)); \(prompts)"
            }
            return "\(change): worse by \(num(by)) (\(side) is worse; at least \(num(w.low)) at 95%), allowed \(num(t)); \(prompts)"
        }
        let alpha = level(x.alpha ?? 0)
        switch x.verdict {
        case .regression:
            return "\(change): worse by \(num(by)) (\(side) is worse), allowed \(num(t)); exact sign-flip test on \(prompts): p = \(num(x.pRegression ?? 1)) ≤ α = \(alpha)"
        case .improvement:
            return "\(change): better by \(num(-by)), tolerance \(num(t)); exact sign-flip test on \(prompts): p = \(num(x.pImprovement ?? 1)) ≤ α = \(alpha)"
        case .unchanged where x.method == .signFlip:
            return "\(change): change \(num(x.difference)), tolerance \(num(t)); exact sign-flip test on \(prompts): p = \(num(x.pRegression ?? 1)) for worse past the tolerance, > α = \(alpha)"
        case .undecided:
            let need = SignFlip.smallestDecisive(alpha: x.alpha ?? 0.05)
            return "\(change): worse by \(num(by)) (\(side) is worse), allowed \(num(t)); only \(prompts): the exact test needs \(need) to decide at α = \(alpha)"
        case .untested:
            let need = SignFlip.smallestDecisive(alpha: x.alpha ?? 0.05)
            return "\(change): change \(num(x.difference)), within the tolerance \(num(t)) or better; only \(prompts): not tested (the exact test needs \(need) at α = \(alpha))"
        default:
            return "\(change) over \(prompts)"
        }
    }

    static func icon(_ v: Check.Verdict) -> String {
        switch v {
        case .regression, .lost: return "❌"
        case .improvement: return "⬆️"
        case .unchanged: return "✅"
        case .undecided: return "❓"
        case .notGated, .untested, .noPrompts, .notScored: return "·"
        }
    }

    static func plural(_ n: Int) -> String { n == 1 ? "" : "s" }

    /// Markdown-safe text on one line.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\n", "\r", "\t": out += " "
            case "|", "<", ">", "*", "_", "`", "[", "]", "\\": out += "\\" + String(ch)
            default: if ch.value >= 0x20 { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// A code span that survives backticks (CommonMark: a longer fence).
    static func code(_ s: String) -> String {
        let text = s.replacingOccurrences(of: "\n", with: " ")
        return text.contains("`") ? "`` \(text) ``" : "`\(text)`"
    }

    static func list(_ items: [String], limit: Int = 8) -> String {
        let shown = items.prefix(limit).map(code).joined(separator: ", ")
        return items.count > limit ? shown + ", … (\(items.count - limit) more)" : shown
    }

    /// A test level as configured (0.05, 0.01), without the rounding noise of 1 − 0.95.
    static func level(_ alpha: Double) -> String { String(format: "%g", (alpha * 1e9).rounded() / 1e9) }

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
        func command(_ kind: String, _ title: String, _ message: String) -> String {
            "::\(kind) title=\(escapeProperty(title))::\(escapeData(message))"
        }
        for m in r.models {
            for x in m.regressions {
                errors.append((x.severity, command("error", "Gallop: \(m.name) \(x.metric) \(x.verdict == .lost ? "became undefined" : "regressed")", describe(x))))
            }
            // Newly failing clips: one annotation a model, so they never crowd out the regressions.
            if let first = m.newlyFailing.first {
                let more = m.newlyFailing.count > 1 ? " (and \(m.newlyFailing.count - 1) more)" : ""
                errors.append((.greatestFiniteMagnitude, command("error", "Gallop: \(m.name) \(m.newlyFailing.count) clip\(plural(m.newlyFailing.count)) newly failing",
                                                                 "\(first.path): \(first.message)\(more)")))
            }
            if !m.missing.isEmpty {
                let line = command(r.allowMissing ? "warning" : "error", "Gallop: \(m.name) clips missing",
                                   "\(m.missing.count) baseline clips have no candidate: \(m.missing.prefix(5).joined(separator: ", "))")
                if r.allowMissing { warnings.append((.greatestFiniteMagnitude, line)) } else { errors.append((.greatestFiniteMagnitude, line)) }
            }
            for x in m.undecided {
                let line = command(r.allowUndecided ? "warning" : "error", "Gallop: \(m.name) \(x.metric) undecided", describe(x))
                if !r.allowUndecided { errors.append((x.severity, line)) } else { warnings.append((x.severity, line)) }
            }
            for x in m.improvements {
                warnings.append((x.severity, command("warning", "Gallop: \(m.name) \(x.metric) improved", describe(x))))
            }
            let untested = m.metrics.filter { [.untested, .noPrompts, .notScored].contains($0.verdict) }.map { "\($0.metric) (\($0.verdict.rawValue))" }
            if !untested.isEmpty {
                warnings.append((0, command("warning", "Gallop: \(m.name) not tested", untested.joined(separator: ", "))))
            }
        }
        func worst(_ items: [(Double, String)], _ kind: String) -> [String] {
            let sorted = items.sorted { $0.0 > $1.0 }.map(\.1)
            guard sorted.count > annotationLimit else { return sorted }
            let rest = sorted.count - (annotationLimit - 1)
            return Array(sorted.prefix(annotationLimit - 1)) + [command(kind, "Gallop: \(rest) more", "\(rest) more; see the step summary or --json for every one")]
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
            ("verdict", .string(r.verdictWord)),
            ("allow_undecided", .bool(r.allowUndecided)),
            ("baseline_fingerprint", .string(r.baselineFingerprint)),
            ("candidate_fingerprint", .string(r.candidateFingerprint)),
            ("config_differences", .array(r.configDifferences.map { .string($0) })),
            ("bootstrap", .object([("resamples", .int(r.bootstrap.resamples)), ("seed", .number(Double(r.bootstrap.seed))),
                                   ("level", .number(r.bootstrap.level)), ("unit", .string("prompt")),
                                   ("stream", .string("the seed mixed with FNV-1a of (\"check\", metric, the prompt ids)"))])),
            ("small_sets", .object([("method", .string(SignFlip.method)), ("below_prompts", .int(Bootstrap.minimumUnits)),
                                    ("alpha", .number((r.alpha * 1e9).rounded() / 1e9)), ("smallest_decisive", .int(r.smallestDecisive))])),
            ("duplicates", .array(r.duplicates.map { .string($0) })),
            ("models", .array(r.models.map { m in
                .object([
                    ("name", .string(m.name)), ("baseline_name", .string(m.baselineName)), ("paired", .int(m.paired)),
                    ("metrics", .object(m.metrics.map { x in
                        (x.metric, .object([
                            ("direction", .string(x.direction.rawValue)), ("verdict", .string(x.verdict.rawValue)),
                            ("baseline_mean", .number(x.baselineMean)), ("candidate_mean", .number(x.candidateMean)),
                            ("difference", .number(x.difference)), ("interval", x.interval.map { .numbers([$0.low, $0.high]) } ?? .null),
                            ("method", x.method.map { .string($0.rawValue) } ?? .null),
                            ("p_regression", x.pRegression.map { .number($0) } ?? .null),
                            ("p_improvement", x.pImprovement.map { .number($0) } ?? .null),
                            ("tolerance", x.tolerance.map { .object([("kind", .string($0.kind.rawValue)), ("value", .number($0.value)),
                                                                     ("amount", .number(x.toleranceAmount))]) } ?? .null),
                            ("pairs", .int(x.pairs)), ("prompts", .int(x.prompts)),
                            ("undefined_in_candidate", .array(x.lostClips.map { .string($0) })),
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
                case .lost: c.failure = JUnit.Failure(message: "\(x.metric) became undefined", type: "undefined", text: describe(x))
                case .notGated: c.skipped = JUnit.Skipped(message: "no better side: reported, never gated")
                case .undecided where !r.allowUndecided:
                    c.failure = JUnit.Failure(message: "\(x.metric) undecided", type: "undecided", text: describe(x))
                case .undecided: c.skipped = JUnit.Skipped(message: "undecided (allowed): \(describe(x))")
                case .untested: c.skipped = JUnit.Skipped(message: "untested: \(describe(x))")
                case .noPrompts: c.skipped = JUnit.Skipped(message: "no paired prompt reads it: not compared")
                case .notScored: c.skipped = JUnit.Skipped(message: "not scored in the candidate: not compared")
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
        return xmlSafe(String(decoding: data, as: UTF8.self)) + "\n"
    }

    /// XML 1.0 allows no C0 control character but tab, LF and CR: others become U+FFFD.
    static func xmlSafe(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 && ![0x09, 0x0A, 0x0D].contains($0.value) ? "\u{FFFD}" : $0 }))
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

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
