import Foundation
import GallopCore
import GallopResults

/// agree.md and agree.json: correlations print to 0.01, shares to 0.1%.
extension Agreement {
    public static func method(_ s: BootstrapSettings) -> String {
        "ρ (Spearman) and τ (Kendall τ-b) correlate each metric's model aggregate (the scorecard's mean) with the models' "
            + "arena ratings, oriented so that +1 means the metric's better side orders the models as the votes do; the clip share is "
            + "the share of decisive votes on two scored clips where the metric prefers the clip people preferred (equal values count half). "
            + "\(Arena.percent(s.level)) intervals: percentile of \(s.resamples) joint bootstrap resamples of the votes and the prompts (seed \(s.seed)). "
            + "Metrics with no better side are listed after the others, unranked, with signs and shares for their higher value."
    }

    public static func markdown(_ boards: [BoardAgreement], votesFile: String) -> String {
        let s = boards.first?.board.settings ?? BootstrapSettings()
        var out = "# Metric agreement with the arena\n\nVotes: `\(votesFile)`. \(method(s))\n"
        for b in boards {
            out += "\n## \(b.board.category.map { "Agreement: \($0)" } ?? (b.board.pooled ? "Agreement (all categories)" : "Agreement"))\n\n"
            out += "Ratings from \(b.board.votes) votes on \(b.board.models.count) models; \(b.models.count) of them have results"
            out += b.models.isEmpty ? ".\n" : " (" + b.models.map { "\($0) \(Arena.whole(b.board.model($0)!.rating))" }.joined(separator: ", ") + ").\n"
            let level = Arena.percent(s.level)
            let head = "| metric | better | models | Spearman ρ | \(level) interval | Kendall τ | \(level) interval | clip votes | metric agrees | \(level) interval |\n"
                + "|---|:-:|---:|---:|---|---:|---|---:|---:|---|\n"
            func row(_ m: MetricAgreement) -> String {
                "| \(m.name)\(m.resamplesPrompts ? "" : " †") | \(m.direction.arrow) | \(m.models) | \(corr(m.spearman)) | \(range(m.spearmanInterval, corr)) | "
                    + "\(corr(m.kendall)) | \(range(m.kendallInterval, corr)) | \(m.clipVotes) | \(share(m.share)) | \(range(m.shareInterval, share)) |\n"
            }
            let ranked = b.metrics.filter(\.ranked), unranked = b.metrics.filter { !$0.ranked }
            if !ranked.isEmpty { out += "\n" + head + ranked.map(row).joined() }
            if !unranked.isEmpty {
                out += "\nNo better side (not ranked; signs and shares are for the higher value):\n\n" + head + unranked.map(row).joined()
            }
            var notes: [String] = []
            if b.models.count < 3 { notes.append("fewer than 3 models have both votes and results: no correlation") }
            if !b.onlyInVotes.isEmpty { notes.append("in the votes, not in the results: \(b.onlyInVotes.joined(separator: ", "))") }
            if !b.onlyInResults.isEmpty { notes.append("in the results, not in the votes: \(b.onlyInResults.joined(separator: ", "))") }
            if b.metrics.contains(where: { !$0.resamplesPrompts }) {
                notes.append("† a model-level score with no per-prompt means: held at its aggregate in the bootstrap")
            }
            if b.clipVotes == 0 {
                notes.append("no vote names its clips (a `prompt` column with seeds): no clip shares")
            } else {
                if !b.unmatched.isEmpty {
                    let lines = b.unmatched.prefix(8).map { String($0.line) }.joined(separator: ", ") + (b.unmatched.count > 8 ? ", …" : "")
                    notes.append("\(b.unmatched.count) of \(b.clipVotes) votes naming clips name one the results do not have or could not score (line\(b.unmatched.count == 1 ? "" : "s") \(lines)): left out of the clip shares")
                }
                if b.tiedClipVotes > 0 { notes.append("\(b.tiedClipVotes) votes on scored clips are ties: left out of the clip shares") }
            }
            notes += b.board.notes
            if !notes.isEmpty { out += "\n" + notes.map { "- \($0)." }.joined(separator: "\n") + "\n" }
        }
        return out
    }

    public static func json(_ boards: [BoardAgreement], votesFile: String) -> JSONValue {
        let s = boards.first?.board.settings ?? BootstrapSettings()
        func interval(_ i: Interval?) -> JSONValue { i.map { .array([.number(rounded($0.low, 4)), .number(rounded($0.high, 4))]) } ?? .null }
        return .object([
            ("votes_file", .string(votesFile)),
            ("method", .string(method(s))),
            ("bootstrap", Arena.bootstrapJSON(s)),
            ("boards", .array(boards.map { b in
                .object([
                    ("category", b.board.category.map { .string($0) } ?? .null),
                ] + (b.board.pooled || b.board.category != nil ? [("pooled", JSONValue.bool(b.board.pooled))] : []) + [
                    ("models", .array(b.models.map { .string($0) })),
                    ("only_in_votes", .array(b.onlyInVotes.map { .string($0) })),
                    ("only_in_results", .array(b.onlyInResults.map { .string($0) })),
                    ("clip_votes", .int(b.clipVotes)),
                    ("matched_clip_votes", .int(b.matchedClipVotes)),
                    ("tied_clip_votes", .int(b.tiedClipVotes)),
                    ("unmatched_lines", .array(b.unmatched.map { .int($0.line) })),
                    ("ratings", Arena.boardJSON(b.board)),
                    ("metrics", .array(b.metrics.map { m in
                        .object([
                            ("metric", .string(m.name)), ("direction", .string(m.direction.rawValue)), ("ranked", .bool(m.ranked)),
                            ("models", .int(m.models)),
                            ("spearman", .number(m.spearman.map { rounded($0, 4) })), ("spearman_interval", interval(m.spearmanInterval)),
                            ("kendall", .number(m.kendall.map { rounded($0, 4) })), ("kendall_interval", interval(m.kendallInterval)),
                            ("clip_votes", .int(m.clipVotes)), ("clip_share", .number(m.share.map { rounded($0, 4) })),
                            ("clip_share_interval", interval(m.shareInterval)), ("resamples_prompts", .bool(m.resamplesPrompts)),
                        ])
                    })),
                ])
            })),
        ])
    }

    /// The agreement tables as self-contained HTML (for `report.html` when `--votes` is given): the markdown's tables
    /// and notes, every text escaped.
    public static func html(_ boards: [BoardAgreement], votesFile: String) -> String {
        func esc(_ t: String) -> String {
            t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let s = boards.first?.board.settings ?? BootstrapSettings()
        let level = Arena.percent(s.level)
        var out = "<p>Votes: <code>\(esc(votesFile))</code>. \(esc(method(s)))</p>\n"
        for b in boards {
            if let category = b.board.category { out += "<h3>\(esc(category))</h3>\n" } else if b.board.pooled { out += "<h3>All categories</h3>\n" }
            out += "<p>Ratings from \(b.board.votes) votes on \(b.board.models.count) models: "
                + b.board.models.map { "\(esc($0.name)) \(Arena.whole($0.rating)) (\($0.rank.map { "#\($0)" } ?? "not ranked: \($0.votes) votes"))" }.joined(separator: ", ") + ".</p>\n"
            out += "<table><thead><tr><th>metric</th><th>better</th><th>models</th><th>Spearman ρ</th><th>\(level) interval</th>"
                + "<th>Kendall τ</th><th>\(level) interval</th><th>clip votes</th><th>metric agrees</th><th>\(level) interval</th></tr></thead><tbody>\n"
            for m in b.metrics.filter(\.ranked) + b.metrics.filter({ !$0.ranked }) {
                let cells = [m.name + (m.ranked ? "" : " (no better side)"), m.direction.arrow, String(m.models), corr(m.spearman),
                             range(m.spearmanInterval, corr), corr(m.kendall), range(m.kendallInterval, corr), String(m.clipVotes),
                             share(m.share), range(m.shareInterval, share)]
                out += "<tr>" + cells.map { "<td>\(esc($0))</td>" }.joined() + "</tr>\n"
            }
            out += "</tbody></table>\n"
            var notes: [String] = []
            if !b.onlyInVotes.isEmpty { notes.append("in the votes, not in the results: \(b.onlyInVotes.joined(separator: ", "))") }
            if !b.onlyInResults.isEmpty { notes.append("in the results, not in the votes: \(b.onlyInResults.joined(separator: ", "))") }
            if b.clipVotes == 0 { notes.append("no vote names its clips: no clip shares") }
            notes += b.board.notes
            if !notes.isEmpty { out += "<ul>" + notes.map { "<li>\(esc($0))</li>" }.joined() + "</ul>\n" }
        }
        return out
    }

    static func corr(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "–" }
    static func share(_ x: Double?) -> String { x.map { String(format: "%.1f%%", 100 * $0) } ?? "–" }
    static func range(_ i: Interval?, _ f: (Double?) -> String) -> String { i.map { "\(f($0.low)) – \(f($0.high))" } ?? "–" }
}
