import GallopCore
import GallopResults

/// The markdown scorecard, readable in a pull request: an overview of group
/// scores with ranks, one table per metric group (at most 8 columns), per-tag
/// tables with a suite, then the clips that failed or warned, what the
/// results file lacked, and the settings behind the numbers.
public enum Scorecard {
    /// Columns per table, the model column included.
    static let maxColumns = 8

    public static func markdown(_ s: ResultsSummary, context: ReportContext) -> String {
        var out = "# \(context.title)\n\n"
        let counted = s.clips.filter(\.inSuite)
        let failed = counted.filter { $0.row.status == .error }.count
        out += "\(counted.count) clip\(plural(counted.count)) from \(s.models.count) model\(plural(s.models.count)), \(failed) failed"
        if let c = s.coverage {
            out += ", on prompt suite `\(c.suite.name)` v\(c.suite.version) (\(c.suite.prompts.count) prompts)"
            if !c.unknown.isEmpty { out += "; \(c.unknown.count) more clip\(plural(c.unknown.count)) not in the suite, left out" }
        }
        out += ".\n\n"
        out += "Each cell is the mean over prompts, with its 95% bootstrap interval in brackets when the model has at least "
        out += "\(Bootstrap.minimumUnits) prompts for it"
        if s.models.count > 1 {
            out += ", and its rank (#). Models share a rank unless their paired-by-prompt difference excludes zero; "
            out += "rank 1 is in **bold**"
        }
        out += ".\n↑ higher is better, ↓ lower is better, · no better side (never ranked).\n\n"

        let composites = s.values.filter { $0.group == "composite" }
        let ordered = s.models.sorted {
            let a = $0.all.values[Aggregation.overall]?.rank ?? Int.max, b = $1.all.values[Aggregation.overall]?.rank ?? Int.max
            return a != b ? a < b : $0.name < $1.name
        }
        let short: (ValueDescriptor) -> String = { v in
            v.group == "composite" ? "\(v.name.dropFirst(Aggregation.compositePrefix.count)) \(v.direction.arrow)" : "\(v.name) \(v.direction.arrow)"
        }
        // Overview: counts always; group scores when the config has a composite.
        out += "## Overview\n\n"
        if !composites.isEmpty {
            out += "Group scores map each metric to 0–1 by the bounds in the config and average them: a convention for reading many metrics at once, not a measurement."
            let apart = apartGroups(s)
            if !apart.isEmpty {
                out += " `overall` leaves out \(apart.map { "`\($0)`" }.joined(separator: " and ")), which only some clips can have"
                out += " (scored on those clips alone).\n\n"
            } else {
                out += "\n\n"
            }
        }
        let prompts: (ModelSummary) -> String = { m in
            String(m.prompts.values.filter { $0.clips > $0.failed }.count)
        }
        out += table(ordered, lead: [("clips", { String($0.all.clips) }), ("failed", { String($0.all.failed) }), ("prompts", prompts)],
                     values: composites, s: s, header: short) { $0.all }
        for group in HTMLReport.groups {
            var values = s.values.filter { $0.group == group && $0.isHeadline }
            guard !values.isEmpty else { continue }
            if let score = s.value(Aggregation.compositePrefix + group) { values.append(score) }
            out += "## \(group.prefix(1).uppercased() + group.dropFirst())\n\n"
            out += table(ordered, lead: [], values: values, s: s, header: short) { $0.all }
        }
        if let c = s.coverage, !composites.isEmpty {
            let tags = c.suite.tags.filter { tag in s.models.contains { $0.tags[tag]?.values[Aggregation.overall] != nil } }
            if !tags.isEmpty {
                out += "## By prompt tag\n\nThe overall score on the prompts with each tag; each tag's group scores follow.\n\n"
                let columns = tags.map { ValueDescriptor(name: $0, direction: .higher, group: "tag") }
                out += table(ordered, lead: [], values: columns, s: s, header: { escape($0.name) }) { m in
                    GroupAggregates(clips: 0, failed: 0, values: Dictionary(uniqueKeysWithValues: tags.compactMap { tag in
                        m.tags[tag]?.values[Aggregation.overall].map { (tag, $0) }
                    }))
                }
                out += "<details><summary>Group scores per tag</summary>\n\n"
                var perTag = composites
                perTag.insert(contentsOf: s.values.filter { $0.match != nil }, at: 0)
                for tag in tags {
                    out += "### \(escape(tag))\n\n"
                    let members = ordered.filter { $0.tags[tag] != nil }
                    out += table(members, lead: [("clips", { String($0.tags[tag]!.clips) })], values: perTag, s: s, header: short) { $0.tags[tag]! }
                }
                out += "</details>\n\n"
            }
        }
        out += notes(s, context: context)
        return out
    }

    /// The composite groups shown that `overall` leaves out (`audio`, when some clip has sound): named only when
    /// shown, so a silent run's reports read as before.
    static func apartGroups(_ s: ResultsSummary) -> [String] {
        s.settings.composite.filter { g in !g.inOverall && s.value(Aggregation.compositePrefix + g.name) != nil }.map(\.name)
    }

    /// Tables of models × values, split so none has more than ``maxColumns`` columns.
    /// Rank 1 is bold; without ranks (one model, or too few prompts), nothing is.
    static func table(_ models: [ModelSummary], lead: [(String, (ModelSummary) -> String)], values: [ValueDescriptor], s: ResultsSummary,
                      header: (ValueDescriptor) -> String = { "\($0.name) \($0.direction.arrow)" },
                      group: (ModelSummary) -> GroupAggregates) -> String {
        var out = ""
        let perTable = max(1, maxColumns - 1 - lead.count)
        var start = 0
        repeat {
            let chunk = Array(values[start..<min(values.count, start + perTable)])
            start += perTable
            out += "| model | " + (lead.map(\.0) + chunk.map(header)).joined(separator: " | ") + " |\n"
            out += "|---|" + String(repeating: "---:|", count: lead.count + chunk.count) + "\n"
            for m in models {
                var cells = [escape(m.name)] + lead.map { $0.1(m) }
                for v in chunk {
                    guard let a = group(m).values[v.name] else { cells.append("–"); continue }
                    let text = format(a)
                    cells.append(a.rank == 1 && models.count > 1 ? "**\(text)**" : text)
                }
                out += "| " + cells.joined(separator: " | ") + " |\n"
            }
            out += "\n"
        } while start < values.count
        return out
    }

    static func notes(_ s: ResultsSummary, context: ReportContext) -> String {
        var out = ""
        if let c = s.coverage, !c.missing.isEmpty || !c.unknown.isEmpty {
            out += "## Prompt suite coverage\n\n"
            for (model, ids) in c.missing.sorted(by: { $0.key < $1.key }) {
                out += "- \(code(model)) has no clip for \(ids.count) of \(c.suite.prompts.count) prompts: \(list(ids.map(code)))\n"
            }
            if !c.unknown.isEmpty {
                out += "- \(c.unknown.count) clip\(plural(c.unknown.count)) with a prompt id not in the suite, left out of every aggregate: \(list(c.unknown.map(code)))\n"
            }
            out += "\n"
        }
        let failed = s.clips.filter { $0.row.status == .error }
        if !failed.isEmpty {
            out += "## Failed clips\n\n"
            for c in failed {
                // Readers' errors name the file; say it once.
                var error = c.row.error ?? "unknown error"
                if let r = error.range(of: c.row.path + ": "), error[..<r.lowerBound].allSatisfy({ $0 != " " }) {
                    error.removeSubrange(..<r.upperBound)
                }
                out += "- \(code(c.row.path)): \(escape(error))\n"
            }
            out += "\n"
        }
        let warned = s.clips.filter { $0.row.status == .ok && !$0.row.warnings.isEmpty }
        if !warned.isEmpty {
            out += "## Clips with warnings\n\n"
            for c in warned.prefix(50) { out += "- \(code(c.row.path)): \(escape(c.row.warnings.joined(separator: "; ")))\n" }
            if warned.count > 50 { out += "- … and \(warned.count - 50) more (see `warnings` in clips.jsonl)\n" }
            out += "\n"
        }
        if !context.problems.isEmpty {
            out += "## Results file\n\n"
            let skipped = context.problems.filter { $0.kind == .skipped }.count, dups = context.problems.filter { $0.kind == .duplicate }.count
            out += "\(skipped) line\(plural(skipped)) skipped, \(dups) duplicate row\(plural(dups)) replaced by a later one:\n\n"
            for p in context.problems.prefix(20) { out += "- \(escape(p.message))\n" }
            if context.problems.count > 20 { out += "- … and \(context.problems.count - 20) more\n" }
            out += "\n"
        }
        out += "## Metrics\n\n| metric | better | unit | what it measures |\n|---|---|---|---|\n"
        for v in s.values where v.isHeadline && v.group != "composite" {
            out += "| `\(v.name)` | \(v.direction.arrow) \(v.direction.rawValue) | \(v.unit.isEmpty ? "–" : v.unit) | \(escape(v.summary)) |\n"
        }
        out += "\n"
        for v in s.values where v.isHeadline {
            if let r = s.restricted[v.name] { out += "`\(v.name)` is read only on prompts tagged \(r.text), as the config says.\n" }
        }
        if s.coverage == nil, let r = s.settings.restrict.first(where: { r in s.values.contains { $0.name == r.metric } }) {
            out += "`\(r.metric)` would be read only on prompts tagged \(r.text); without a prompt suite (`--prompts`) every clip counts.\n"
        }
        for note in s.notes { out += "⚠️ \(note).\n" }
        let undefined = s.models.flatMap { m in
            s.values.compactMap { v in m.all.values[v.name].flatMap { $0.undefined > 0 ? "\(m.name): \(v.name) on \($0.undefined)" : nil } }
        }
        if !undefined.isEmpty { out += "Undefined values, left out: \(undefined.joined(separator: "; ")) clip(s).\n" }
        let b = s.settings.bootstrap
        out += "\nConfig fingerprint `\(s.fingerprint)` · report settings `\(s.settings.fingerprint)` · "
        out += "bootstrap: \(b.resamples) resamples of prompts, seed \(b.seed), \(fixed(b.level * 100, 0))% · Gallop \(Gallop.version)\n"
        return out
    }

    /// `mean [low, high] #rank`, 4 significant digits on the mean.
    static func format(_ a: Aggregate) -> String {
        let d = decimalsFor(a.mean)
        var text = fixed(a.mean, d)
        if let i = a.interval { text += " [\(fixed(i.low, d)), \(fixed(i.high, d))]" }
        if let r = a.rank { text += " #\(r)" }
        return text
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

    static func list(_ items: [String], limit: Int = 12) -> String {
        items.count <= limit ? items.joined(separator: ", ") : items.prefix(limit).joined(separator: ", ") + ", … (\(items.count - limit) more)"
    }

    static func plural(_ n: Int) -> String { n == 1 ? "" : "s" }

    /// A code span that survives backticks in the text (CommonMark: a longer fence).
    static func code(_ s: String) -> String {
        let text = s.replacingOccurrences(of: "\n", with: " ")
        return text.contains("`") ? "`` \(text) ``" : "`\(text)`"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
