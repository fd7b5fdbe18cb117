import ArgumentParser
import Foundation
import GallopConfig
import GallopGate
import GallopResults

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Compare a candidate's results with a baseline's and fail on a regression (for CI).",
        discussion: """
            CANDIDATE and BASELINE are output folders of `gallop score` (or their clips.jsonl files). Clips pair by \
            model, prompt id and seed. Per model and metric with a better side, the mean paired change gets a 95% \
            bootstrap interval over prompts; the metric regresses when the whole interval lies past its tolerance \
            (config section `gate`) in its bad direction. On fewer than 8 paired prompts an exact one-sided \
            sign-flip test of the per-prompt changes against the tolerance decides instead, at level 0.05 \
            (1 - report.bootstrap.level): a regression can fail from 5 prompts. On fewer than 5 no outcome can \
            reach that level: a metric whose mean change is past its tolerance in the bad direction is \
            "undecided" (exit 4), one within it "untested". A clip ok in the baseline and an error in the \
            candidate, or a baseline clip the candidate lacks, also fails the check. A metric the candidate did \
            not score at all is reported as not scored, not compared.

            Exit status: 0 pass, 1 a regression or a newly failing or missing clip, 2 a usage or config error, \
            3 inputs not comparable (no clips, different configs or schema, nothing paired), 4 undecided: too \
            few prompts to decide a change past the tolerance (no regression; --allow-undecided makes it a \
            warning and exit 0). A regression takes precedence over undecided.
            """
    )

    @Argument(help: "The candidate's results folder or clips.jsonl.")
    var candidate: String

    @Option(help: ArgumentHelp("The baseline's results folder or clips.jsonl.", valueName: "BASELINE"))
    var baseline: String

    @Option(help: ArgumentHelp("YAML config: its `gate` tolerances, `report.bootstrap` and `report.restrict` settings.", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("Prompt suite: gate \(ValueCatalog.derived.filter { $0.match != nil }.map(\.name).joined(separator: ", ")), and compare restricted metrics on their prompts.", valueName: "FILE"))
    var prompts: String?

    @Option(name: .customLong("model-map"), parsing: .singleValue,
            help: ArgumentHelp("Pair the candidate's model NEW with the baseline's OLD (repeatable).", valueName: "NEW=OLD"))
    var modelMap: [String] = []

    @Flag(name: .customLong("allow-missing"), help: "Baseline clips the candidate lacks are listed, not a failure.")
    var allowMissing = false

    @Flag(name: .customLong("allow-config-change"), help: "Compare results of different configs (the differences are reported).")
    var allowConfigChange = false

    @Flag(name: .customLong("allow-undecided"),
          help: "Metrics undecided for too few prompts (fewer than 5 at the default level) are a warning and exit 0, not exit 4.")
    var allowUndecided = false

    @Option(help: ArgumentHelp("Write JUnit XML: a testsuite per model, a testcase per metric and per failing clip.", valueName: "FILE"))
    var junit: String?

    @Option(help: ArgumentHelp("Write the verdict as JSON.", valueName: "FILE"))
    var json: String?

    @Flag(help: "No markdown summary on standard output.")
    var quiet = false

    func validate() throws {
        for pair in modelMap where pair.split(separator: "=").count != 2 {
            throw ValidationError("--model-map takes NEW=OLD, got '\(pair)'.")
        }
        let news = modelMap.map { $0.split(separator: "=")[0] }
        if let twice = news.first(where: { n in news.filter { $0 == n }.count > 1 }) {
            throw ValidationError("--model-map maps '\(twice)' twice.")
        }
    }

    func run() throws {
        let settings: Configuration
        if let config {
            do { settings = try Configuration.load(config) } catch { throw fatal(error.description) }
        } else {
            settings = Configuration()
        }
        var options = GallopGate.Check.Options()
        options.gate = settings.gate
        options.bootstrap = settings.report.bootstrap
        options.allowMissing = allowMissing
        options.allowConfigChange = allowConfigChange
        options.allowUndecided = allowUndecided
        options.directions = CheckRun.knownDirections(gate: settings.gate)
        options.restrict = settings.report.restrict
        if let prompts {
            do { options.suite = try PromptSuiteFile.load(prompts) } catch { throw fatal(error.description) }
        }
        for pair in modelMap {
            let parts = pair.split(separator: "=").map(String.init)
            options.modelMap[parts[0]] = parts[1]
        }
        do {
            let outcome = try CheckRun(candidate: candidate, baseline: baseline, options: options).run(
                junit: junit, json: json, environment: ProcessInfo.processInfo.environment, warn: { printError("gallop: warning: \($0)") })
            if !quiet { print(outcome.markdown, terminator: "") }
            for line in outcome.annotations { print(line) }
            if outcome.failed { throw ExitCode(ExitCodes.clipFailed) }
            if outcome.result.blockedByUndecided { throw ExitCode(ExitCodes.undecided) }
        } catch let error as GallopGate.Check.NotComparable {
            printError("gallop: not comparable: \(error.message)")
            throw ExitCode(ExitCodes.notComparable)
        } catch let error as ResultsError {
            throw fatal(error.description)
        } catch let error as GallopGate.Check.UsageError {
            throw fatal(error.description)
        }
    }
}
