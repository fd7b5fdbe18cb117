import CSV
import Foundation
import GallopConfig
import GallopCore
@testable import GallopReport
import GallopResults
import XCTest

/// A fixed set of rows: three models on a five-prompt suite, two seeds each,
/// one failed clip, one warned clip, one clip off the suite, one prompt missing.
enum Fixture {
    static let suite = PromptSuite(name: "fixture", version: 1, prompts: [
        .init(id: "still-lake", text: "A lake, static camera.", tags: ["static", "fluids"], camera: "static"),
        .init(id: "still-room", text: "A room, static camera.", tags: ["static", "indoor"], camera: "static"),
        .init(id: "still-river", text: "A river, static camera.", tags: ["static", "fluids"], camera: "static"),
        .init(id: "still-hall", text: "A hall, static camera.", tags: ["static", "indoor"], camera: "static"),
        .init(id: "still-rain", text: "Rain on a window, static camera.", tags: ["static", "fluids"], camera: "static"),
        .init(id: "still-desk", text: "A desk, static camera.", tags: ["static", "indoor"], camera: "static"),
        .init(id: "still-pool", text: "A pool, static camera.", tags: ["static", "fluids"], camera: "static"),
        .init(id: "still-kitchen", text: "A kitchen, static camera.", tags: ["static", "indoor"], camera: "static"),
        .init(id: "still-storm", text: "Lightning over a field, static camera.", tags: ["static", "lighting"], camera: "static"),
        .init(id: "pan-street", text: "A street, the camera pans left.", tags: ["camera", "urban"], camera: "pan_left"),
        .init(id: "dog-run", text: "A dog runs.", tags: ["animals", "fast-motion"]),
        .init(id: "sign-open", text: "A sign that reads 'OPEN, \"24h\"'.", tags: ["text", "urban"]),
    ])
    static let config = JSONValue.object([("fingerprint", .string("0123456789abcdef")), ("gallop", .string("test")), ("every", .int(1))])

    static var rows: [ClipResult] {
        var rng = SplitMix64(seed: 42)
        var rows: [ClipResult] = []
        let models: [(String, flicker: Double, freeze: Double, sharp: Double)] = [
            ("alpha", 0.5, 0.0, 40), ("beta", 3.0, 0.0, 38), ("gamma", 0.6, 0.3, 12),
        ]
        for (model, flicker, freeze, sharp) in models {
            for prompt in suite.prompts where !(model == "gamma" && prompt.id == "sign-open") {
                for seed in 1...2 {
                    var r = ClipResult(path: "\(model)/\(prompt.id)-\(seed).mp4", name: ClipName(model: model, prompt: prompt.id, seed: seed), status: .ok)
                    let f = max(0, flicker + 0.3 * rng.gaussian())
                    r.metrics = [
                        ("temporal_flickering", 0.99 - 0.004 * f), ("flicker_index", f), ("frame_diff", 2 + rng.uniform()),
                        ("freeze_ratio", freeze), ("longest_freeze_s", freeze), ("scene_cuts", 0),
                        ("motion_magnitude", 1.5 + rng.uniform()), ("warping_error", 1 + 0.2 * f + rng.uniform()),
                        ("motion_smoothness", 0.995 - 0.01 * freeze), ("camera_motion", 0.9),
                        ("sharpness", sharp + 3 * rng.gaussian()), ("noise_sigma", 1 + rng.uniform()),
                    ]
                    let measured = prompt.camera == "pan_left" && model == "beta" ? "pan_right" : (prompt.camera ?? "static")
                    r.extras = [("camera_motion", .object([("class", .string(measured)), ("series", .numbers([0, 0]))])),
                                ("flicker_index", .object([("series", .array([.null, .number(f)]))]))]
                    r.frames = 2
                    r.fps = 24
                    r.width = 64
                    r.height = 48
                    r.duration = 2.0 / 24
                    r.frameTimes = [0, 1.0 / 24]
                    r.config = config
                    r.fingerprint = "0123456789abcdef"
                    rows.append(r)
                }
            }
        }
        var failed = ClipResult(path: "beta/dog-run-3.mp4", name: ClipName(model: "beta", prompt: "dog-run", seed: 3), status: .error,
                                error: "beta/dog-run-3.mp4: the file is empty")
        failed.config = config
        failed.fingerprint = "0123456789abcdef"
        rows.append(failed)
        rows[0].warnings = ["10-bit input, scored on 8-bit planes"]
        var off = rows[1]
        off.path = "alpha/unlisted-1.mp4"
        off.name = ClipName(model: "alpha", prompt: "unlisted", seed: 1)
        rows.append(off)
        return rows
    }

    static let context = ReportContext(created: "2026-11-28T00:00:00Z", command: ["gallop", "report", "out"],
                                       problems: [.init(line: 7, kind: .skipped, message: "clips.jsonl:7: skipped, not a result row (invalid JSON at byte 12: unexpected end)")])
}

final class ReportTests: XCTestCase {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Compares with the golden file; GALLOP_UPDATE_GOLDEN=1 rewrites it.
    func assertGolden(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = ReportTests.golden.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["GALLOP_UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if text != expected {
            let a = text.split(separator: "\n", omittingEmptySubsequences: false), b = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }
            XCTFail("\(name) differs from its golden file at line \((first?.offset ?? min(a.count, b.count)) + 1):\n got: \(first?.element.0 ?? "")\nwant: \(first?.element.1 ?? "")\n(GALLOP_UPDATE_GOLDEN=1 rewrites it)", file: file, line: line)
        }
    }

    func summary() throws -> ResultsSummary {
        try Aggregation.summarize(Fixture.rows, known: ValueCatalog.known, suite: Fixture.suite, settings: ValueCatalog.report)
    }

    func testScorecardGolden() throws {
        let card = Scorecard.markdown(try summary(), context: Fixture.context)
        try assertGolden(card, "scorecard.md")
        // Every table fits a pull request: at most 8 columns.
        for line in card.split(separator: "\n") where line.hasPrefix("|") {
            XCTAssertLessThanOrEqual(line.filter { $0 == "|" }.count - 1, 8, String(line))
        }
    }

    /// The learned metrics' group has its own scorecard section and HTML group; a run's unavailable metrics are in summary.json.
    func testContentGroupAndNotComputedMetrics() throws {
        let rows = Fixture.rows.map { row -> ClipResult in
            var r = row
            if r.status == .ok { r.metrics.append(("subject_consistency", 0.9)) }
            return r
        }
        let s = try Aggregation.summarize(rows, known: ValueCatalog.known, suite: Fixture.suite, settings: ValueCatalog.report)
        XCTAssertTrue(Scorecard.markdown(s, context: Fixture.context).contains("## Content\n\n| model | subject_consistency ↑ |"))
        XCTAssertTrue(HTMLReport.groups.contains("content"))
        var context = Fixture.context
        XCTAssertNil(SummaryJSON.make(s, context: context)["not_computed"])
        context.notComputed = [("clip_score", ["models.clip_vitb32"])]
        XCTAssertEqual(SummaryJSON.make(s, context: context)["not_computed"]?["clip_score"]?["needs"], .array([.string("models.clip_vitb32")]))
    }

    func testSummaryJSONGolden() throws {
        let json = SummaryJSON.make(try summary(), context: Fixture.context)
        try assertGolden(json.pretty() + "\n", "summary.json")
        let back = try JSONParser.parse(json.pretty())
        XCTAssertEqual(back, json)
        XCTAssertEqual(back["metrics"]?["flicker_index"]?["higher_is_better"], JSONValue.bool(false))
        XCTAssertEqual(back["metrics"]?["motion_magnitude"]?["higher_is_better"], JSONValue.null)
        XCTAssertEqual(back["report"]?["bootstrap"]?["resamples"], JSONValue.int(2000))
        XCTAssertEqual(back["suite"]?["missing"]?["gamma"], JSONValue.array([.string("sign-open")]))
        XCTAssertEqual(back["suite"]?["not_in_suite"], JSONValue.array([.string("alpha/unlisted-1.mp4")]))
    }

    func testClipsCSVGoldenAndReadsBack() throws {
        let s = try summary()
        let text = CSVFiles.clips(s)
        try assertGolden(text, "clips.csv")
        let reader = try CSVReader(string: text, hasHeaderRow: true)
        var rows: [[String]] = []
        while let row = reader.next() { rows.append(row) }
        let header = reader.headerRow!
        XCTAssertEqual(rows.count, Fixture.rows.count)
        XCTAssertTrue(rows.allSatisfy { $0.count == header.count })
        let failed = rows.first { $0[0] == "beta/dog-run-3.mp4" }!
        XCTAssertEqual(failed[header.firstIndex(of: "status")!], "error")
        XCTAssertEqual(failed[header.firstIndex(of: "error")!], "beta/dog-run-3.mp4: the file is empty")
        XCTAssertTrue(header.contains("camera_agreement"))
        XCTAssertFalse(header.contains("composite_overall"), "composites are model-level scores, not a clip's")
    }

    func testFramesCSVIsLongFormat() throws {
        var row = Fixture.rows[0]
        row.path = "a,\"b\".mp4"
        let text = CSVFiles.frames([row])
        let reader = try CSVReader(string: text, hasHeaderRow: true)
        var rows: [[String]] = []
        while let r = reader.next() { rows.append(r) }
        XCTAssertEqual(reader.headerRow!, ["path", "frame", "time", "metric", "value"])
        XCTAssertTrue(rows.contains(["a,\"b\".mp4", "0", "0", "camera_motion", "0"]))
        XCTAssertFalse(rows.contains { $0[3] == "flicker_index" && $0[1] == "0" }, "null series values are left out")
        XCTAssertTrue(rows.contains { $0[3] == "flicker_index" && $0[1] == "1" })
    }

    func testMixedFingerprintsAreRefusedOrSelected() throws {
        var rows = Fixture.rows
        rows[0].fingerprint = "ffff"
        rows[0].config = .object([("fingerprint", .string("ffff")), ("gallop", .string("test")), ("every", .int(2))])
        XCTAssertThrowsError(try ReportWriter.select(rows, fingerprint: nil, file: "clips.jsonl")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("the rows come from 2 different configs"), text)
            XCTAssertTrue(text.contains("ffff: 1 row; differs in every: 1 vs 2"), text)
        }
        XCTAssertEqual(try ReportWriter.select(rows, fingerprint: "ffff", file: "f").count, 1)
        XCTAssertEqual(try ReportWriter.select(rows, fingerprint: "0123456789abcdef", file: "f").count, rows.count - 1)
    }
}
