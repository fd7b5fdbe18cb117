import ArgumentParser
import Foundation
import GallopArena
import GallopConfig
import GallopCore
import GallopLearned
import GallopMetrics
import GallopReport
import GallopResults

/// Exit codes, documented in the README and `gallop --help`.
enum ExitCodes {
    /// One or more clips could not be scored; every other clip's row was written.
    static let clipFailed: Int32 = 1
    /// Nothing could be scored, the results cannot be written (a full disk), or a config, prompt suite or results file cannot be used.
    static let fatal: Int32 = 2
    /// `gallop check`: the two results cannot be compared.
    static let notComparable: Int32 = 3
    /// `gallop check`: no regression, but too few prompts to decide a change past a tolerance.
    static let undecided: Int32 = 4
}

@main
struct GallopCommand: ParsableCommand {
    /// As ArgumentParser's main, but `gallop check` reports usage errors with exit status 2, as CI
    /// scripts expect of it (the other commands keep 64).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            if arguments.first == "check", exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                printError("Usage: gallop check CANDIDATE --baseline BASELINE [options]; see 'gallop check --help'.")
                Foundation.exit(ExitCodes.fatal)
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "gallop",
        abstract: "Score generated video clips on the CPU: temporal consistency and quality, by model.",
        discussion: """
            Exit status: 0 when every clip was scored, 1 when some clip failed (its row says why; \
            the others are written), 2 when nothing could be scored, the results cannot be written (a full \
            disk: the rows written so far are kept whole), or a config, prompt suite or results file cannot \
            be used, 64 on a usage error, 128 + the signal when stopped by SIGTERM, SIGINT or SIGHUP (the \
            workers are killed first). `gallop check` has its own (see its help).
            """,
        version: Gallop.version,
        subcommands: [Score.self, Report.self, CheckCommand.self, Merge.self, ArenaCommand.self, AgreeCommand.self, ShowConfig.self, Synth.self, ListMetrics.self, Flow.self]
    )
}

/// The options shared by the commands that write reports: config file, prompt suite, frames.csv.
struct ReportOptions: ParsableArguments {
    @Option(help: ArgumentHelp("YAML config (see `gallop config`); flags override it.", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("Prompt suite (prompts/README.md): join clips to prompt ids, tags and asked-for camera moves.", valueName: "FILE"))
    var prompts: String?

    @Flag(name: .customLong("frames-csv"), help: "Also write frames.csv: every per-frame value, one line each.")
    var framesCSV = false

    @Option(help: ArgumentHelp("Votes file (see `gallop arena`): report.html also shows how well each metric agrees with the votes (`gallop agree`).", valueName: "FILE"))
    var votes: String?

    /// The config file's settings, or the built-in defaults.
    func load() throws -> Configuration {
        guard let config else { return Configuration() }
        do { return try Configuration.load(config) } catch { throw fatal(error.description) }
    }

    func suite() throws -> PromptSuite? {
        guard let prompts else { return nil }
        do { return try PromptSuiteFile.load(prompts) } catch { throw fatal(error.description) }
    }

    /// The writer of OUT's reports with these options and `config`'s report settings;
    /// `thumbnails` decodes report.html's frames.
    func writer(out: String, config: Configuration, problems: [LoadedResults.Problem] = [],
                thumbnails: (any ThumbnailSource)? = nil) throws -> ReportWriter {
        var writer = ReportWriter(out: out, suite: try suite(), settings: config.report, framesCSV: framesCSV,
                                  context: ReportContext(problems: problems), thumbnails: thumbnails)
        if let votes {
            let file: VotesFile
            do { file = try VotesFile.read(votes) } catch { throw fatal(error.description) }
            writer.htmlSections = { summary in
                [HTMLReport.Section(id: "agreement", title: "Agreement with human votes",
                                    html: Agreement.html(Agreement.compute(file, summary: summary), votesFile: votes))]
            }
        }
        return writer
    }
}

/// `--clips DIR` of the commands that report on results without scoring: where report.html's frames are decoded from.
struct ClipsOption: ParsableArguments {
    @Option(help: ArgumentHelp("Folder the clips were scored from, when they have moved (default: the folder recorded in source.json beside the results).", valueName: "DIR"))
    var clips: String?

    func validate() throws {
        if let clips {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: clips, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--clips \(clips): no such folder.")
            }
        }
    }
}

/// Reading options shared by the commands that decode clips. Each overrides
/// the config file's value when given.
struct ReadingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Comma-separated metrics to compute, or `all` (the default: every metric but the opt-in ones, which run only when named; see `gallop metrics`).", valueName: "a,b,..."))
    var metrics: String?

    @Option(name: .customLong("max-side"), help: "Scale frames so the longer side is at most N pixels (default: native size).")
    var maxSide: Int?

    @Option(help: "Score every N-th frame only (default 1).")
    var every: Int?

    @Option(name: .customLong("max-frames"), help: "Score at most N frames per clip.")
    var maxFrames: Int?

    @Option(help: "Threads per clip: the decoder's, and how many of a frame's optical flows run at once (0: automatic).")
    var threads: Int = 0

    @Option(name: .customLong("motion-side"), help: "Long side of the optical-flow analysis size (default 512).")
    var motionSide: Int?

    @Option(help: ArgumentHelp("Folder of reference clips: enables \(ListMetrics.english(MetricRegistry.all.filter { $0.info.needsReference && $0.info.byDefault }.map { $0.info.name }))\(MetricRegistry.all.contains { $0.info.needsReference && !$0.info.byDefault } ? ", and " + MetricRegistry.all.filter { $0.info.needsReference && !$0.info.byDefault }.map { $0.info.name }.joined(separator: ", ") + " when named in --metrics" : ""). A clip's reference has the same relative path, else the same prompt id and seed.", valueName: "REFDIR"))
    var reference: String?

    @Option(help: ArgumentHelp("Folder of the learned metrics' weights: each of \(ModelKey.allCases.map(\.rawValue).joined(separator: ", ")) found in it (a folder or .safetensors file of that name) is used, over the config's `models` (see `gallop metrics`).", valueName: "DIR"))
    var weights: String?

    /// The names given (nil: every metric selected by default, for `all` or no option). An empty or blank value is a usage error
    /// (``validate()``), not every metric: an unset CI variable must not quietly widen a run.
    var metricNames: [String]? {
        guard let names = metrics?.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }).filter({ !$0.isEmpty }) else { return nil }
        return names == ["all"] ? nil : names
    }

    func validate() throws {
        if let maxSide, maxSide < 16 { throw ValidationError("--max-side must be at least 16.") }
        if let every, every < 1 { throw ValidationError("--every must be at least 1.") }
        if let maxFrames, maxFrames < 1 { throw ValidationError("--max-frames must be at least 1.") }
        if threads < 0 { throw ValidationError("--threads must be 0 or more.") }
        if let motionSide, motionSide < 32 { throw ValidationError("--motion-side must be at least 32.") }
        if let metrics, metricNames?.isEmpty == true {
            throw ValidationError("--metrics '\(metrics)' names no metric: give at least one (see `gallop metrics`), or `all` for the default set.")
        }
        if let names = metricNames {
            try ReadingOptions.check(names, reference: reference, from: "--metrics") { ValidationError($0) }
        }
        if let reference {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: reference, isDirectory: &isDir) else {
                throw ValidationError("--reference \(reference): no such folder.")
            }
            guard isDir.boolValue else { throw ValidationError("--reference \(reference): not a folder (a reference is a folder of clips).") }
        }
        if let weights {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: weights, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--weights \(weights): no such folder.")
            }
        }
    }

    /// Unknown metrics, and full-reference metrics without a reference folder.
    static func check<E: Error>(_ names: [String], reference: String?, from source: String, error make: (String) -> E) throws {
        let selected: [any Metric.Type]
        do { selected = try MetricRegistry.select(names, reference: reference != nil) } catch {
            throw make(source == "--metrics" ? "\(error)" : "\(source): \(error)")
        }
        if reference == nil, let needing = selected.first(where: { $0.info.needsReference }) {
            throw make("\(needing.info.name) compares against a reference clip: give --reference REFDIR.")
        }
    }

    /// The config with these flags applied over it.
    func apply(to config: Configuration) -> Configuration {
        var c = config
        if let names = metricNames { c.metrics = names }
        if let maxSide { c.maxSide = maxSide }
        if let every { c.every = every }
        if let maxFrames { c.maxFrames = maxFrames }
        if let motionSide { c.motionSide = motionSide }
        if let weights { c.applyWeights(folder: weights) }
        return c
    }
}

/// Prints a clear error and gives exit status 2 to throw.
func fatal(_ message: String) -> ExitCode {
    printError("gallop: \(message)")
    return ExitCode(ExitCodes.fatal)
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
