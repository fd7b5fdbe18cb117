import ArgumentParser
import Foundation
import GallopCore
import GallopHarness
import GallopMetrics
import GallopReport
import GallopVideo

/// Exit codes, documented in the README and `gallop --help`.
enum ExitCodes {
    /// One or more clips could not be scored; every other clip's row was written.
    static let clipFailed: Int32 = 1
    /// Nothing could be scored: missing input, no clips, unwritable output.
    static let fatal: Int32 = 2
}

@main
struct GallopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallop",
        abstract: "Score generated video clips on the CPU: temporal consistency and quality, by model.",
        discussion: """
            Exit status: 0 when every clip was scored, 1 when some clip failed (its row says why; \
            the others are written), 2 when nothing could be scored, 64 on a usage error.
            """,
        version: Gallop.version,
        subcommands: [Score.self, Report.self, Synth.self, ListMetrics.self, Flow.self]
    )
}

/// Reading options shared by the commands that decode clips.
struct ReadingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Comma-separated metrics to compute (default: all; see `gallop metrics`).", valueName: "a,b,..."))
    var metrics: String?

    @Option(name: .customLong("max-side"), help: "Scale frames so the longer side is at most N pixels (default: native size).")
    var maxSide: Int?

    @Option(help: "Score every N-th frame only.")
    var every: Int = 1

    @Option(name: .customLong("max-frames"), help: "Score at most N frames per clip.")
    var maxFrames: Int?

    @Option(help: "Threads per clip: the decoder's, and how many of a frame's optical flows run at once (0: automatic).")
    var threads: Int = 0

    @Option(name: .customLong("motion-side"), help: "Long side of the optical-flow analysis size.")
    var motionSide: Int = RunConfig.defaultMotionSide

    @Option(help: ArgumentHelp("Folder of reference clips: enables psnr, ssim, ssim_fast and ms_ssim. A clip's reference has the same relative path, else the same prompt id and seed.", valueName: "REFDIR"))
    var reference: String?

    var metricNames: [String]? {
        metrics?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        if let maxSide, maxSide < 16 { throw ValidationError("--max-side must be at least 16.") }
        if every < 1 { throw ValidationError("--every must be at least 1.") }
        if let maxFrames, maxFrames < 1 { throw ValidationError("--max-frames must be at least 1.") }
        if threads < 0 { throw ValidationError("--threads must be 0 or more.") }
        if motionSide < 32 { throw ValidationError("--motion-side must be at least 32.") }
        do {
            let selected = try MetricRegistry.select(metricNames, reference: reference != nil)
            if reference == nil, let needing = selected.first(where: { $0.info.needsReference }) {
                throw ValidationError("\(needing.info.name) compares against a reference clip: give --reference REFDIR.")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        if let reference {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: reference, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--reference \(reference): no such folder.")
            }
        }
    }

    var runConfig: RunConfig {
        RunConfig(metrics: metricNames ?? [], maxSide: maxSide, every: every, maxFrames: maxFrames, motionSide: motionSide,
                  reference: reference)
    }
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score every clip under a folder and write clips.jsonl and scorecard.md.",
        discussion: """
            Clips are found recursively by extension. Naming: DIR/<model>/<prompt-id>[-<seed>].<ext> \
            (the seed is the last '-' part when it is all digits). Use --model for a flat folder of one model.
            """
    )

    @Argument(help: "Folder of clips (or a single clip).")
    var dir: String

    @Option(help: "Output folder for clips.jsonl and scorecard.md.")
    var out: String = "gallop-out"

    @Option(help: "Clips scored in parallel (default: number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Model name for every clip (a flat folder of one model's clips).")
    var model: String?

    @Flag(help: "No progress line and no scorecard on standard output.")
    var quiet = false

    @OptionGroup var reading: ReadingOptions

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1.") }
    }

    func run() throws {
        Allocator.tuneForScoring()
        let paths: [String]
        do { paths = try Discovery.clips(in: dir) } catch {
            printError("gallop: \(error)")
            throw ExitCode(ExitCodes.fatal)
        }
        guard !paths.isEmpty else {
            printError("gallop: \(dir): no video files found (extensions: \(Discovery.extensions.sorted().joined(separator: ", ")))")
            throw ExitCode(ExitCodes.fatal)
        }
        var isDir: ObjCBool = false
        let root = FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue ? dir : (dir as NSString).deletingLastPathComponent
        let clips = paths.map { rel in
            Runner.Clip(path: root.isEmpty ? rel : root + "/" + rel, relativePath: rel, name: ClipName.parse(relativePath: rel, model: model))
        }
        let results: ResultsFile
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            results = try ResultsFile(path: out + "/clips.jsonl")
        } catch {
            printError("gallop: \(out): cannot write results: \(error)")
            throw ExitCode(ExitCodes.fatal)
        }
        let scorer = try Scorer(config: reading.runConfig, threads: reading.threads)
        let progress = !quiet && isatty(2) != 0
        let total = clips.count
        let rows = try Runner(scorer: scorer, jobs: jobs).run(clips) { row, done in
            try results.append(row)
            if row.status == .error { printError("gallop: error: \(row.error ?? row.path)") }
            if progress {
                FileHandle.standardError.write(Data("\r\u{1B}[K[\(done)/\(total)] \(row.path)".utf8))
                if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
            }
        }
        results.close()
        let card = Scorecard.markdown(rows: rows)
        do {
            try card.write(toFile: out + "/scorecard.md", atomically: true, encoding: .utf8)
        } catch {
            printError("gallop: \(out)/scorecard.md: \(error)")
            throw ExitCode(ExitCodes.fatal)
        }
        if !quiet { print(card) }
        let failed = rows.filter { $0.status == .error }.count
        printError("gallop: scored \(rows.count - failed) of \(rows.count) clips; results in \(out)/clips.jsonl, scorecard in \(out)/scorecard.md")
        if failed > 0 { throw ExitCode(ExitCodes.clipFailed) }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write OUT/scorecard.md from OUT/clips.jsonl.")

    @Argument(help: "An output folder of `gallop score`.")
    var out: String

    @Flag(help: "Do not print the scorecard.")
    var quiet = false

    func run() throws {
        let rows: [ClipResult]
        do { rows = try ResultsFile.read(out + "/clips.jsonl") } catch {
            printError("gallop: \(error)")
            throw ExitCode(ExitCodes.fatal)
        }
        let card = Scorecard.markdown(rows: rows)
        try card.write(toFile: out + "/scorecard.md", atomically: true, encoding: .utf8)
        if !quiet { print(card) }
    }
}

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a demo set: clips from synthetic 'models' with known defects.",
        discussion: """
            Writes DIR/<model>/<prompt>-<seed>.mp4 (H.264) for four models: steady (clean motion), \
            flicker (brightness flicker), stutter (held frames and noise), soft (blur and exposure drift).
            """
    )

    @Argument(help: "Folder to write the clips into.")
    var dir: String

    @Option(help: "Prompts per model.")
    var prompts: Int = 3

    @Option(help: "Seeds per prompt.")
    var seeds: Int = 2

    @Option(help: "Frames per clip.")
    var frames: Int = 48

    func validate() throws {
        if prompts < 1 || seeds < 1 || frames < 2 { throw ValidationError("--prompts and --seeds must be at least 1, --frames at least 2.") }
    }

    func run() throws {
        let models: [(String, SyntheticScene.Defect)] = [("steady", .none), ("flicker", .flicker), ("stutter", .stutter), ("soft", .blur)]
        var jobs: [(String, SyntheticScene, SyntheticScene.Defect)] = []
        for (model, defect) in models {
            try FileManager.default.createDirectory(atPath: dir + "/" + model, withIntermediateDirectories: true)
            for p in 0..<prompts {
                for s in 0..<seeds {
                    let scene = SyntheticScene(seed: UInt64(p * 1000 + s * 7 + 1), pan: 1 + Double(s))
                    jobs.append(("\(dir)/\(model)/prompt\(p + 1)-\(s + 1).mp4", scene, defect))
                }
            }
        }
        let frames = self.frames
        let list = jobs
        DispatchQueue.concurrentPerform(iterations: list.count) { i in
            let (path, scene, defect) = list[i]
            do { try scene.write(to: path, frames: frames, defect: defect) } catch { printError("gallop: \(error)") }
        }
        printError("gallop: wrote \(list.count) clips under \(dir)")
    }
}

struct Flow: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a clip's optical flow, for inspection and cross-checks.",
        discussion: """
            Writes DIR/frame_NNNNN.pgm (the motion-size luma Gallop analyses) and DIR/flow_NNNNN.flo \
            (Middlebury .flo: flow from frame N−1 to frame N) for each consecutive pair.
            """
    )

    @Argument(help: "The clip.")
    var clip: String

    @Option(help: "Output folder.")
    var out: String

    @Option(name: .customLong("motion-side"), help: "Long side of the optical-flow analysis size.")
    var motionSide: Int = RunConfig.defaultMotionSide

    @Option(name: .customLong("max-frames"), help: "Read at most N frames.")
    var maxFrames: Int?

    @Flag(help: "Write only the frames (no flow): for timing a peer on the same input.")
    var framesOnly = false

    func run() throws {
        Allocator.tuneForScoring()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let reader = try VideoReader(path: clip, options: ReadOptions(maxFrames: maxFrames, threads: 1, motionSide: motionSide))
        let dis = DISFlow()
        var previous: [FloatImage]?
        var n = 0
        try reader.forEachFrame { frame in
            let plane = frame.motion!
            let image = FloatImage(plane)
            try FlowFiles.writePGM(image, to: String(format: "%@/frame_%05d.pgm", out, frame.index))
            if !framesOnly {
                let pyramid = dis.pyramid(image)
                if let previous {
                    try FlowFiles.writeFlo(dis.flow(from: previous, to: pyramid), to: String(format: "%@/flow_%05d.flo", out, frame.index))
                }
                previous = pyramid
            }
            n += 1
        }
        printError("gallop: wrote \(n) frames\(framesOnly ? "" : " and \(max(0, n - 1)) flows") of \(reader.info.motionWidth)x\(reader.info.motionHeight) to \(out)")
    }
}

/// Middlebury .flo and binary PGM writers for `gallop flow`.
enum FlowFiles {
    static func writePGM(_ image: FloatImage, to path: String) throws {
        var data = Data("P5\n\(image.width) \(image.height)\n255\n".utf8)
        data.append(contentsOf: image.pixels.map { UInt8(max(0, min(255, $0.rounded()))) })
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func writeFlo(_ f: FlowField, to path: String) throws {
        var data = Data("PIEH".utf8)
        func append<T>(_ v: T) { withUnsafeBytes(of: v) { data.append(contentsOf: $0) } }
        append(Int32(f.width).littleEndian)
        append(Int32(f.height).littleEndian)
        for k in 0..<f.u.count {
            append(f.u[k].bitPattern.littleEndian)
            append(f.v[k].bitPattern.littleEndian)
        }
        try data.write(to: URL(fileURLWithPath: path))
    }
}

struct ListMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics", abstract: "List the metrics, their better direction and what they need.")

    func run() {
        for type in MetricRegistry.all {
            let i = type.info
            var needs: [String] = []
            if i.needs.contains(.rgb) { needs.append("rgb") } else { needs.append("luma") }
            if i.temporal { needs.append("pairs") }
            if i.resolution == .native { needs.append("native size") }
            let extra = i.secondary.isEmpty ? "" : " (also: \(i.secondary.joined(separator: ", ")))"
            print("\(i.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(i.direction.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(needs.joined(separator: ", ").padding(toLength: 26, withPad: " ", startingAt: 0)) \(i.summary)\(extra)")
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
