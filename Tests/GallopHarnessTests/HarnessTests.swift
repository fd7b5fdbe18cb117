import Foundation
import GallopCore
import GallopHarness
import GallopReport
import GallopTestSupport
import XCTest

final class NamingTests: XCTestCase {
    func testConvention() {
        XCTAssertEqual(ClipName.parse(relativePath: "wan/a-cat-42.mp4"), ClipName(model: "wan", prompt: "a-cat", seed: 42))
        XCTAssertEqual(ClipName.parse(relativePath: "wan/a-cat.mp4"), ClipName(model: "wan", prompt: "a-cat", seed: nil))
        XCTAssertEqual(ClipName.parse(relativePath: "wan/cat-v2.mp4"), ClipName(model: "wan", prompt: "cat-v2", seed: nil))
        XCTAssertEqual(ClipName.parse(relativePath: "wan/animals/cat-3.mkv"), ClipName(model: "wan", prompt: "animals/cat", seed: 3))
        XCTAssertEqual(ClipName.parse(relativePath: "cat-7.mp4"), ClipName(model: "default", prompt: "cat", seed: 7))
        XCTAssertEqual(ClipName.parse(relativePath: "cat-7.mp4", model: "veo"), ClipName(model: "veo", prompt: "cat", seed: 7))
        XCTAssertEqual(ClipName.parse(relativePath: "sora/-5.mp4"), ClipName(model: "sora", prompt: "-5", seed: nil))
        XCTAssertEqual(ClipName.parse(relativePath: "sora/2024.mp4"), ClipName(model: "sora", prompt: "2024", seed: nil))
    }

    func testDiscoveryIsRecursiveSortedAndSkipsOthers() throws {
        let dir = TempDir()
        for f in ["b/x.mp4", "a/y.MKV", "a/deep/z.webm", "a/notes.txt", ".hidden/h.mp4", "a/.h.mp4"] {
            FileManager.default.createFile(atPath: dir.file(f), contents: Data([1]))
        }
        XCTAssertEqual(try Discovery.clips(in: dir.path), ["a/deep/z.webm", "a/y.MKV", "b/x.mp4"])
        XCTAssertThrowsError(try Discovery.clips(in: dir.path + "/missing"))
    }
}

final class StatisticsTests: XCTestCase {
    func testStudentTQuantiles() {
        XCTAssertEqual(Statistics.tQuantile975(df: 1), 12.7062, accuracy: 1e-4)
        XCTAssertEqual(Statistics.tQuantile975(df: 10), 2.2281, accuracy: 1e-4)
        // Beyond the table: scipy.stats.t.ppf(0.975, df).
        XCTAssertEqual(Statistics.tQuantile975(df: 31), 2.0395, accuracy: 1e-4)
        XCTAssertEqual(Statistics.tQuantile975(df: 60), 2.0003, accuracy: 1e-4)
        XCTAssertEqual(Statistics.tQuantile975(df: 1000), 1.9623, accuracy: 1e-4)
    }

    func testSummary() {
        let s = Summary([1, 2, 3, 4])
        XCTAssertEqual(s.mean, 2.5)
        XCTAssertEqual(s.sd, (5.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.ci95!, 3.1824 * (5.0 / 3).squareRoot() / 2, accuracy: 1e-4)
        XCTAssertNil(Summary([7]).ci95)
    }
}

final class ResultsTests: XCTestCase {
    func testNonFiniteIsNullAndRowsRoundTrip() throws {
        var row = ClipResult(path: "m/p-1.mp4", name: ClipName(model: "m", prompt: "p", seed: 1), status: .ok)
        row.metrics = [("psnr_like", .infinity), ("frame_diff", 1.25), ("x", nil)]
        row.extras = [("scene_cuts", .object([("frames", .array([.int(3)]))]))]
        row.warnings = ["a \"quoted\" warning\n"]
        let text = row.json.serialized()
        XCTAssertTrue(text.contains("\"psnr_like\":null"))
        XCTAssertTrue(text.hasPrefix("{\"schema_version\":1,"))
        let back = try ClipResult(json: JSONParser.parse(text))
        XCTAssertEqual(back.path, row.path)
        XCTAssertEqual(back.name, row.name)
        XCTAssertEqual(back.value("frame_diff"), 1.25)
        XCTAssertNil(back.value("psnr_like"))
        XCTAssertEqual(back.warnings, row.warnings)
    }

    func testNewerSchemaIsRefused() {
        XCTAssertThrowsError(try ClipResult(json: JSONParser.parse(#"{"schema_version":99,"path":"a","status":"ok"}"#)))
    }
}

/// A whole run over clips made by the writer, good and bad together.
final class RunTests: XCTestCase {
    func makeSet(_ dir: TempDir) throws {
        for seed in 1...2 {
            try Clips.write(dir.file("clean/scene-\(seed).mkv"), (0..<12).map { Planes.texture(64, 48, dx: Double($0 * seed)) })
            try Clips.write(dir.file("stutter/scene-\(seed).mp4"), (0..<12).map { Planes.texture(64, 48, dx: Double(($0 / 2) * 2 * seed)) }, codec: .h264(crf: 20))
        }
        FileManager.default.createFile(atPath: dir.file("broken/zero-1.mp4"), contents: Data())
        FileManager.default.createFile(atPath: dir.file("broken/text-2.mp4"), contents: Data("not a video".utf8))
        Clips.writeWAV(dir.file("broken/audio-3.mkv"))
        try Clips.write(dir.file("broken/truncated-4.mkv"), (0..<24).map { Planes.texture(64, 48, dx: Double($0)) })
        let t = dir.file("broken/truncated-4.mkv")
        let size = try FileManager.default.attributesOfItem(atPath: t)[.size] as! Int
        Clips.truncate(t, to: size / 2)
    }

    func runAll(_ root: String, jobs: Int, out: String) throws -> [ClipResult] {
        let clips = try Discovery.clips(in: root).map {
            Runner.Clip(path: root + "/" + $0, relativePath: $0, name: ClipName.parse(relativePath: $0))
        }
        let file = try ResultsFile(path: out)
        let rows = try Runner(scorer: Scorer(config: RunConfig(metrics: [])), jobs: jobs).run(clips) { row, _ in try file.append(row) }
        file.close()
        return rows
    }

    func testBadClipsAreErrorRowsAndGoodClipsAreScored() throws {
        let dir = TempDir(), out = TempDir()
        try makeSet(dir)
        let rows = try runAll(dir.path, jobs: 2, out: out.file("clips.jsonl"))
        XCTAssertEqual(rows.count, 8)
        let byPath = Dictionary(uniqueKeysWithValues: rows.map { ($0.path, $0) })
        for bad in ["broken/zero-1.mp4", "broken/text-2.mp4", "broken/audio-3.mkv"] {
            let row = byPath[bad]!
            XCTAssertEqual(row.status, .error, bad)
            XCTAssertTrue(row.error!.contains(bad), row.error!)
        }
        XCTAssertTrue(byPath["broken/zero-1.mp4"]!.error!.contains("empty"))
        XCTAssertTrue(byPath["broken/audio-3.mkv"]!.error!.contains("no video stream"))
        let truncated = byPath["broken/truncated-4.mkv"]!
        XCTAssertEqual(truncated.status, .ok)
        XCTAssertFalse(truncated.warnings.isEmpty)
        for good in ["clean/scene-1.mkv", "clean/scene-2.mkv", "stutter/scene-1.mp4", "stutter/scene-2.mp4"] {
            XCTAssertEqual(byPath[good]!.status, .ok, good)
            XCTAssertEqual(byPath[good]!.frames, 12)
        }
        XCTAssertEqual(byPath["clean/scene-1.mkv"]!.value("freeze_ratio"), 0)
        XCTAssertGreaterThanOrEqual(byPath["stutter/scene-1.mp4"]!.value("freeze_ratio")!, 5.0 / 12)

        // Every row reached the file, and reads back.
        let fromFile = try ResultsFile.read(out.file("clips.jsonl"))
        XCTAssertEqual(Set(fromFile.map(\.path)), Set(rows.map(\.path)))

        let card = Scorecard.markdown(rows: fromFile)
        XCTAssertTrue(card.contains("| clean | 2 | 0 |"), card)
        XCTAssertTrue(card.contains("| broken | 4 | 3 |"), card)
        XCTAssertTrue(card.contains("flicker_index ↓"))
        XCTAssertTrue(card.contains("## Failed clips"))
    }

    func testRowsDoNotDependOnJobs() throws {
        let dir = TempDir(), out = TempDir()
        try makeSet(dir)
        let one = try runAll(dir.path, jobs: 1, out: out.file("1.jsonl")).map { $0.json.serialized() }
        let three = try runAll(dir.path, jobs: 3, out: out.file("3.jsonl")).map { $0.json.serialized() }
        XCTAssertEqual(one, three)
        XCTAssertEqual(Scorecard.markdown(rows: try ResultsFile.read(out.file("1.jsonl"))),
                       Scorecard.markdown(rows: try ResultsFile.read(out.file("3.jsonl"))))
    }

    func testFingerprintFollowsSettings() throws {
        let a = try Scorer(config: RunConfig(metrics: [])).config
        let b = try Scorer(config: RunConfig(metrics: [], maxSide: 256)).config
        let c = try Scorer(config: RunConfig(metrics: ["sharpness"])).config
        XCTAssertNotEqual(a.fingerprint, b.fingerprint)
        XCTAssertNotEqual(a.fingerprint, c.fingerprint)
        XCTAssertEqual(a.fingerprint, try Scorer(config: RunConfig(metrics: [])).config.fingerprint)
        XCTAssertEqual(a.fingerprint.count, 16)
    }

    func testSyntheticDemoDefectsAreVisible() throws {
        let dir = TempDir()
        var values: [SyntheticScene.Defect: ClipResult] = [:]
        let scorer = try Scorer(config: RunConfig(metrics: []))
        for defect in SyntheticScene.Defect.allCases {
            let path = dir.file("\(defect.rawValue).mp4")
            try SyntheticScene(seed: 3, width: 96, height: 64).write(to: path, frames: 16, defect: defect)
            values[defect] = scorer.score(path: path, relativePath: "\(defect.rawValue).mp4", name: ClipName(model: defect.rawValue, prompt: "p", seed: nil))
        }
        let clean = values[.none]!
        XCTAssertGreaterThan(values[.flicker]!.value("flicker_index")!, 3 * clean.value("flicker_index")!)
        XCTAssertGreaterThan(values[.stutter]!.value("freeze_ratio")!, 0.3)
        XCTAssertLessThan(values[.blur]!.value("sharpness")!, 0.5 * clean.value("sharpness")!)
        XCTAssertEqual(clean.value("scene_cuts"), 0)
    }
}
