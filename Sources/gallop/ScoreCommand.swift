import ArgumentParser
import Foundation
import GallopConfig
import GallopHarness
import GallopLearned
import GallopMetrics
import GallopReport
import GallopResults

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score every clip under a folder; write clips.jsonl, thumbnails.jsonl (report.html's frames), scorecard.md, summary.json, clips.csv and report.html.",
        discussion: """
            Clips are found recursively by extension. Naming: DIR/<model>/<prompt-id>[-<seed>].<ext> \
            (the seed is the last '-' part when it is all digits). Use --model for a flat folder of one model. \
            Symbolic links are followed, each folder and file once (by device and inode). A file named like a \
            clip that cannot be scored (a dangling link, a name that is not UTF-8, a FIFO or device) is an error \
            row, never opened.
            """
    )

    @Argument(help: "Folder of clips (or a single clip).")
    var dir: String

    @Option(help: "Output folder for clips.jsonl and the reports.")
    var out: String = "gallop-out"

    @Option(parsing: .unconditional, help: "Clips scored in parallel (default: number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Model name for every clip (a flat folder of one model's clips).")
    var model: String?

    @Flag(help: "No progress line (into a file or pipe: a line at least every 10 s, naming a clip in progress for over a minute) and no scorecard on standard output.")
    var quiet = false

    @Flag(help: "Start over: score every clip even when OUT holds results (of any config, or of another folder).")
    var force = false

    @Flag(help: "A clip that decodes less than 90% of its declared duration is an error, not a warning.")
    var strict = false

    @Option(help: ArgumentHelp("Score only shard I of N (0-based; by a stable hash of each clip's path). Join shards with `gallop merge`.", valueName: "I/N"))
    var shard: String?

    @Option(name: .customLong("clip-timeout"), help: ArgumentHelp("Seconds a clip may go without a frame scored, the first one included, before its worker is killed (a hang); the clip is tried once more, then is an error row (0: no limit; none with --in-process).", valueName: "SECONDS"))
    var clipTimeout: Double = WorkerPool.defaultClipTimeout

    @Option(name: .customLong("limit-pixels"), help: "A clip whose frames have more pixels than this is an error row (default 8192 x 8192).")
    var limitPixels: Int = Scorer.Limits().pixels

    @Option(name: .customLong("limit-frames"), help: "A clip with more frames than this is an error row (default a million).")
    var limitFrames: Int = Scorer.Limits().frames

    @Flag(name: .customLong("in-process"), help: "Score on threads of this process instead of worker processes (a crash in one clip then ends the run).")
    var inProcess = false

    /// Worker mode: score the clips named on standard input, one row a line on standard output (see WorkerPool).
    @Flag(help: .private)
    var worker = false

    /// The worker processes' executable, started as `PATH score --worker ARGS` instead of this binary. For the tests
    /// of worker failures, whose test-only worker fails on purpose around the real one (this binary injects no faults).
    @Option(name: .customLong("worker-executable"), help: .private)
    var workerExecutable: String?

    /// Worker mode: the parent's resolved and hashed models (JSON), so a worker does not hash the weights again.
    @Option(name: .customLong("resolved-models"), help: .private)
    var resolvedModels: String?

    @OptionGroup var files: ReportOptions
    @OptionGroup var reading: ReadingOptions

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1.") }
        if limitPixels < 1 || limitFrames < 1 { throw ValidationError("--limit-pixels and --limit-frames must be at least 1.") }
        if !(clipTimeout == 0 || clipTimeout >= 1) { throw ValidationError("--clip-timeout must be 0 (no limit) or at least 1 second.") }
        if let shard, Shard(shard) == nil { throw ValidationError("--shard takes I/N with 0 ≤ I < N, got '\(shard)'.") }
    }

    func run() throws {
        Allocator.tuneForScoring()
        let config = reading.apply(to: try files.load())
        if worker {
            var models: [ModelKey: ModelRef] = [:]
            if let resolvedModels {
                do {
                    for ref in try JSONDecoder().decode([ModelRef].self, from: Data(resolvedModels.utf8)) {
                        if let key = ModelKey(rawValue: ref.key) { models[key] = ref }
                    }
                } catch { throw fatal("--resolved-models: \(error)") }
            }
            let scorer = try makeScorer(config, models: models)
            throw ExitCode(WorkerLoop.serve(scorer: scorer))
        }
        // The learned metrics' weights: resolved and hashed once, here; the workers are handed the result.
        let models: [ModelKey: ModelRef]
        do { models = try config.resolveModels(reference: reading.reference) } catch { throw fatal("\(error)") }
        // The report's options are checked before any clip is scored (a bad prompt suite fails fast).
        let scored = Discovery.scoredRoot(dir)
        let root = ScoredFrom.absolute(scored.isEmpty ? "." : scored)
        // report.html's frames: those kept while scoring (OUT/thumbnails.jsonl), the rest decoded from the clips again.
        var writer = try files.writer(out: out, config: config,
                                      thumbnails: StoredThumbnails(file: out + "/" + KeptFrames.fileName, fallback: ClipThumbnails(folder: root)))
        if let names = config.metrics {
            try ReadingOptions.check(names, reference: reading.reference, from: files.config ?? "--metrics") { fatal($0) }
        }
        let found: Discovery.Found
        do { found = try Discovery.find(in: dir, model: model) } catch { throw fatal("\(error)") }
        for note in found.notes { printError("gallop: \(note)") }
        var clips = found.clips
        // Entries named like clips that cannot be scored (dangling links, names not UTF-8, FIFOs): error rows, never opened.
        var unscorable = found.unreadable
        // A prompt suite that matches none of the clips is refused before any is scored.
        if let suite = writer.suite, let error = suite.noClipIn(prompts: clips.map(\.name.prompt) + unscorable.map(\.clip.name.prompt)) {
            throw fatal(error.description)
        }
        if let shard = shard.flatMap(Shard.init) {
            clips = clips.filter { shard.contains($0.relativePath) }
            unscorable = unscorable.filter { shard.contains($0.clip.relativePath) }
            printError("gallop: shard \(shard.index)/\(shard.count): \(clips.count + unscorable.count) clips")
        }
        // Metrics asked for (by default or by name) whose weights are not configured: listed once, the rest scored.
        let missing = (try? MetricRegistry.unavailable(config.metrics, reference: reading.reference != nil, models: Set(models.keys))) ?? []
        // Named metrics none of which can run: an error, not the default set in their place.
        if let names = config.metrics, !names.isEmpty,
           (try? MetricRegistry.select(names, reference: reading.reference != nil, models: Set(models.keys)))?.isEmpty == true {
            throw fatal("none of the metrics named can run without weights: "
                        + missing.map { MetricRegistry.notComputed($0.metric, missing: $0.missing) }.joined(separator: "; "))
        }
        let scorer = try makeScorer(config, models: models)
        for m in missing { printError("gallop: not computed: " + MetricRegistry.notComputed(m.metric, missing: m.missing)) }
        writer.context.notComputed = missing.map { ($0.metric, $0.missing.map { "models.\($0.rawValue)" }) }
        // Resume: rows of this config for unchanged clips are kept, the rest scored; another config or folder is refused.
        let plan: ResumePlan
        do {
            plan = try ResumePlan.make(clips: clips, results: out + "/clips.jsonl", source: root, fingerprint: scorer.config.fingerprint,
                                       config: scorer.config.json, force: force, promptHash: scorer.promptHash)
        } catch let error as ResumePlan.Refusal {
            throw fatal(error.message)
        } catch {
            throw fatal("\(error)")
        }
        if !plan.kept.isEmpty {
            printError("gallop: resuming: \(plan.kept.count) of \(clips.count) clips already scored in \(out)/clips.jsonl")
        }
        let results: ResultsFile, thumbnails: ResultsFile
        do {
            try OutputFolder.create(out)
            try ScoredFrom.write(clips: root, into: out)
            results = try ResultsFile(path: out + "/clips.jsonl", startingWith: plan.kept)
            // The kept rows' frames are kept with them (same path, content and config); the rest are made again.
            let keptRows = Set(plan.kept.map { "\($0.path)\u{0}\($0.contentKey)\u{0}\($0.fingerprint)" })
            let file = out + "/" + KeptFrames.fileName
            let carried = KeptFramesFile.lines(in: file) { keptRows.contains("\($0)\u{0}\($1)\u{0}\($2)") }.map(\.line)
            thumbnails = try ResultsFile(path: file, startingWithLines: carried)
        } catch {
            throw fatal("\(error)")
        }
        let unscored = unscorable.map(scorer.unscorableRow)
        do {
            for row in unscored {
                try results.append(row)
                printError("gallop: error: \(row.error ?? row.path)")
            }
        } catch {
            throw fatal("\(error)")
        }
        let progress = quiet ? nil : Progress(total: plan.todo.count)
        let say: @Sendable (String) -> Void = { text in
            if let progress { progress.message(text) } else { printError(text) }
        }
        let sink: @Sendable (ClipResult, Int) throws -> Void = { row, done in
            try results.append(row)
            // After its row: a run stopped between the two lines shows that clip's frames decoded again.
            if let kept = row.keptFrames { try thumbnails.append(line: kept.json.serialized()) }
            if row.status == .error { say("gallop: error: \(row.error ?? row.path)") }
            progress?.update(done: done, failed: row.status == .error, path: row.path)
        }
        let started: @Sendable (Runner.Clip) -> Void = { progress?.started($0.relativePath) }
        progress?.startTicking()
        defer { progress?.stop() }
        let new: [ClipResult]
        do {
            if inProcess {
                new = try Runner(scorer: scorer, jobs: jobs).run(plan.todo, started: started, sink: sink)
            } else {
                let pool = WorkerPool(command: workerCommand(models: scorer.config.models), scorer: scorer, jobs: jobs, clipTimeout: clipTimeout > 0 ? clipTimeout : nil) {
                    say("gallop: \($0)")
                }
                new = try pool.run(plan.todo, started: started, sink: sink)
            }
        } catch let error as WorkerError {
            throw fatal(error.description)
        } catch let error as ResultsError {
            // The results cannot be written (a full disk): the run stops, with the rows written so far whole.
            progress?.stop()
            throw fatal(error.description)
        }
        progress?.stop()
        results.close()
        thumbnails.close()
        let rows = plan.kept + unscored + new
        let card: String
        do { card = try writer.write(rows).scorecard } catch { throw fatal(error.description) }
        if !quiet { print(card) }
        let failed = rows.filter { $0.status == .error }.count
        printError("gallop: scored \(rows.count - failed) of \(rows.count) clips; results in \(out)/clips.jsonl, scorecard in \(out)/scorecard.md")
        if failed > 0 { throw ExitCode(ExitCodes.clipFailed) }
    }

    private func makeScorer(_ config: Configuration, models: [ModelKey: ModelRef]) throws -> Scorer {
        var limits = Scorer.Limits()
        limits.pixels = limitPixels
        limits.frames = limitFrames
        var scorer = try Scorer(config: config.run(reference: reading.reference, models: models), threads: reading.threads, strict: strict, limits: limits)
        // The run's metric list is resolved (`all` expanded); only audio metrics named by the user warn on silent clips.
        scorer.namedAudio = scorer.namedAudio.filter { config.metrics?.contains($0) ?? false }
        // clip_score's prompt texts, by prompt id.
        if let suite = try files.suite() {
            scorer.promptTexts = Dictionary(suite.prompts.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
        }
        return scorer
    }

    /// This binary (or `--worker-executable`) with this command's arguments, in worker mode.
    private func workerCommand(models: [ModelKey: ModelRef]) -> [String] {
        let executable = workerExecutable
            ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let arguments = Array(CommandLine.arguments.dropFirst())
        // `--worker` right after the subcommand, before any `--` that would make it a positional argument.
        var resolved: [String] = []
        if !models.isEmpty, let json = try? JSONEncoder().encode(ModelKey.allCases.compactMap { models[$0] }) {
            resolved = ["--resolved-models", String(decoding: json, as: UTF8.self)]
        }
        return [executable, arguments.first ?? "score", "--worker"] + resolved + arguments.dropFirst()
    }
}
