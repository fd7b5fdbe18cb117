import ArgumentParser
import Foundation
import GallopArena
import GallopCore
import GallopHarness
import GallopResults

struct ArenaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arena",
        abstract: "Rate models from human votes (Bradley–Terry, 400·log10 odds around 1000) with bootstrap intervals and ranks.",
        discussion: """
            VOTES.csv has a header with the columns model_a, model_b and winner (model_a, model_b, tie or both_bad; \
            LMArena's `tie (bothbad)` is both_bad), and optionally category (any values, e.g. text-to-video, image-to-video, with-audio: each category is rated on its own \
            board and all the votes together on a first board, "Arena (all categories)", with the vote and model counts of \
            each; every vote needs a category, kept verbatim), \
            prompt, seed_a and seed_b (the clips voted on; used by `gallop agree`). A tie, both-bad ties included (as \
            LMArena counts them), counts half a win to each side; both-bad ties are counted apart in the table. Intervals: \
            at each end the wider of the percentiles of the ratings refitted on seeded resamples of the votes and the rating \
            ± z standard errors from the fit's curvature, so a model with few votes never gets a narrow interval. A model \
            with fewer than --min-votes votes is fitted with the others but listed apart, not ranked; rank = 1 + the number \
            of ranked models whose lower bound is above this model's upper bound. \
            A votes file that cannot be used (a missing column, an unknown winner, a model against itself, no votes) exits 2 naming its line.
            """
    )

    @Argument(help: "The votes file (CSV).")
    var votes: String

    @Option(help: ArgumentHelp("Write arena.md and arena.json into this folder.", valueName: "DIR"))
    var out: String?

    @Option(name: .customLong("min-votes"), help: ArgumentHelp("Votes a model needs to be ranked; a model with fewer is listed apart (default \(Arena.defaultMinimumVotes): about ±95 rating points at 95%).", valueName: "N"))
    var minVotes: Int = Arena.defaultMinimumVotes

    @OptionGroup var resampling: VoteBootstrapOptions

    @Flag(help: "Do not print the ratings.")
    var quiet = false

    func validate() throws {
        if minVotes < 1 { throw ValidationError("--min-votes must be at least 1 (1 ranks every model).") }
    }

    func run() throws {
        let file: VotesFile
        do { file = try VotesFile.read(votes) } catch { throw fatal(error.description) }
        let boards = Arena.boards(file, settings: resampling.settings, minimumVotes: minVotes)
        let markdown = Arena.markdown(boards, votesFile: votes)
        if let out {
            try writeOutputs(out, [("arena.md", markdown), ("arena.json", Arena.json(boards, votesFile: votes).pretty() + "\n")])
        }
        if !quiet { print(markdown, terminator: "") }
    }
}

/// The bootstrap options of `gallop arena` and `gallop agree`.
struct VoteBootstrapOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Bootstrap resamples for the intervals.", valueName: "N"))
    var bootstrap: Int = BootstrapSettings().resamples

    @Option(help: ArgumentHelp("Seed of the resamples (the default is the scorecard's).", valueName: "S"))
    var seed: UInt64 = BootstrapSettings().seed

    var settings: BootstrapSettings { BootstrapSettings(resamples: bootstrap, seed: seed) }

    func validate() throws {
        if bootstrap < 100 { throw ValidationError("--bootstrap must be at least 100 (percentile intervals need the tails).") }
    }
}

/// Creates `out` and writes each named text into it; one plain sentence and exit 2 when it cannot.
func writeOutputs(_ out: String, _ files: [(String, String)]) throws {
    do { try OutputFolder.create(out) } catch { throw fatal(error.description) }
    for (name, text) in files {
        let path = out + "/" + name
        do { try OutputFile.write(text, to: path) } catch { throw fatal(error.description) }
    }
}
