import Foundation
import GallopCore
import GallopResults
import GallopTestSupport
import XCTest

/// End to end: run the built `gallop` binary as a user would, and pin its
/// help, its error text and its exit codes.
final class CLITests: XCTestCase {
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("gallop").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let products = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/gallop").path
        return products
    }

    /// The test-only worker that crashes, stalls or goes slow on the clips named by GALLOP_TEST_CRASH, _STALL and
    /// _SLOW (Tests/GallopTestWorker), built beside `gallop`; a run uses it with `--worker-executable`.
    static var testWorker: String {
        URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("gallop-test-worker").path
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    func gallop(_ args: [String], environment: [String: String] = [:], in directory: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = args
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env["GITHUB_ACTIONS"] = nil
        env["GITHUB_STEP_SUMMARY"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func testHelpListsSubcommandsAndExitCodes() throws {
        let r = try gallop(["--help"])
        XCTAssertEqual(r.status, 0)
        for word in ["score", "report", "config", "synth", "metrics", "Exit status: 0 when every clip was scored, 1 when some clip failed",
                     "the results cannot be written", "128 + the signal when stopped by SIGTERM, SIGINT or SIGHUP"] {
            // As one line: the help wraps the discussion.
            XCTAssertTrue(r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains(word), "help lacks \(word):\n\(r.stdout)")
        }
        let score = try gallop(["score", "--help"])
        for option in ["--out", "--metrics", "--jobs", "--model", "--max-side", "--every", "--max-frames", "--threads", "--config", "--prompts", "--frames-csv"] {
            XCTAssertTrue(score.stdout.contains(option), "score help lacks \(option)")
        }
        XCTAssertTrue(score.stdout.contains("DIR/<model>/<prompt-id>[-<seed>].<ext>"))
        XCTAssertTrue(score.stdout.contains("each folder and file once (by device and inode)"), score.stdout)
    }

    func testUsageErrorsAreClear() throws {
        let bad = try gallop(["score", "/tmp", "--every", "0"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("Error: --every must be at least 1."), bad.stderr)
        let negative = try gallop(["score", "/tmp", "--jobs", "-1"])
        XCTAssertEqual(negative.status, 64)
        XCTAssertTrue(negative.stderr.hasPrefix("Error: --jobs must be at least 1."), negative.stderr)
        let unknown = try gallop(["score", "/tmp", "--metrics", "sharpness,psnr_bogus"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.stderr.contains("unknown metric 'psnr_bogus'; known metrics: temporal_flickering, flicker_index"), unknown.stderr)
        // Issue 22: an empty --metrics (an unset CI variable) scored every metric; it is a usage error. `all` is every metric.
        for blank in ["", " , "] {
            let empty = try gallop(["score", "/tmp", "--metrics", blank])
            XCTAssertEqual(empty.status, 64)
            XCTAssertTrue(empty.stderr.hasPrefix("Error: --metrics '\(blank)' names no metric: give at least one (see `gallop metrics`), or `all` for the default set.\n"), empty.stderr)
        }
        let all = try gallop(["score", "/nonexistent/clips", "--metrics", "all", "--out", TempDir().path])
        XCTAssertEqual(all.status, 2, "`all` passes validation: \(all.stderr)")
        XCTAssertTrue(all.stderr.contains("/nonexistent/clips: no such file or folder"), all.stderr)
    }

    func testMissingFolderIsFatal() throws {
        let r = try gallop(["score", "/nonexistent/clips", "--out", TempDir().path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("/nonexistent/clips: no such file or folder"), r.stderr)
        // An output folder that cannot be made: one plain sentence, exit 2.
        let dir = TempDir()
        try Clips.write(dir.file("m/a-1.mkv"), (0..<3).map { Planes.texture(32, 32, dx: Double($0)) })
        FileManager.default.createFile(atPath: dir.file("file"), contents: Data())
        let blocked = try gallop(["score", dir.file("m"), "--out", dir.file("file/out"), "--metrics", "frame_diff"])
        XCTAssertEqual(blocked.status, 2)
        XCTAssertEqual(blocked.stderr, "gallop: \(dir.file("file")): cannot create the folder: a file of that name is in the way\n")
    }

    func testScoreReportsFailedClipWithExitOneAndKeepsTheRest() throws {
        let dir = TempDir(), out = TempDir()
        try Clips.write(dir.file("m/good-1.mkv"), (0..<6).map { Planes.texture(64, 48, dx: Double($0)) })
        FileManager.default.createFile(atPath: dir.file("m/bad-2.mp4"), contents: Data("garbage".utf8))
        let r = try gallop(["score", dir.path, "--out", out.path, "--jobs", "2", "--metrics", "frame_diff,sharpness"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("m/bad-2.mp4"), r.stderr)
        XCTAssertTrue(r.stdout.contains("| m | 2 | 1 |"), r.stdout)
        let lines = try String(contentsOfFile: out.file("clips.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines.contains { $0.contains("\"path\":\"m/good-1.mkv\"") && $0.contains("\"status\":\"ok\"") && $0.contains("\"frame_diff\":") })
        XCTAssertFalse(lines.contains { $0.contains("\"colorfulness\"") }, "only the selected metrics run")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.file("scorecard.md")))

        let report = try gallop(["report", out.path, "--quiet"])
        XCTAssertEqual(report.status, 0, report.stderr)
    }

    /// The default set scores a silent clip with `audio: false` and no warning; audio metrics named on the command
    /// line (or in a config file) warn that they are null. The run's metric list is resolved, `all` expanded, so
    /// this is told apart in the command, not the scorer.
    func testASilentClipWarnsOnlyWhenAudioMetricsAreNamed() throws {
        let dir = TempDir()
        try Clips.write(dir.file("m/quiet-1.mkv"), (0..<6).map { Planes.texture(64, 48, dx: Double($0)) })
        func row(_ extra: [String]) throws -> String {
            let out = TempDir()
            let r = try gallop(["score", dir.path, "--out", out.path, "--jobs", "1", "--quiet"] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try String(contentsOfFile: out.file("clips.jsonl"), encoding: .utf8)
        }
        let byDefault = try row([])
        XCTAssertTrue(byDefault.contains("\"audio\":false"), byDefault)
        XCTAssertFalse(byDefault.contains("no audio stream"), byDefault)
        let config = dir.file("audio.yaml")
        try "metrics: [sharpness, loudness_lufs]\n".write(toFile: config, atomically: true, encoding: .utf8)
        for extra in [["--metrics", "sharpness,loudness_lufs"], ["--config", config]] {
            XCTAssertTrue(try row(extra).contains("no audio stream: loudness_lufs is null"), "\(extra)")
        }
    }

    func testMetricsListsEveryMetricWithDirection() throws {
        let r = try gallop(["metrics"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("flicker_index"))
        XCTAssertTrue(r.stdout.contains("temporal_flickering  higher"), r.stdout)
    }

    func testMetricsJSONAndMarkdownComeFromTheRegistry() throws {
        let r = try gallop(["metrics", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let listed = try JSONParser.parse(r.stdout).arrayValue ?? []
        func named(_ n: String) -> JSONValue? { listed.first { $0["name"]?.stringValue == n } }
        // The plain listing's metrics, in its order.
        // (The listing ends, after a blank line, with how to get the learned metrics' weights.)
        let listing = try gallop(["metrics"]).stdout.components(separatedBy: "\n\n")[0]
        let plain = listing.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        XCTAssertEqual(listed.compactMap { $0["name"]?.stringValue }, plain)
        // What the bench scripts select on: flow, RGB, reference, default tolerance.
        XCTAssertEqual(named("warping_error")?["flow"], .bool(true))
        XCTAssertEqual(named("sharpness")?["flow"], .bool(false))
        XCTAssertEqual(named("colorfulness")?["rgb"], .bool(true))
        XCTAssertEqual(named("psnr")?["reference"], .bool(true))
        XCTAssertEqual(named("sharpness")?["tolerance"]?["kind"]?.stringValue, "relative")
        XCTAssertEqual(named("frame_diff")?["tolerance"], .null)
        XCTAssertEqual(named("camera_motion")?["derived"], .array([.string("camera_agreement")]))
        // Which metrics read the sound track: the audio group's, and only those (a bench picks its audio rows by it).
        let audioGroup = listed.filter { $0["group"]?.stringValue == "audio" }.compactMap { $0["name"]?.stringValue }
        XCTAssertEqual(listed.filter { $0["audio"] == .bool(true) }.compactMap { $0["name"]?.stringValue }, audioGroup)
        XCTAssertTrue(Set(["loudness_lufs", "true_peak_dbtp", "av_offset_ms", "av_align"]).isSubset(of: audioGroup), "\(audioGroup)")
        XCTAssertEqual(named("sharpness")?["audio"], .bool(false))
        XCTAssert(listing.split(separator: "\n").contains { $0.hasPrefix("loudness_lufs ") && $0.contains(" audio ") && !$0.contains("luma") }, listing)
        XCTAssert(listing.split(separator: "\n").contains { $0.hasPrefix("av_offset_ms ") && $0.contains("luma, audio, pairs") }, listing)
        // Whether `all` selects it (the bench's default-suite rows leave opt-in metrics out), as the plain listing says.
        let optIn = listing.split(separator: "\n").filter { $0.hasSuffix("; opt-in: runs only when named") }
        XCTAssertEqual(listed.map { $0["default"] }, plain.map { name in .bool(!optIn.contains { $0.hasPrefix(name + " ") }) })
        let md = try gallop(["metrics", "--markdown"])
        XCTAssertEqual(md.status, 0)
        XCTAssertTrue(md.stdout.hasPrefix("<!-- gallop metrics --markdown: config -->\n| key | default | meaning |"), md.stdout)
        XCTAssertEqual(try gallop(["metrics", "--markdown", "--json"]).status, 64)
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testConfigPrintsTheShippedDefaultsAndBadConfigsExitTwo() throws {
        let r = try gallop(["config"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, try String(contentsOfFile: CLITests.root + "/configs/default.yaml", encoding: .utf8),
                       "configs/default.yaml is `gallop config`: regenerate it with .build/debug/gallop config > configs/default.yaml")
        let dir = TempDir()
        let bad = dir.file("bad.yaml")
        try "analysis:\n  every: 2\noptions:\n  freeze_ratio:\n    block_tolerance: high\n".write(toFile: bad, atomically: true, encoding: .utf8)
        for args in [["config", "--config", bad], ["score", dir.path, "--config", bad, "--out", dir.file("out")]] {
            let e = try gallop(args)
            XCTAssertEqual(e.status, 2, args.joined(separator: " "))
            XCTAssertEqual(e.stderr, "gallop: \(bad):5: options.freeze_ratio.block_tolerance: must be a number, got 'high'\n")
        }
        let good = dir.file("good.yaml")
        try "options:\n  freeze_ratio:\n    block_tolerance: 2\n".write(toFile: good, atomically: true, encoding: .utf8)
        let resolved = try gallop(["config", "--config", good])
        XCTAssertTrue(resolved.stdout.contains("    block_tolerance: 2.0   #"), resolved.stdout)
        XCTAssertTrue(resolved.stdout.contains("    mean_tolerance: 0.4   #"), resolved.stdout)
        XCTAssertFalse(resolved.stdout.contains(r.stdout.split(separator: "\n")[2]), "the fingerprint follows the thresholds")
        // The fingerprint `gallop config` prints is the one the rows carry.
        try Clips.write(dir.file("clips/m/a-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        XCTAssertEqual(try gallop(["score", dir.file("clips"), "--out", dir.file("o"), "--quiet"]).status, 0)
        let row = try JSONParser.parse(String(contentsOfFile: dir.file("o/clips.jsonl"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertTrue(r.stdout.contains("(rows' config.fingerprint, without --reference): \(row["config"]!["fingerprint"]!.stringValue!)\n"), r.stdout)
    }

    func testScoreWithSuiteWritesEveryOutputAndReportSurvivesBadLines() throws {
        let dir = TempDir(), out = TempDir()
        for (prompt, seed) in [("still-a", 1), ("still-a", 2), ("pan-b", 1), ("off-suite", 1)] {
            try Clips.write(dir.file("m/\(prompt)-\(seed).mkv"), (0..<6).map { Planes.texture(64, 48, dx: Double($0 * seed)) })
        }
        let suite = dir.file("suite.yaml")
        try """
            suite: t
            prompts:
              - {id: still-a, text: "a", tags: [static], camera: static}
              - {id: pan-b, text: "b", tags: [camera], camera: pan_left}
              - {id: never, text: "c", tags: [text]}
            """.write(toFile: suite, atomically: true, encoding: .utf8)
        let r = try gallop(["score", dir.path, "--out", out.path, "--metrics", "frame_diff,freeze_ratio,flicker_index", "--prompts", suite, "--frames-csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for file in ["clips.jsonl", "scorecard.md", "summary.json", "clips.csv", "frames.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.file(file)), file)
        }
        XCTAssertTrue(r.stdout.contains("`m` has no clip for 1 of 3 prompts: `never`"), r.stdout)
        XCTAssertTrue(r.stdout.contains("1 clip with a prompt id not in the suite, left out of every aggregate: `m/off-suite-1.mkv`"), r.stdout)

        // A garbage line and a truncated last line: skipped, named, counted; the rest is reported.
        var text = try String(contentsOfFile: out.file("clips.jsonl"), encoding: .utf8)
        let first = String(text.split(separator: "\n")[0])
        text = "not json\n" + text + String(first.prefix(30))
        try text.write(toFile: out.file("clips.jsonl"), atomically: true, encoding: .utf8)
        let report = try gallop(["report", out.path, "--prompts", suite])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stderr.contains("clips.jsonl:1: skipped, not a result row"), report.stderr)
        XCTAssertTrue(report.stderr.contains("clips.jsonl:6: skipped, not a result row"), report.stderr)
        XCTAssertTrue(report.stdout.contains("2 lines skipped, 0 duplicate rows replaced by a later one"), report.stdout)

        // Rows of another config are refused, not averaged; --fingerprint picks one.
        let other = try gallop(["score", dir.file("m/pan-b-1.mkv"), "--out", dir.file("o2"), "--metrics", "frame_diff", "--quiet"])
        XCTAssertEqual(other.status, 0, other.stderr)
        let extra = try String(contentsOfFile: dir.file("o2/clips.jsonl"), encoding: .utf8).replacingOccurrences(of: "pan-b-1.mkv", with: "m/x-1.mkv")
        try (text + "\n" + extra).write(toFile: out.file("clips.jsonl"), atomically: true, encoding: .utf8)
        let mixed = try gallop(["report", out.path, "--quiet"])
        XCTAssertEqual(mixed.status, 2)
        XCTAssertTrue(mixed.stderr.contains("the rows come from 2 different configs and are never averaged together"), mixed.stderr)
        XCTAssertTrue(mixed.stderr.contains("differs in metrics"), mixed.stderr)
        let fp = try JSONParser.parse(String(extra.split(separator: "\n")[0]))["config"]!["fingerprint"]!.stringValue!
        let chosen = try gallop(["report", out.path, "--quiet", "--fingerprint", fp])
        XCTAssertEqual(chosen.status, 0, chosen.stderr)
    }

    /// `--json` and `--junit` on a path that is no regular file: a link keeps being a link (the file it names is
    /// replaced), a device is written in place and never replaced by a file (`/dev/full`: exit 2 naming the cause).
    func testCheckOutputsKeepLinksAndDevices() throws {
        let dir = TempDir()
        try Clips.write(dir.file("clips/m/cat-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        XCTAssertEqual(try gallop(["score", dir.file("clips"), "--out", dir.file("run"), "--metrics", "frame_diff", "--quiet"]).status, 0)
        try "old".write(toFile: dir.file("verdict.json"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link.json"), withDestinationPath: "verdict.json")
        let linked = try gallop(["check", dir.file("run"), "--baseline", dir.file("run"), "--json", dir.file("link.json"), "--junit", "/dev/null"])
        XCTAssertEqual(linked.status, 0, linked.stderr)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir.file("link.json")), "verdict.json")
        XCTAssertTrue(try String(contentsOfFile: dir.file("verdict.json"), encoding: .utf8).hasPrefix("{"))
        var info = stat()
        XCTAssertEqual(stat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "/dev/null is still a device")
        let full = try gallop(["check", dir.file("run"), "--baseline", dir.file("run"), "--json", "/dev/full"])
        XCTAssertEqual(full.status, 2, full.stderr)
        XCTAssertTrue(full.stderr.contains("/dev/full: cannot write: no space left on device"), full.stderr)
        XCTAssertEqual(stat("/dev/full", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "/dev/full is still a device")
    }

    func testCheckExitCodesSummaryAndAnnotations() throws {
        let dir = TempDir(), out = TempDir()
        for p in 0..<8 {
            try Clips.write(dir.file("m/p\(p)-1.mkv"), (0..<6).map { Planes.texture(64, 48, dx: Double($0) * Double(p % 3)) })
        }
        let metrics = "frame_diff,freeze_ratio,sharpness"
        XCTAssertEqual(try gallop(["score", dir.path, "--out", out.file("base"), "--metrics", metrics, "--quiet"]).status, 0)
        XCTAssertEqual(try gallop(["score", dir.path, "--out", out.file("cand"), "--metrics", metrics, "--quiet", "--jobs", "1"]).status, 0)
        let same = try gallop(["check", out.file("cand"), "--baseline", out.file("base"), "--junit", out.file("j.xml"), "--json", out.file("v.json")])
        XCTAssertEqual(same.status, 0, same.stderr + same.stdout)
        XCTAssertTrue(same.stdout.hasPrefix("## Gallop check: ✅ passed"), same.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.file("j.xml")))
        XCTAssertEqual(try JSONParser.parse(String(contentsOfFile: out.file("v.json"), encoding: .utf8))["verdict"]?.stringValue, "pass")

        // A clip missing from the candidate fails (exit 1) with annotations and the step summary appended.
        var rows = try String(contentsOfFile: out.file("cand/clips.jsonl"), encoding: .utf8).split(separator: "\n")
        rows.removeLast()
        try (rows.joined(separator: "\n") + "\n").write(toFile: out.file("short.jsonl"), atomically: true, encoding: .utf8)
        try "earlier step\n".write(toFile: out.file("summary.md"), atomically: true, encoding: .utf8)
        let missing = try gallop(["check", out.file("short.jsonl"), "--baseline", out.file("base"), "--quiet"],
                                 environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": out.file("summary.md")])
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(missing.stdout.hasPrefix("::error title=Gallop%3A m clips missing::1 baseline clips have no candidate"), missing.stdout)
        let summary = try String(contentsOfFile: out.file("summary.md"), encoding: .utf8)
        XCTAssertTrue(summary.hasPrefix("earlier step\n## Gallop check: ❌ failed\n\n1 missing clip"), summary)
        XCTAssertEqual(try gallop(["check", out.file("short.jsonl"), "--baseline", out.file("base"), "--quiet", "--allow-missing"]).status, 0)

        // Another config: not comparable (3), saying which setting differs.
        XCTAssertEqual(try gallop(["score", dir.path, "--out", out.file("every2"), "--metrics", metrics, "--every", "2", "--quiet"]).status, 0)
        let other = try gallop(["check", out.file("every2"), "--baseline", out.file("base")])
        XCTAssertEqual(other.status, 3)
        XCTAssertTrue(other.stderr.contains("gallop: not comparable: baseline and candidate were scored with different configs"), other.stderr)
        XCTAssertTrue(other.stderr.contains("every: 1 vs 2"), other.stderr)
        let help = try gallop(["check", "--help"])
        let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(words.contains("Exit status: 0 pass, 1 a regression or a newly failing or missing clip, 2 a usage or config error, 3 inputs not comparable"), words)
        XCTAssertTrue(words.contains("4 undecided: too few prompts to decide a change past the tolerance (no regression; --allow-undecided makes it a warning and exit 0). A regression takes precedence over undecided."), words)
        XCTAssertTrue(words.contains("On fewer than 8 paired prompts an exact one-sided sign-flip test"), words)
        XCTAssertTrue(words.contains("a regression can fail from 5 prompts"), words)
        XCTAssertTrue(words.contains("--allow-undecided"), words)
        // Usage errors exit 2 for check, as CI scripts expect.
        let usage = try gallop(["check", out.file("cand"), "--baseline", out.file("base"), "--model-map", "x"])
        XCTAssertEqual(usage.status, 2)
        XCTAssertTrue(usage.stderr.contains("--model-map takes NEW=OLD, got 'x'."), usage.stderr)
        XCTAssertEqual(try gallop(["check", out.file("cand")]).status, 2)

        // Sharpness down by two thirds on every clip: a regression, named, exit 1.
        let softer = try String(contentsOfFile: out.file("cand/clips.jsonl"), encoding: .utf8).split(separator: "\n").map { line -> String in
            var row = try! ClipResult(json: JSONParser.parse(String(line)))
            for i in row.metrics.indices where row.metrics[i].0 == "sharpness" { row.metrics[i].1 = row.metrics[i].1! / 3 }
            return row.json.serialized()
        }
        try (softer.joined(separator: "\n") + "\n").write(toFile: out.file("softer.jsonl"), atomically: true, encoding: .utf8)
        let regressed = try gallop(["check", out.file("softer.jsonl"), "--baseline", out.file("base")])
        XCTAssertEqual(regressed.status, 1, regressed.stderr)
        XCTAssertTrue(regressed.stdout.contains("Regressed: `sharpness`"), regressed.stdout)

        // Small sets: on five prompts the same loss fails (the exact sign-flip test, p = 1/32); on four no
        // outcome reaches 0.05, so the check is undecided: exit 4, or 0 with --allow-undecided.
        func firstPrompts(_ file: String, _ n: Int, to name: String) throws -> String {
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").filter { line in
                let prompt = try! ClipResult(json: JSONParser.parse(String(line))).name.prompt
                return (0..<n).contains { prompt == "p\($0)" }
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: out.file(name), atomically: true, encoding: .utf8)
            return out.file(name)
        }
        let five = try gallop(["check", firstPrompts(out.file("softer.jsonl"), 5, to: "soft5.jsonl"),
                               "--baseline", firstPrompts(out.file("base/clips.jsonl"), 5, to: "base5.jsonl")])
        XCTAssertEqual(five.status, 1, five.stdout + five.stderr)
        XCTAssertTrue(five.stdout.contains("exact sign-flip test on 5 prompts: p = 0.03125"), five.stdout)
        let soft4 = try firstPrompts(out.file("softer.jsonl"), 4, to: "soft4.jsonl"), base4 = try firstPrompts(out.file("base/clips.jsonl"), 4, to: "base4.jsonl")
        let four = try gallop(["check", soft4, "--baseline", base4, "--json", out.file("v4.json")])
        XCTAssertEqual(four.status, 4, four.stdout + four.stderr)
        XCTAssertTrue(four.stdout.hasPrefix("## Gallop check: ❓ undecided\n\nUndecided, too few prompts to decide a change past the tolerance: `sharpness`"), four.stdout)
        XCTAssertEqual(try JSONParser.parse(String(contentsOfFile: out.file("v4.json"), encoding: .utf8))["verdict"]?.stringValue, "undecided")
        let allowed = try gallop(["check", soft4, "--baseline", base4, "--allow-undecided"])
        XCTAssertEqual(allowed.status, 0, allowed.stdout + allowed.stderr)
        XCTAssertTrue(allowed.stdout.hasPrefix("## Gallop check: ✅ passed\n\nUndecided (allowed)"), allowed.stdout)
        // Equal on four prompts: untested, not undecided, so it passes.
        XCTAssertEqual(try gallop(["check", firstPrompts(out.file("cand/clips.jsonl"), 4, to: "cand4.jsonl"), "--baseline", base4, "--quiet"]).status, 0)
    }

    /// Rows as a run leaves them, by path, without `timing`.
    func rows(_ file: String) throws -> [String] {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map {
            try ClipResult(json: JSONParser.parse(String($0))).comparableJSON.serialized()
        }.sorted()
    }

    func testAKilledRunResumedEndsWithTheRowsOfAnUninterruptedOne() throws {
        let dir = TempDir(), out = TempDir()
        for p in 0..<10 {
            try Clips.write(dir.file("m/p\(p)-1.mkv"), (0..<16).map { Planes.texture(96, 64, dx: Double($0 * (p % 4))) })
        }
        let args = ["score", dir.path, "--jobs", "1", "--quiet", "--metrics", "frame_diff,freeze_ratio,motion_magnitude,sharpness"]
        XCTAssertEqual(try gallop(args + ["--out", out.file("whole")]).status, 0)
        let whole = try rows(out.file("whole/clips.jsonl"))
        XCTAssertEqual(whole.count, 10)

        // Kill the run with SIGKILL once two rows are written; a half-written line stands for a kill mid-write.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = args + ["--out", out.file("killed")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let file = out.file("killed/clips.jsonl")
        while p.isRunning, ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").count < 2 { usleep(2000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let written = try String(contentsOfFile: file, encoding: .utf8)
        try (written + String(written.prefix(50))).write(toFile: file, atomically: true, encoding: .utf8)

        let again = try gallop(args + ["--out", out.file("killed")])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("gallop: resuming: "), again.stderr)
        XCTAssertEqual(try rows(file), whole, "no duplicate, no half line, every clip")
        // Once more: nothing left to score, the same rows.
        let third = try gallop(args + ["--out", out.file("killed")])
        XCTAssertTrue(third.stderr.contains("gallop: resuming: 10 of 10 clips already scored"), third.stderr)
        XCTAssertEqual(try rows(file), whole)

        // Another config in the same folder is refused; --force starts over.
        let other = try gallop(args + ["--out", out.file("killed"), "--every", "2"])
        XCTAssertEqual(other.status, 2)
        XCTAssertTrue(other.stderr.contains("holds results of another config"), other.stderr)
        XCTAssertTrue(other.stderr.contains("every: 1 vs 2"), other.stderr)
        XCTAssertTrue(other.stderr.contains("pass --force to start over"), other.stderr)
        XCTAssertEqual(try gallop(args + ["--out", out.file("killed"), "--every", "2", "--force"]).status, 0)
        XCTAssertEqual(try rows(file).count, 10)
    }

    // Issue 22: scoring another folder into an OUT that held a folder's rows replaced them, exit 0. It is refused
    // (exit 2) unless --force; the same folder through a link resumes.
    func testAnotherFolderIntoAnOutWithRowsIsRefused() throws {
        let dir = TempDir()
        for (folder, p) in [("a", 0), ("a", 1), ("b", 2)] {
            try Clips.write(dir.file("\(folder)/m/p\(p)-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0 * p)) })
        }
        let args = ["--out", dir.file("out"), "--quiet", "--metrics", "frame_diff"]
        XCTAssertEqual(try gallop(["score", dir.file("a")] + args).status, 0)
        let before = try rows(dir.file("out/clips.jsonl"))
        let other = try gallop(["score", dir.file("b")] + args)
        XCTAssertEqual(other.status, 2, other.stderr)
        XCTAssertEqual(other.stderr, "gallop: \(dir.file("out")) holds 2 rows of clips scored from \(dir.file("a")), not from \(dir.file("b")); pass --force to replace them, or choose another --out\n")
        XCTAssertEqual(try rows(dir.file("out/clips.jsonl")), before, "the rows are untouched")
        // The same folder through a link is the same folder.
        try FileManager.default.createSymbolicLink(atPath: dir.file("linked"), withDestinationPath: dir.file("a"))
        let linked = try gallop(["score", dir.file("linked")] + args)
        XCTAssertEqual(linked.status, 0, linked.stderr)
        XCTAssertTrue(linked.stderr.contains("gallop: resuming: 2 of 2 clips already scored"), linked.stderr)
        // Rows that record no folder (a copied clips.jsonl) are refused when none names a clip of this folder,
        // and resumed when they do.
        try FileManager.default.removeItem(atPath: dir.file("out/source.json"))
        let unrecorded = try gallop(["score", dir.file("b")] + args)
        XCTAssertEqual(unrecorded.status, 2, unrecorded.stderr)
        XCTAssertEqual(unrecorded.stderr, "gallop: \(dir.file("out")) holds 2 rows that record no folder (no source.json) and name none of the clips of \(dir.file("b")); pass --force to replace them, or choose another --out\n")
        XCTAssertEqual(try rows(dir.file("out/clips.jsonl")), before, "the rows are untouched")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("out/source.json")), "nothing written")
        let same = try gallop(["score", dir.file("a")] + args)
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertTrue(same.stderr.contains("gallop: resuming: 2 of 2 clips already scored"), same.stderr)
        let forced = try gallop(["score", dir.file("b"), "--force"] + args)
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(try ResultsFile.read(dir.file("out/clips.jsonl")).rows.map(\.path), ["m/p2-1.mkv"])
    }

    /// A prompt suite that matches no clip would publish "0 clips from 0 models" with exit 0: refused with
    /// exit 2, naming the suite file and the two sets of ids, before scoring and before any report is rewritten.
    func testASuiteThatMatchesNoClipExitsTwoNamingTheSuite() throws {
        let dir = TempDir(), out = TempDir()
        for prompt in ["cat", "dog"] {
            try Clips.write(dir.file("clips/m/\(prompt)-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        }
        let suite = dir.file("other.yaml")
        try "suite: other\nprompts:\n  - {id: ship, text: a}\n  - {id: tree, text: b}\n".write(toFile: suite, atomically: true, encoding: .utf8)
        let expected = "gallop: \(suite): no clip's prompt id is in the suite, so every clip would be left out (clip prompts: cat, dog; suite ids: ship, tree)\n"
        let scored = try gallop(["score", dir.file("clips"), "--out", out.file("run"), "--metrics", "frame_diff", "--prompts", suite])
        XCTAssertEqual(scored.status, 2, scored.stderr)
        XCTAssertEqual(scored.stderr, expected)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("run/clips.jsonl")), "refused before any clip is scored")

        let plain = try gallop(["score", dir.file("clips"), "--out", out.file("run"), "--metrics", "frame_diff", "--quiet"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let card = try String(contentsOfFile: out.file("run/scorecard.md"), encoding: .utf8)
        let report = try gallop(["report", out.file("run"), "--prompts", suite, "--quiet"])
        XCTAssertEqual(report.status, 2, report.stderr)
        XCTAssertEqual(report.stderr, expected)
        XCTAssertEqual(try String(contentsOfFile: out.file("run/scorecard.md"), encoding: .utf8), card, "the reports are not replaced by empty ones")

        // merge and check refuse it too, before writing anything.
        let merged = try gallop(["merge", out.file("run"), "--out", out.file("merged"), "--prompts", suite, "--quiet"])
        XCTAssertEqual(merged.status, 2, merged.stderr)
        XCTAssertEqual(merged.stderr, expected)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.file("merged")), "nothing written")
        let checked = try gallop(["check", out.file("run"), "--baseline", out.file("run"), "--prompts", suite])
        XCTAssertEqual(checked.status, 2, checked.stderr)
        XCTAssertTrue(checked.stderr.contains(String(expected.dropFirst("gallop: ".count).dropLast())), checked.stderr)

        // One clip in the suite is enough: the others are listed as off-suite, as before.
        try "suite: some\nprompts:\n  - {id: cat, text: a}\n".write(toFile: suite, atomically: true, encoding: .utf8)
        XCTAssertEqual(try gallop(["report", out.file("run"), "--prompts", suite, "--quiet"]).status, 0)
    }

    /// `gallop agree` on votes and results with no model in common: exit 2 naming both inputs and their models.
    func testAgreeWithNoModelInCommonExitsTwo() throws {
        let dir = TempDir()
        try Clips.write(dir.file("clips/m/cat-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        try Clips.write(dir.file("clips/n/cat-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double(2 * $0)) })
        XCTAssertEqual(try gallop(["score", dir.file("clips"), "--out", dir.file("out"), "--metrics", "frame_diff", "--quiet"]).status, 0)
        try "model_a,model_b,winner\nx,y,model_a\ny,z,tie\n".write(toFile: dir.file("votes.csv"), atomically: true, encoding: .utf8)
        let r = try gallop(["agree", dir.file("votes.csv"), dir.file("out"), "--out", dir.file("agree")])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stderr, "gallop: \(dir.file("votes.csv")) and \(dir.file("out")) have no model in common, so no metric can be compared with the votes (votes: x, y, z; results: m, n)\n")
        XCTAssertEqual(r.stdout, "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("agree/agree.md")))
        // One model in common is an agreement (with the others named): exit 0.
        try "model_a,model_b,winner\nm,y,model_a\ny,z,tie\n".write(toFile: dir.file("votes.csv"), atomically: true, encoding: .utf8)
        let one = try gallop(["agree", dir.file("votes.csv"), dir.file("out"), "--bootstrap", "100"])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("in the votes, not in the results: y, z"), one.stdout)
    }

    func testShardsMergedEqualASingleRun() throws {
        let dir = TempDir(), out = TempDir()
        for p in 0..<10 {
            try Clips.write(dir.file("m\(p % 2)/p\(p)-1.mkv"), (0..<6).map { Planes.texture(64, 48, dx: Double($0 * (p % 3))) })
        }
        let args = ["score", dir.path, "--quiet", "--metrics", "frame_diff,sharpness"]
        XCTAssertEqual(try gallop(args + ["--out", out.file("whole")]).status, 0)
        var counts: [Int] = []
        for i in 0..<3 {
            let r = try gallop(args + ["--out", out.file("shard\(i)"), "--shard", "\(i)/3"])
            XCTAssertEqual(r.status, 0, r.stderr)
            counts.append(try rows(out.file("shard\(i)/clips.jsonl")).count)
        }
        XCTAssertEqual(counts.reduce(0, +), 10, "every clip in exactly one shard: \(counts)")
        XCTAssertTrue(counts.allSatisfy { $0 >= 2 }, "shards are balanced: \(counts)")
        let merged = try gallop(["merge", out.file("shard0"), out.file("shard1"), out.file("shard2"), "--out", out.file("merged"), "--quiet"])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertEqual(try rows(out.file("merged/clips.jsonl")), try rows(out.file("whole/clips.jsonl")))
        XCTAssertEqual(try String(contentsOfFile: out.file("merged/clips.csv"), encoding: .utf8),
                       try String(contentsOfFile: out.file("whole/clips.csv"), encoding: .utf8))
        // A shard of another config is refused.
        XCTAssertEqual(try gallop(args + ["--out", out.file("other"), "--shard", "0/3", "--every", "2"]).status, 0)
        let mixed = try gallop(["merge", out.file("whole"), out.file("other"), "--out", out.file("mixed"), "--quiet"])
        XCTAssertEqual(mixed.status, 2)
        XCTAssertTrue(mixed.stderr.contains("the inputs come from 2 different configs, and rows of different configs are never merged nor averaged together"), mixed.stderr)
        // Each config names its inputs, and the way out is one merge has (it has no --fingerprint).
        XCTAssertTrue(mixed.stderr.contains(" rows in \(out.file("whole/clips.jsonl"))\n"), mixed.stderr)
        XCTAssertTrue(mixed.stderr.contains(" rows in \(out.file("other/clips.jsonl")); differs in "), mixed.stderr)
        XCTAssertTrue(mixed.stderr.contains("merge only the inputs of one config, or score the others again with the same config and flags"), mixed.stderr)
        XCTAssertFalse(mixed.stderr.contains("choose one with --fingerprint"), mixed.stderr)
        XCTAssertFalse(try gallop(["merge", "--help"]).stdout.contains("--fingerprint"), "merge has no --fingerprint to suggest")
        XCTAssertEqual(try gallop(args + ["--out", out.file("x"), "--shard", "3/3"]).status, 64)
    }

    // Issue 22: a folder given by a relative path, with a relative link back to it, scored each clip 41 times (the
    // system's link limit); a clip linked in under a second name twice. Each file is scored once, the others named.
    func testALinkLoopAndAClipLinkedTwiceAreScoredOnce() throws {
        let dir = TempDir()
        for p in 0..<2 {
            try Clips.write(dir.file("clips/m/p\(p)-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0 * p)) })
        }
        try FileManager.default.createSymbolicLink(atPath: dir.file("clips/m/back"), withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: dir.file("clips/m/p9-1.mkv"), withDestinationPath: "p0-1.mkv")
        let r = try gallop(["score", "clips", "--out", "out", "--quiet", "--metrics", "frame_diff"], in: dir.path)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try rows(dir.file("out/clips.jsonl")).count, 2)
        XCTAssertTrue(r.stderr.contains("gallop: clips/m/back is the folder clips, already searched: not searched again\n"), r.stderr)
        XCTAssertTrue(r.stderr.contains("gallop: clips/m/p9-1.mkv is the same file as clips/m/p0-1.mkv: scored once, as m/p0-1.mkv\n"), r.stderr)
        XCTAssertTrue(r.stderr.contains("gallop: scored 2 of 2 clips"), r.stderr)
    }

    // Issue 22: a dangling link and a clip whose name is not UTF-8 were left out ("scored 1 of 1", exit 0). They are
    // error rows naming the file and the cause, counted in the scorecard; the rows read back, and a resumed run
    // makes them again without a duplicate.
    func testDanglingLinksAndNamesNotUTF8AreErrorRows() throws {
        let dir = TempDir()
        try Clips.write(dir.file("m/good-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        try Clips.write(dir.file("made.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        let latin1 = Array(dir.file("m/caf").utf8) + [0xE9] + Array("-3.mkv".utf8)
        XCTAssertEqual(RawNames.rename(dir.file("made.mkv"), to: latin1), 0)
        defer { RawNames.remove([latin1]) }
        try FileManager.default.createSymbolicLink(atPath: dir.file("m/gone-2.mp4"), withDestinationPath: "renamed-2.mp4")
        let args = ["score", dir.file("m"), "--model", "m", "--jobs", "1", "--metrics", "frame_diff"]
        let r = try gallop(args + ["--out", dir.file("out")])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("gallop: error: \(dir.file("m/gone-2.mp4")): dangling symbolic link to renamed-2.mp4\n"), r.stderr)
        XCTAssertTrue(r.stderr.contains("gallop: error: \(dir.file("m/caf"))\\xE9-3.mkv: the file name is not valid UTF-8 (each byte that is not is shown here as \\xNN); rename it to score it\n"), r.stderr)
        XCTAssertTrue(r.stderr.contains("gallop: scored 1 of 3 clips"), r.stderr)
        XCTAssertTrue(r.stdout.contains("| m | 3 | 2 |"), r.stdout)
        let read = try ResultsFile.read(dir.file("out/clips.jsonl"))
        XCTAssertEqual(read.problems, [])
        XCTAssertEqual(read.rows.map(\.path).sorted(), ["caf\\xE9-3.mkv", "gone-2.mp4", "good-1.mkv"])
        let bad = try XCTUnwrap(read.rows.first { $0.path == "caf\\xE9-3.mkv" })
        XCTAssertEqual(bad.status, .error)
        XCTAssertEqual(bad.name, ClipName(model: "m", prompt: "caf\\xE9", seed: 3))
        let again = try gallop(args + ["--out", dir.file("out")])
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertTrue(again.stderr.contains("gallop: resuming: 1 of 1 clips already scored"), again.stderr)
        XCTAssertEqual(try ResultsFile.read(dir.file("out/clips.jsonl")).rows.count, 3)
    }

    // Issue 22: a FIFO named like a clip hung the run forever (its open waits for a writer), past --clip-timeout.
    // Discovery never opens it: a FIFO or a device is an error row naming what it is, and the other clips are scored.
    /// A clip whose own reference (same relative path) is a FIFO is an error row naming it, never paired with another
    /// model's clip of the same prompt and seed; a FIFO given as --reference is "not a folder".
    func testAReferenceThatIsAFIFOIsAnErrorRowNotAnotherClip() throws {
        let dir = TempDir()
        let frames = (0..<4).map { Planes.texture(48, 32, dx: Double($0)) }
        try Clips.write(dir.file("clips/m/cat-1.mkv"), frames)
        try Clips.write(dir.file("ref/n/cat-1.mkv"), frames)
        XCTAssertEqual(mkfifo(dir.file("ref/m/cat-1.mkv"), 0o644), 0)
        let r = try gallop(["score", dir.file("clips"), "--reference", dir.file("ref"), "--out", dir.file("out"), "--metrics", "psnr", "--quiet"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let row = try XCTUnwrap(ResultsFile.read(dir.file("out/clips.jsonl")).rows.first)
        XCTAssertEqual(row.status, .error)
        XCTAssertEqual(row.error, "\(dir.file("clips/m/cat-1.mkv")): its reference \(dir.file("ref"))/m/cat-1.mkv cannot be read: not a regular file (a FIFO)")
        XCTAssertEqual(mkfifo(dir.file("refpipe"), 0o644), 0)
        let pipe = try gallop(["score", dir.file("clips"), "--reference", dir.file("refpipe"), "--out", dir.file("out2"), "--metrics", "psnr"])
        XCTAssertEqual(pipe.status, 64, pipe.stderr)
        XCTAssertTrue(pipe.stderr.contains("--reference \(dir.file("refpipe")): not a folder"), pipe.stderr)
    }

    func testAFIFOOrDeviceNamedLikeAClipIsAnErrorRowAndTheRunEnds() throws {
        let dir = TempDir()
        try Clips.write(dir.file("m/good-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        XCTAssertEqual(mkfifo(dir.file("m/pipe-2.mp4"), 0o644), 0)
        try FileManager.default.createSymbolicLink(atPath: dir.file("m/null-3.mp4"), withDestinationPath: "/dev/null")
        // Output to files, not pipes: a worker stuck in the FIFO's open would hold a pipe open.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = ["score", dir.path, "--out", dir.file("out"), "--quiet", "--metrics", "frame_diff"]
        FileManager.default.createFile(atPath: dir.file("stderr"), contents: nil)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: dir.file("stderr"))
        let start = Date()
        try p.run()
        while p.isRunning, Date().timeIntervalSince(start) < 60 { usleep(20_000) }
        let finished = !p.isRunning
        if !finished {
            kill(p.processIdentifier, SIGKILL)
            // Let a process blocked in the FIFO's open go.
            let fd = open(dir.file("m/pipe-2.mp4"), O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        p.waitUntilExit()
        XCTAssertTrue(finished, "the run did not end within 60 s")
        let stderr = try String(contentsOfFile: dir.file("stderr"), encoding: .utf8)
        XCTAssertEqual(p.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains("gallop: error: \(dir.file("m/pipe-2.mp4")): not a regular file (a FIFO)\n"), stderr)
        XCTAssertTrue(stderr.contains("gallop: error: \(dir.file("m/null-3.mp4")): not a regular file (a character device)\n"), stderr)
        XCTAssertTrue(stderr.contains("gallop: scored 1 of 3 clips"), stderr)
        let rows = try ResultsFile.read(dir.file("out/clips.jsonl")).rows
        XCTAssertEqual(rows.map(\.path).sorted(), ["m/good-1.mkv", "m/null-3.mp4", "m/pipe-2.mp4"])
        XCTAssertEqual(rows.first { $0.path == "m/good-1.mkv" }?.status, .ok)
    }

    // Worker processes (issue 15): a worker killed mid-clip is replaced and its clip scored again; the rows equal an
    // undisturbed run's, in worker processes or threads, with 1 or 2 jobs.
    func testAWorkerKilledMidClipLeavesTheRowsOfAnUndisturbedRun() throws {
        let dir = TempDir(), out = TempDir()
        for p in 0..<6 {
            try Clips.write(dir.file("m\(p % 2)/p\(p)-1.mkv"), (0..<12).map { Planes.texture(80, 64, dx: Double($0 * (p % 3))) })
        }
        let args = ["score", dir.path, "--quiet", "--metrics", "frame_diff,freeze_ratio,motion_magnitude,warping_error,sharpness"]
        XCTAssertEqual(try gallop(args + ["--out", out.file("threads"), "--in-process", "--jobs", "1"]).status, 0)
        let undisturbed = try rows(out.file("threads/clips.jsonl"))
        XCTAssertEqual(undisturbed.count, 6)
        let two = try gallop(args + ["--out", out.file("workers2"), "--jobs", "2"])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertEqual(try rows(out.file("workers2/clips.jsonl")), undisturbed, "worker processes write the rows of threads")

        // The worker that takes m1/p3-1.mkv stalls there (once) and writes its pid; the test kills it with SIGKILL.
        let marker = out.file("stalled.pid")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = args + ["--out", out.file("killed"), "--jobs", "1", "--worker-executable", CLITests.testWorker]
        p.environment = ProcessInfo.processInfo.environment.merging(["GALLOP_TEST_STALL": "m1/p3-1.mkv:" + marker]) { $1 }
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        var pid: pid_t?
        for _ in 0..<3000 where pid == nil {
            pid = (try? String(contentsOfFile: marker, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if pid == nil { usleep(10_000) }
        }
        let worker = try XCTUnwrap(pid, "the worker never reached the stalling clip")
        XCTAssertNotEqual(worker, p.processIdentifier, "the clip is scored in a child process")
        XCTAssertEqual(kill(worker, SIGKILL), 0)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("the worker scoring \(dir.file("m1/p3-1.mkv")) was killed by signal 9 (SIGKILL"), stderr)
        XCTAssertTrue(stderr.contains("trying the clip once more in a fresh worker"), stderr)
        XCTAssertEqual(try rows(out.file("killed/clips.jsonl")), undisturbed)
    }

    // A clip whose worker dies or hangs twice is an error row naming the signal or the timeout; the run goes on.
    func testAClipThatKillsOrHangsItsWorkerTwiceIsAnErrorRow() throws {
        let dir = TempDir()
        for p in 0..<3 {
            try Clips.write(dir.file("m/p\(p)-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0 * p)) })
        }
        // A one-letter relative --out (Foundation 6.3 traps on its parent path).
        let crash = try gallop(["score", dir.path, "--out", "o", "--quiet", "--metrics", "frame_diff", "--worker-executable", CLITests.testWorker],
                               environment: ["GALLOP_TEST_CRASH": "m/p1-1.mkv"], in: dir.path)
        XCTAssertEqual(crash.status, 1, crash.stderr)
        let crashed = try String(contentsOfFile: dir.file("o/clips.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(crashed.count, 3)
        XCTAssertEqual(crashed.filter { $0.contains("\"status\":\"ok\"") }.count, 2)
        XCTAssertTrue(crash.stderr.contains("gallop: error: \(dir.file("m/p1-1.mkv")): the worker scoring it was killed by signal 9 (SIGKILL: out of memory, or killed from outside), twice"), crash.stderr)

        let hang = try gallop(["score", dir.path, "--out", dir.file("hang"), "--quiet", "--metrics", "frame_diff", "--clip-timeout", "1",
                               "--worker-executable", CLITests.testWorker],
                              environment: ["GALLOP_TEST_STALL": "m/p2-1.mkv"])
        XCTAssertEqual(hang.status, 1, hang.stderr)
        XCTAssertTrue(hang.stderr.contains("the worker scoring \(dir.file("m/p2-1.mkv")) went 1 s without scoring a frame (the clip timeout); trying the clip once more"), hang.stderr)
        let row = try XCTUnwrap(String(contentsOfFile: dir.file("hang/clips.jsonl"), encoding: .utf8).split(separator: "\n").first { $0.contains("p2-1.mkv") })
        XCTAssertTrue(row.contains("\"error\":\"\(dir.file("m/p2-1.mkv")): the worker scoring it went 1 s without scoring a frame (the clip timeout), twice\""), String(row))
        // A slow clip that keeps scoring frames (10 × 0.2 s) is not a hang: it outlasts the timeout and is scored.
        try Clips.write(dir.file("slow/m/long-1.mkv"), (0..<10).map { Planes.texture(48, 32, dx: Double($0)) })
        let slow = try gallop(["score", dir.file("slow"), "--out", dir.file("slow-out"), "--quiet", "--metrics", "frame_diff", "--clip-timeout", "1",
                               "--worker-executable", CLITests.testWorker],
                              environment: ["GALLOP_TEST_SLOW": "m/long-1.mkv"])
        XCTAssertEqual(slow.status, 0, slow.stderr)
        XCTAssertFalse(slow.stderr.contains("clip timeout"), slow.stderr)
        XCTAssertEqual(try gallop(["score", dir.path, "--clip-timeout", "-1"]).status, 64)
        XCTAssertEqual(try gallop(["score", dir.path, "--clip-timeout", "0.5"]).status, 64)
        // The safe limits are options, read by the workers too.
        let limited = try gallop(["score", dir.path, "--out", dir.file("limited"), "--quiet", "--metrics", "frame_diff", "--limit-frames", "3"])
        XCTAssertEqual(limited.status, 1, limited.stderr)
        XCTAssertTrue(limited.stderr.contains("\(dir.file("m/p0-1.mkv")): more than 3 frames, the limit a clip"), limited.stderr)
    }

    // Issue 23, item 3: test hooks are out of the product. The `gallop` binary reads no GALLOP_TEST_* variable: its
    // bytes hold no such name, and a run with them set scores every clip. The binary checked is the one built for
    // these tests (debug), from the same sources as the release binary; `.build/release/gallop` is checked too when
    // it has been built. A name is found only when the binary holds its bytes whole: Swift keeps a string literal of
    // 16 bytes or more that way (every GALLOP_TEST_ name: the test worker's bytes hold them, checked here), a shorter
    // one inside instructions. The user README names none of them.
    func testTheGallopBinaryHoldsNoTestHook() throws {
        let needle = Data("GALLOP_TEST_".utf8)
        var binaries = [CLITests.binary]
        let release = CLITests.root + "/.build/release/gallop"
        if FileManager.default.isExecutableFile(atPath: release) { binaries.append(release) }
        for binary in binaries {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: binary), options: .alwaysMapped)
            XCTAssertGreaterThan(bytes.count, 1_000_000, binary)
            XCTAssertNil(bytes.range(of: needle), "\(binary) holds a GALLOP_TEST_ name: fault injection belongs to Tests/GallopTestWorker")
        }
        let worker = try Data(contentsOf: URL(fileURLWithPath: CLITests.testWorker), options: .alwaysMapped)
        for name in ["GALLOP_TEST_CRASH", "GALLOP_TEST_STALL", "GALLOP_TEST_SLOW"] {
            XCTAssertNotNil(worker.range(of: Data(name.utf8)), "the search finds \(name) in the test worker")
        }
        let readme = try String(contentsOfFile: CLITests.root + "/README.md", encoding: .utf8)
        XCTAssertFalse(readme.contains("GALLOP_TEST_"), "the user README names a test hook")
        XCTAssertFalse(try gallop(["score", "--help"]).stdout.contains("worker-executable"), "--worker-executable is hidden")

        // With every hook set, `gallop`'s own workers score every clip: no crash, no 1 s clip timeout met, no pause.
        let dir = TempDir()
        for p in 0..<3 {
            try Clips.write(dir.file("m/p\(p)-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0 * p)) })
        }
        let hooks = ["GALLOP_TEST_CRASH": "m/p0-1.mkv", "GALLOP_TEST_STALL": "m/p1-1.mkv", "GALLOP_TEST_SLOW": "m/p2-1.mkv"]
        let start = Date()
        let r = try gallop(["score", dir.path, "--out", dir.file("out"), "--quiet", "--metrics", "frame_diff", "--clip-timeout", "1", "--jobs", "1"],
                           environment: hooks)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ResultsFile.read(dir.file("out/clips.jsonl")).rows.map(\.status), [.ok, .ok, .ok], r.stderr)
        XCTAssertFalse(r.stderr.contains("worker"), r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }

    /// Whether process `pid` is still running (a zombie, dead but not reaped, is not).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    // Issue 22, item 6: SIGTERM or SIGINT to the parent kills its workers (none is left stalled for a parent that is
    // gone) and exits with 128 + the signal; the rows written before are kept, and the same command resumes from them.
    // After a SIGKILL of the parent no worker is left either.
    func testAParentStoppedBySIGTERMOrSIGINTLeavesNoWorkerAlive() throws {
        let dir = TempDir(), out = TempDir()
        for p in 0..<3 {
            try Clips.write(dir.file("m/p\(p)-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0 * p)) })
        }
        // SIGKILL cannot be handled: there the kernel ends the workers (PR_SET_PDEATHSIG).
        for (signal, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGKILL, "SIGKILL")] {
            let marker = out.file("\(name).pid")
            // Started with posix_spawn and waited for with waitpid, standard error to a file: Foundation's Process
            // on Linux can wait for a worker left alive as well as for the parent, and the test would hang with it.
            let errFile = out.file("\(name).stderr")
            let arguments = [CLITests.binary, "score", dir.path, "--out", out.file(name), "--jobs", "1", "--quiet", "--metrics", "frame_diff",
                             "--worker-executable", CLITests.testWorker]
            var environment = ProcessInfo.processInfo.environment
            environment["GALLOP_TEST_STALL"] = "m/p1-1.mkv:" + marker
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, errFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for a in argv + envp { free(a) } }
            var parent: pid_t = 0
            XCTAssertEqual(posix_spawn(&parent, CLITests.binary, &actions, nil, &argv, &envp), 0)
            var pid: pid_t?
            for _ in 0..<3000 where pid == nil {
                pid = (try? String(contentsOfFile: marker, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                if pid == nil { usleep(10_000) }
            }
            let worker = try XCTUnwrap(pid, "the worker never reached the stalling clip")
            defer { kill(worker, SIGKILL) }
            XCTAssertTrue(CLITests.isAlive(worker))
            // The stalled test worker runs the real `gallop` worker as its child: that one must end too.
            let children = (try? String(contentsOfFile: "/proc/\(worker)/task/\(worker)/children", encoding: .utf8)) ?? ""
            let real = children.split(separator: " ").compactMap { pid_t($0) }
            XCTAssertEqual(real.count, 1, "the test worker's children: \(children)")
            defer { for pid in real { kill(pid, SIGKILL) } }
            XCTAssertEqual(kill(parent, signal), 0)
            var status: Int32 = 0
            var ended = false
            for _ in 0..<3000 where !ended {
                ended = waitpid(parent, &status, WNOHANG) == parent
                if !ended { usleep(10_000) }
            }
            XCTAssertTrue(ended, "the parent did not end within 30 s of \(name)")
            let stderr = try String(contentsOfFile: errFile, encoding: .utf8)
            if signal == SIGKILL {
                XCTAssertEqual(status & 0x7f, SIGKILL)
            } else {
                XCTAssertEqual(status & 0x7f, 0, "the parent exits, it is not ended by the signal: \(stderr)")
                XCTAssertEqual((status >> 8) & 0xff, 128 + signal, stderr)
                XCTAssertTrue(stderr.contains("gallop: stopped by \(name); its worker processes were killed"), stderr)
            }
            for _ in 0..<200 where CLITests.isAlive(worker) { usleep(10_000) }
            XCTAssertFalse(CLITests.isAlive(worker), "worker \(worker) outlived its parent stopped by \(name)")
            for pid in real {
                for _ in 0..<200 where CLITests.isAlive(pid) { usleep(10_000) }
                XCTAssertFalse(CLITests.isAlive(pid), "the real worker \(pid) outlived its parent stopped by \(name)")
            }
            XCTAssertEqual(try rows(out.file("\(name)/clips.jsonl")).count, 1, "the row scored before the stall is kept")
        }
    }

    // Issue 22, item 7: results that cannot be written (a full disk: clips.jsonl is /dev/full here) stop the run with
    // exit 2 and a sentence naming the file and the cause, not exit 1 as if a clip had failed.
    func testResultsThatCannotBeWrittenExitTwoNamingTheFileAndTheCause() throws {
        let dir = TempDir(), out = TempDir()
        for p in 0..<3 {
            try Clips.write(dir.file("m/p\(p)-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0 * p)) })
        }
        try FileManager.default.createSymbolicLink(atPath: out.file("clips.jsonl"), withDestinationPath: "/dev/full")
        for mode in [["--jobs", "2"], ["--in-process", "--jobs", "1"]] {
            let r = try gallop(["score", dir.path, "--out", out.path, "--metrics", "frame_diff", "--force"] + mode)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("gallop: \(out.file("clips.jsonl")): cannot write results: no space left on device (the 0 rows before it are kept whole; the same command resumes from them)\n"), r.stderr)
            XCTAssertFalse(r.stderr.contains("gallop: scored"), r.stderr)
            XCTAssertTrue(r.stdout.isEmpty, "no scorecard: \(r.stdout)")
        }
        // The run stops at once: a clip in progress in another worker (stalled here) is not waited for.
        let start = Date()
        let r = try gallop(["score", dir.path, "--out", out.path, "--metrics", "frame_diff", "--force", "--jobs", "2", "--clip-timeout", "30",
                            "--worker-executable", CLITests.testWorker],
                           environment: ["GALLOP_TEST_STALL": "m/p1-1.mkv"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot write results: no space left on device"), r.stderr)
        XCTAssertFalse(r.stderr.contains("p1-1.mkv"), "the stopped clip is neither retried nor reported: \(r.stderr)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "the stalled clip was waited for (two clip timeouts of 30 s)")
    }

    /// report.html beside scorecard.md: thumbnails from the folder recorded at scoring time; clips that moved
    /// are named (exit 0) until `--clips` says where they are; merge keeps the folder its shards agree on.
    func testReportHTMLFindsMovedClipsWithClipsOption() throws {
        let base = TempDir(), out = TempDir()
        let dir = base.file("clips")
        for p in 0..<3 {
            try Clips.write(base.file("clips/m/p\(p)-1.mkv"), (0..<8).map { Planes.texture(64, 48, dx: Double($0 * (p + 1)), seed: Double(p)) })
        }
        let metrics = ["--metrics", "flicker_index,freeze_ratio,scene_cuts,sharpness"]
        let scored = try gallop(["score", dir, "--out", out.path, "--quiet"] + metrics)
        XCTAssertEqual(scored.status, 0, scored.stderr)
        XCTAssertTrue(scored.stdout.isEmpty)
        let source = try JSONParser.parse(String(contentsOfFile: out.file("source.json"), encoding: .utf8))
        XCTAssertEqual(source["clips"]?.stringValue, dir)
        let html = try String(contentsOfFile: out.file("report.html"), encoding: .utf8)
        let jpegs = html.components(separatedBy: "src=\"data:image/jpeg;base64,/9j/").count - 1
        XCTAssertGreaterThanOrEqual(jpegs, 2, "flicker pair and blurriest frame at least")

        // Moved: named, not fatal (without the frames kept while scoring, which would show them all).
        try FileManager.default.removeItem(atPath: out.file("thumbnails.jsonl"))
        try FileManager.default.moveItem(atPath: dir, toPath: base.file("moved"))
        let gone = try gallop(["report", out.path, "--quiet"])
        XCTAssertEqual(gone.status, 0, gone.stderr)
        let named = try String(contentsOfFile: out.file("report.html"), encoding: .utf8)
        XCTAssertFalse(named.contains("data:image/jpeg"))
        XCTAssertTrue(named.contains(": the clip is gone (no file \(dir)/m/p"), "the gone clips are named")
        let found = try gallop(["report", out.path, "--quiet", "--clips", base.file("moved")])
        XCTAssertEqual(found.status, 0, found.stderr)
        XCTAssertEqual(try String(contentsOfFile: out.file("report.html"), encoding: .utf8).components(separatedBy: "src=\"data:image/jpeg;base64,/9j/").count - 1, jpegs)
        let bad = try gallop(["report", out.path, "--clips", base.file("nowhere")])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("Error: --clips \(base.file("nowhere")): no such folder."), bad.stderr)

        // Merge: shards scored from one folder keep it; from two folders, --clips or a named problem.
        let moved = base.file("moved")
        XCTAssertEqual(try gallop(["score", moved, "--out", out.file("s0"), "--quiet", "--shard", "0/2"] + metrics).status, 0)
        XCTAssertEqual(try gallop(["score", moved, "--out", out.file("s1"), "--quiet", "--shard", "1/2"] + metrics).status, 0)
        XCTAssertEqual(try gallop(["merge", out.file("s0"), out.file("s1"), "--out", out.file("merged"), "--quiet"]).status, 0)
        XCTAssertEqual(try JSONParser.parse(String(contentsOfFile: out.file("merged/source.json"), encoding: .utf8))["clips"]?.stringValue, moved)
        XCTAssertTrue(try String(contentsOfFile: out.file("merged/report.html"), encoding: .utf8).contains("data:image/jpeg;base64,/9j/"))
        try ScoredFromFixture.rewrite(out.file("s1/source.json"), to: "/elsewhere")
        // Without the frames kept while scoring the merged report decodes them, and there is no one folder to decode from.
        for shard in ["s0", "s1"] { try FileManager.default.removeItem(atPath: out.file("\(shard)/thumbnails.jsonl")) }
        XCTAssertEqual(try gallop(["merge", out.file("s0"), out.file("s1"), "--out", out.file("merged2"), "--quiet"]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: out.file("merged2/report.html"), encoding: .utf8)
            .contains("the inputs were scored from different folders; give --clips DIR"))
    }
}

enum ScoredFromFixture {
    static func rewrite(_ path: String, to folder: String) throws {
        try (JSONValue.object([("clips", .string(folder))]).pretty() + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
