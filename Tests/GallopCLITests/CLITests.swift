import Foundation
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

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    func gallop(_ args: [String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = args
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
        for word in ["score", "report", "synth", "metrics", "Exit status: 0 when every clip was scored, 1 when some clip failed"] {
            XCTAssertTrue(r.stdout.contains(word), "help lacks \(word):\n\(r.stdout)")
        }
        let score = try gallop(["score", "--help"])
        for option in ["--out", "--metrics", "--jobs", "--model", "--max-side", "--every", "--max-frames", "--threads"] {
            XCTAssertTrue(score.stdout.contains(option), "score help lacks \(option)")
        }
        XCTAssertTrue(score.stdout.contains("DIR/<model>/<prompt-id>[-<seed>].<ext>"))
    }

    func testUsageErrorsAreClear() throws {
        let bad = try gallop(["score", "/tmp", "--every", "0"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("Error: --every must be at least 1."), bad.stderr)
        let unknown = try gallop(["score", "/tmp", "--metrics", "sharpness,psnr_bogus"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.stderr.contains("unknown metric 'psnr_bogus'; known metrics: temporal_flickering, flicker_index"), unknown.stderr)
    }

    func testMissingFolderIsFatal() throws {
        let r = try gallop(["score", "/nonexistent/clips", "--out", TempDir().path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("/nonexistent/clips: no such file or folder"), r.stderr)
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

    func testMetricsListsEveryMetricWithDirection() throws {
        let r = try gallop(["metrics"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("flicker_index"))
        XCTAssertTrue(r.stdout.contains("temporal_flickering  higher"), r.stdout)
    }
}
