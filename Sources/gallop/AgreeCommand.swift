import ArgumentParser
import Foundation
import GallopArena
import GallopConfig
import GallopReport
import GallopResults

struct AgreeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agree",
        abstract: "How well each metric agrees with human votes: rank correlations with the arena ratings, and clip-level agreement.",
        discussion: """
            For each metric: Spearman's ρ and Kendall's τ between the models' aggregates (the scorecard's means, with the \
            same --config and --prompts) and their arena ratings, oriented to the metric's better side; and, when votes name \
            their clips (prompt, seed_a, seed_b), the share of decisive votes where the metric prefers the clip people \
            preferred. Intervals: percentiles over joint bootstrap resamples of the votes and the prompts. Metrics are \
            ordered by ρ; those with no better side are listed after, unranked. Models in only one of the two inputs are named; \
            with no model in both inputs it exits 2 naming both and their models (as it does for a --prompts suite that matches no clip).
            """
    )

    @Argument(help: "The votes file (CSV; see `gallop arena --help`).")
    var votes: String

    @Argument(help: "An output folder of `gallop score`, or its clips.jsonl.")
    var results: String

    @Option(help: ArgumentHelp("Write agree.md and agree.json into this folder.", valueName: "DIR"))
    var out: String?

    @Option(help: ArgumentHelp("YAML config: its report settings (restrictions, composite), as for the scorecard.", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("Prompt suite: as for the scorecard (camera agreement, restricted metrics).", valueName: "FILE"))
    var prompts: String?

    @Option(help: ArgumentHelp("Use only the rows of this config fingerprint.", valueName: "FP"))
    var fingerprint: String?

    @OptionGroup var resampling: VoteBootstrapOptions

    @Flag(help: "Do not print the table.")
    var quiet = false

    func run() throws {
        let votesFile: VotesFile
        do { votesFile = try VotesFile.read(votes) } catch { throw fatal(error.description) }
        // The scorecard's settings and suite, loaded as `gallop report` loads them (ReportOptions).
        var configuration = Configuration()
        if let config { do { configuration = try Configuration.load(config) } catch { throw fatal(error.description) } }
        var suite: PromptSuite?
        if let prompts { do { suite = try PromptSuiteFile.load(prompts) } catch { throw fatal(error.description) } }
        let summary: ResultsSummary
        do {
            // As `gallop report` reads a folder: its rows, one fingerprint, the same aggregation.
            let file = ResultsFile.locate(results)
            let loaded = try ResultsFile.read(file)
            for problem in loaded.problems { printError("gallop: warning: \(problem.message)") }
            let rows = try ReportWriter.select(loaded.rows, fingerprint: fingerprint, file: file)
            guard !rows.isEmpty else { throw fatal("\(file): no result rows") }
            if let suite, let error = suite.noClipIn(prompts: rows.map(\.name.prompt)) { throw fatal(error.description) }
            summary = try Aggregation.summarize(rows, known: ValueCatalog.known, suite: suite, settings: configuration.report)
        } catch let error as ResultsError {
            throw fatal(error.description)
        }
        let boards = Agreement.compute(votesFile, summary: summary, settings: resampling.settings)
        // Nothing in common: every table would be empty, which is a wrong input, not an agreement.
        if boards.allSatisfy({ $0.models.isEmpty }) {
            func names(_ all: [String]) -> String {
                let sorted = Set(all).sorted()
                return sorted.count > 8 ? sorted.prefix(8).joined(separator: ", ") + ", … (\(sorted.count) in all)" : sorted.joined(separator: ", ")
            }
            throw fatal("\(votes) and \(results) have no model in common, so no metric can be compared with the votes "
                + "(votes: \(names(votesFile.votes.flatMap { [$0.modelA, $0.modelB] })); results: \(names(summary.models.map(\.name))))")
        }
        for b in boards where b.models.isEmpty {
            printError("gallop: warning: no model of the votes\(b.board.category.map { " in category \($0)" } ?? "") has results in \(results)")
        }
        let markdown = Agreement.markdown(boards, votesFile: votes)
        if let out {
            try writeOutputs(out, [("agree.md", markdown), ("agree.json", Agreement.json(boards, votesFile: votes).pretty() + "\n")])
        }
        if !quiet { print(markdown, terminator: "") }
    }
}
