import ArgumentParser
import Foundation
import GallopConfig
import GallopCore
import GallopHarness
import GallopReport
import GallopResults

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the output folders of a sharded run (`gallop score --shard I/N`) into one, and write its reports.",
        discussion: """
            A clip in two inputs keeps the row of the later input, and the earlier is named. Each input's \
            thumbnails.jsonl (the frames kept while scoring) is carried for the rows kept. Inputs of different \
            config fingerprints are refused (exit 2), naming each config and its inputs: merge the inputs of one config, \
            or score the others again with the same config and flags.
            """
    )

    @Argument(help: "Output folders (or clips.jsonl files) of the shards.")
    var inputs: [String]

    @Option(help: "The merged output folder.")
    var out: String

    @Flag(help: "Do not print the scorecard.")
    var quiet = false

    @OptionGroup var files: ReportOptions
    @OptionGroup var clips: ClipsOption

    func run() throws {
        let config = try files.load()
        do {
            let shards = try inputs.map { try ResultsFile.read(ResultsFile.locate($0)) }
            // Every input's rows share one config, before any duplicate is dropped.
            try ReportWriter.requireOneConfig(shards.map { ($0.file, $0.rows) })
            let loaded = LoadedResults.merging(shards)
            for problem in loaded.problems { printError("gallop: warning: \(problem.message)") }
            let rows = loaded.rows
            guard !rows.isEmpty else { throw fatal("the inputs hold no result rows") }
            // report.html's frames: --clips, else the folder every shard was scored from, when they agree.
            let roots = inputs.map { ScoredFrom.read(beside: $0) }
            let agreed = roots.first.flatMap { $0 }.flatMap { first in roots.allSatisfy { $0 == first } ? first : nil }
            let folder = clips.clips.map(ScoredFrom.absolute) ?? agreed
            let why = Set(roots).count > 1 ? "the inputs were scored from different folders; give --clips DIR"
                : "the inputs do not record where their clips were scored from; give --clips DIR"
            let writer = try files.writer(out: out, config: config, problems: loaded.problems,
                                          thumbnails: StoredThumbnails(file: out + "/" + KeptFrames.fileName,
                                                                       fallback: ClipThumbnails(folder: folder, noFolder: why)))
            // A prompt suite that matches none of the rows is refused before anything is written.
            if let suite = writer.suite, let error = suite.noClipIn(prompts: rows.map(\.name.prompt)) { throw error }
            do { try OutputFolder.create(out) } catch { throw fatal(error.description) }
            let merged = try ResultsFile(path: out + "/clips.jsonl")
            for row in rows { try merged.append(row) }
            merged.close()
            // Each merged row's kept frames: from the input its row came from (or any later one with the same content
            // and config), the last line of a path winning, as for rows.
            let identities = Set(rows.map { "\($0.path)\u{0}\($0.contentKey)\u{0}\($0.fingerprint)" })
            var lines: [String: String] = [:], order: [String] = []
            for input in inputs {
                let file = Paths.parent(of: ResultsFile.locate(input))
                for (path, line) in KeptFramesFile.lines(in: (file.isEmpty ? "." : file) + "/" + KeptFrames.fileName, keep: {
                    identities.contains("\($0)\u{0}\($1)\u{0}\($2)")
                }) {
                    if lines[path] == nil { order.append(path) }
                    lines[path] = line
                }
            }
            let thumbnails = try ResultsFile(path: out + "/" + KeptFrames.fileName, startingWithLines: [])
            for path in order { try thumbnails.append(line: lines[path]!) }
            thumbnails.close()
            if let folder { try ScoredFrom.write(clips: folder, into: out) }
            let card = try writer.write(rows).scorecard
            if !quiet { print(card) }
            printError("gallop: merged \(rows.count) rows from \(inputs.count) inputs into \(out)/clips.jsonl")
        } catch let error as ResultsError {
            throw fatal(error.description)
        }
    }
}
