import Foundation
import GallopCore
import GallopResults

/// arena.md and arena.json. Ratings print rounded to whole points (as arena leaderboards do) and are
/// stored to 0.01. With categories (a pooled board among the boards), both start with the vote and model
/// counts of every board; without them they are what they were before categories were pooled.
extension Arena {
    public static func method(_ s: BootstrapSettings) -> String {
        "Bradley–Terry ratings by maximum likelihood (a tie, both-bad ties included, counts half a win to each side) on the 400·log10-odds scale, "
            + "mean 1000 on each board; \(percent(s.level)) intervals: at each end the wider of the percentile of \(s.resamples) bootstrap resamples of the votes "
            + "(seed \(s.seed)) and the rating ± \(String(format: "%.2f", BradleyTerry.normalQuantile(1 - (1 - s.level) / 2))) standard errors from the fit's curvature "
            + "(so a model with few votes never gets a narrow interval); rank = 1 + the number of ranked models whose lower bound is above this model's upper bound."
    }

    public static func markdown(_ boards: [ArenaBoard], votesFile: String) -> String {
        var out = "# Arena ratings\n\nVotes: `\(votesFile)`. \(method(boards.first?.settings ?? BootstrapSettings()))\n"
        if boards.contains(where: \.pooled) {
            // Rows are named by the boards' titles, which no category value can make equal to the pooled one's.
            out += "\nEach category is rated on its own board, and all the votes together on the first.\n\n"
            out += "| board | votes | models | ties | both bad |\n|---|---:|---:|---:|---:|\n"
            for b in boards {
                out += "| \(cell(b.title)) | \(b.votes) | \(b.models.count) | \(b.ties) | \(b.bothBad) |\n"
            }
        }
        for b in boards {
            out += "\n## \(b.title)\n\n\(b.votes) vote\(b.votes == 1 ? "" : "s") (\(b.ties) tie\(b.ties == 1 ? "" : "s"), \(b.bothBad) both bad) on \(b.models.count) model\(b.models.count == 1 ? "" : "s")"
            out += b.provisional.isEmpty ? ".\n" : "; \(b.ranked.count) with at least \(b.minimumVotes) votes ranked, \(b.provisional.count) listed apart.\n"
            let level = percent(b.settings.level)
            func cells(_ m: ArenaModel) -> String {
                "\(m.name)\(m.unbounded ? " (unbounded)" : "") | \(whole(m.rating)) | \(whole(m.interval.low))–\(whole(m.interval.high)) | "
                    + "\(m.votes) | \(m.wins) | \(m.losses) | \(m.ties) | \(m.bothBad) |\n"
            }
            if !b.ranked.isEmpty {
                out += "\n| rank | model | rating | \(level) interval | votes | wins | losses | ties | both bad |\n"
                out += "|---:|---|---:|---|---:|---:|---:|---:|---:|\n"
                for m in b.ranked { out += "| \(m.rank!) | " + cells(m) }
            }
            if !b.provisional.isEmpty {
                out += "\nBelow the vote minimum (\(b.minimumVotes) votes; `--min-votes`): listed, not ranked.\n\n"
                out += "| model | rating | \(level) interval | votes | wins | losses | ties | both bad |\n"
                out += "|---|---:|---|---:|---:|---:|---:|---:|\n"
                for m in b.provisional { out += "| " + cells(m) }
            }
            if !b.notes.isEmpty {
                out += "\n" + b.notes.map { "- \($0)." }.joined(separator: "\n") + "\n"
            }
        }
        return out
    }

    public static func json(_ boards: [ArenaBoard], votesFile: String) -> JSONValue {
        let s = boards.first?.settings ?? BootstrapSettings()
        var fields: [(String, JSONValue)] = [
            ("votes_file", .string(votesFile)),
            ("method", .string(method(s))),
            ("scale", .object([("scale", .number(BradleyTerry.scale)), ("base", .number(BradleyTerry.base)),
                               ("center", .number(BradleyTerry.center)), ("prior_ties", .number(BradleyTerry.priorTies))])),
            ("bootstrap", bootstrapJSON(s)),
        ]
        if boards.contains(where: \.pooled) {
            fields.append(("categories", .array(boards.map { b in
                .object([("category", b.category.map { .string($0) } ?? .null), ("pooled", .bool(b.pooled)),
                         ("votes", .int(b.votes)), ("models", .int(b.models.count))])
            })))
        }
        fields.append(("boards", .array(boards.map(boardJSON))))
        return .object(fields)
    }

    static func boardJSON(_ b: ArenaBoard) -> JSONValue {
        var fields: [(String, JSONValue)] = [("category", b.category.map { .string($0) } ?? .null)]
        // Only boards of a file with categories say whether they are the pooled one.
        if b.pooled || b.category != nil { fields.append(("pooled", .bool(b.pooled))) }
        return .object(fields + [
            ("votes", .int(b.votes)),
            ("ties", .int(b.ties)),
            ("both_bad", .int(b.bothBad)),
            ("min_votes", .int(b.minimumVotes)),
            ("groups", .array(b.groups.map { .array($0.map { .string($0) }) })),
            ("notes", .array(b.notes.map { .string($0) })),
            ("models", .array(b.models.map { m in
                .object([
                    ("model", .string(m.name)), ("ranked", .bool(m.ranked)), ("rank", m.rank.map { .int($0) } ?? .null),
                    ("rating", .number(rounded(m.rating, 2))),
                    ("low", .number(rounded(m.interval.low, 2))), ("high", .number(rounded(m.interval.high, 2))),
                    ("bootstrap_low", .number(rounded(m.bootstrapInterval.low, 2))), ("bootstrap_high", .number(rounded(m.bootstrapInterval.high, 2))),
                    ("standard_error", .number(rounded(m.standardError, 2))),
                    ("votes", .int(m.votes)), ("wins", .int(m.wins)), ("losses", .int(m.losses)), ("ties", .int(m.ties)),
                    ("both_bad", .int(m.bothBad)), ("unbounded", .bool(m.unbounded)),
                ])
            })),
        ])
    }

    static func bootstrapJSON(_ s: BootstrapSettings) -> JSONValue {
        .object([("resamples", .int(s.resamples)), ("seed", .number(Double(s.seed))), ("level", .number(s.level))])
    }

    /// A board title as a table cell: verbatim but for `|`, escaped so that it cannot split the row.
    static func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }

    static func whole(_ x: Double) -> String { x.isFinite ? String(Int(x.rounded())) : "–" }
    static func percent(_ level: Double) -> String {
        let p = level * 100
        return p.rounded() == p ? "\(Int(p))%" : String(format: "%.1f%%", p)
    }
}
