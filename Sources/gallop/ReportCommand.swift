import ArgumentParser
import Foundation
import GallopConfig
import GallopHarness
import GallopReport
import GallopResults

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite OUT's scorecard.md, summary.json, clips.csv and report.html from OUT/clips.jsonl.",
        discussion: """
            Lines that are not rows are skipped and named; of two rows with the same path the later is kept. \
            Rows of different config fingerprints are never averaged together: choose one with --fingerprint. \
            report.html shows the frames `gallop score` kept in OUT/thumbnails.jsonl, and decodes the others (or all, without \
            that file) from the clips, under the folder recorded in OUT/source.json or --clips.
            """
    )

    @Argument(help: "An output folder of `gallop score`.")
    var out: String

    @Option(help: ArgumentHelp("Report only the rows of this config fingerprint.", valueName: "FP"))
    var fingerprint: String?

    @Flag(help: "Do not print the scorecard.")
    var quiet = false

    @OptionGroup var files: ReportOptions
    @OptionGroup var clips: ClipsOption

    func run() throws {
        let config = try files.load()
        let file = out + "/clips.jsonl"
        do {
            let loaded = try ResultsFile.read(file)
            for problem in loaded.problems { printError("gallop: warning: \(problem.message)") }
            let rows = try ReportWriter.select(loaded.rows, fingerprint: fingerprint, file: file)
            guard let first = rows.first else { throw fatal("\(file): no result rows") }
            if let path = files.config {
                let scored = config.run(reference: first.config["reference"]?.stringValue, recordedModels: first.config["models"])
                if scored.fingerprint != first.fingerprint {
                    let differences = ConfigDifference.between(first.config, scored.json).filter { !$0.hasPrefix("reference") }
                    printError("gallop: warning: \(path) scores with other settings than the rows (\(differences.prefix(3).joined(separator: "; "))); only its report settings are used")
                }
            }
            let folder = clips.clips.map(ScoredFrom.absolute) ?? ScoredFrom.read(beside: out)
            let card = try files.writer(out: out, config: config, problems: loaded.problems,
                                        thumbnails: StoredThumbnails(file: out + "/" + KeptFrames.fileName,
                                                                     fallback: ClipThumbnails(folder: folder))).write(rows).scorecard
            if !quiet { print(card) }
        } catch let error as ResultsError {
            throw fatal(error.description)
        }
    }
}
