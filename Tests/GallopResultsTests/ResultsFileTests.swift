import GallopCore
@testable import GallopResults
import XCTest

final class ResultsFileTests: XCTestCase {
    func row(_ path: String, _ model: String = "m", _ prompt: String = "p", seed: Int? = nil, fingerprint: String = "fp",
             values: [(String, Double?)] = [("frame_diff", 1)]) -> ClipResult {
        var r = ClipResult(path: path, name: ClipName(model: model, prompt: prompt, seed: seed), status: .ok)
        r.metrics = values
        r.config = .object([("fingerprint", .string(fingerprint))])
        r.fingerprint = fingerprint
        return r
    }

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

    func testBadLinesAreSkippedAndNamedDuplicatesKeepTheLast() {
        let good = (1...3).map { row("m/p-\($0).mp4", seed: $0, values: [("frame_diff", Double($0))]).json.serialized() }
        let newer = row("m/p-2.mp4", seed: 2, values: [("frame_diff", 20)]).json.serialized()
        let truncated = String(good[0].prefix(40))
        let text = [good[0], "garbage {", good[1], "", good[2], newer, truncated].joined(separator: "\n")
        let loaded = ResultsFile.parse(text, file: "clips.jsonl")
        XCTAssertEqual(loaded.rows.map(\.path), ["m/p-1.mp4", "m/p-2.mp4", "m/p-3.mp4"])
        XCTAssertEqual(loaded.rows[1].value("frame_diff"), 20, "the later row of a path is kept")
        XCTAssertEqual(loaded.skippedLines, 2)
        XCTAssertEqual(loaded.duplicates, 1)
        XCTAssertEqual(Set(loaded.problems.map(\.line)), [2, 3, 7])
        XCTAssertTrue(loaded.problems.contains { $0.message.hasPrefix("clips.jsonl:2: skipped") })
        XCTAssertTrue(loaded.problems.contains { $0.message.hasPrefix("clips.jsonl:7: skipped") })
        XCTAssertTrue(loaded.problems.contains { $0.message == "clips.jsonl:3: m/p-2.mp4 appears again on line 6; the later row is kept" })
    }

    func testMixedFingerprintsAreNeverAveraged() {
        let rows = [row("a/p-1.mp4", fingerprint: "one"), row("a/p-2.mp4", fingerprint: "two")]
        XCTAssertThrowsError(try Aggregation.summarize(rows, known: [])) { error in
            XCTAssertTrue("\(error)".contains("2 configs"), "\(error)")
        }
        XCTAssertEqual(ResultsFile.parse(rows.map { $0.json.serialized() }.joined(separator: "\n"), file: "f").fingerprints.map(\.rows), [1, 1])
    }

    func testConfigDifferenceNamesTheSetting() {
        let a = JSONValue.object([("fingerprint", .string("x")), ("every", .int(1)), ("options", .object([("flow", .object([("stride", .int(4))]))]))])
        let b = JSONValue.object([("fingerprint", .string("y")), ("every", .int(2)), ("options", .object([("flow", .object([("stride", .int(4))]))]))])
        XCTAssertEqual(ConfigDifference.between(a, b), ["every: 1 vs 2"])
    }
}

/// Aggregation over simulated suites with known answers.
final class AggregationTests: XCTestCase {
    let known = [
        ValueDescriptor(name: "quality", direction: .higher, group: "quality"),
        ValueDescriptor(name: "flicker_index", direction: .lower, group: "temporal"),
        ValueDescriptor(name: "motion_magnitude", direction: .none, group: "motion"),
    ]

    /// `models` (name → true mean), `prompts` prompts × `seeds` seeds, a prompt effect shared by every model.
    func simulate(_ models: [(String, Double)], prompts: Int = 30, seeds: Int = 2, noise: Double = 1, seed: UInt64 = 7) -> [ClipResult] {
        var rng = SplitMix64(seed: seed)
        let effects = (0..<prompts).map { _ in 2 * rng.gaussian() }
        var rows: [ClipResult] = []
        for (model, mean) in models {
            for p in 0..<prompts {
                for s in 1...seeds {
                    var r = ClipResult(path: "\(model)/prompt\(p)-\(s).mp4", name: ClipName(model: model, prompt: "prompt\(p)", seed: s), status: .ok)
                    r.metrics = [("quality", mean + effects[p] + noise * rng.gaussian()), ("motion_magnitude", 1)]
                    r.fingerprint = "fp"
                    rows.append(r)
                }
            }
        }
        return rows
    }

    func testRanksRecoverAKnownOrderAndTieEqualModels() throws {
        let rows = simulate([("a", 3), ("b", 2), ("c", 1), ("d", 1), ("e", 0)])
        let s = try Aggregation.summarize(rows, known: known, settings: ReportSettings())
        let ranks = Dictionary(uniqueKeysWithValues: s.models.map { ($0.name, $0.all.values["quality"]!.rank!) })
        XCTAssertEqual(ranks, ["a": 1, "b": 2, "c": 3, "d": 3, "e": 5])
        // No better side: reported, never ranked.
        XCTAssertNil(s.models[0].all.values["motion_magnitude"]!.rank)
        // The mean is over prompts, and the interval resamples prompts.
        let a = s.model("a")!.all.values["quality"]!
        XCTAssertEqual(a.prompts, 30)
        XCTAssertEqual(a.n, 60)
        XCTAssertTrue(a.interval!.contains(a.mean))
    }

    func testRestrictedMetricIsReadOnTaggedPromptsAndCameraAgreement() throws {
        let suite = PromptSuite(name: "s", version: 1, prompts: [
            .init(id: "still", text: "", tags: ["static"], camera: "static"),
            .init(id: "pan", text: "", tags: ["camera"], camera: "pan_left"),
        ])
        func clip(_ prompt: String, flicker: Double, measured: String) -> ClipResult {
            var r = ClipResult(path: "m/\(prompt)-1.mp4", name: ClipName(model: "m", prompt: prompt, seed: 1), status: .ok)
            r.metrics = [("flicker_index", flicker)]
            r.extras = [("camera_motion", .object([("class", .string(measured))]))]
            return r
        }
        var extra = clip("unlisted", flicker: 50, measured: "static")
        extra.path = "m/unlisted-1.mp4"
        let rows = [clip("still", flicker: 1, measured: "static"), clip("pan", flicker: 9, measured: "pan_right"), extra]
        let s = try Aggregation.summarize(rows, known: known, suite: suite)
        let m = s.model("m")!
        XCTAssertEqual(m.all.values["flicker_index"]!.mean, 1, "flicker is read on static prompts only")
        XCTAssertEqual(m.all.values["camera_agreement"]!.mean, 0.5)
        XCTAssertEqual(s.coverage!.unknown, ["m/unlisted-1.mp4"])
        XCTAssertEqual(m.tags["camera"]!.values["camera_agreement"]!.mean, 0)
        // Without a suite every clip counts, and nothing is derived from prompts.
        let plain = try Aggregation.summarize(rows, known: known)
        XCTAssertEqual(plain.model("m")!.all.values["flicker_index"]!.mean, 20)
        XCTAssertNil(plain.model("m")!.all.values["camera_agreement"])
    }

    func testCompositeMapsModelMeansByBoundsAndWeights() throws {
        var settings = ReportSettings()
        settings.composite = [CompositeGroup(name: "g", terms: [
            CompositeTerm(metric: "quality", weight: 3, worst: 0, best: 10),
            CompositeTerm(metric: "flicker_index", weight: 1, worst: 5, best: 0),
        ])]
        let suite = PromptSuite(name: "s", version: 1, prompts: [
            .init(id: "still", text: "", tags: ["static"]), .init(id: "move", text: "", tags: ["camera"]),
        ])
        func clip(_ prompt: String, quality: Double, flicker: Double) -> ClipResult {
            var r = ClipResult(path: "m/\(prompt).mp4", name: ClipName(model: "m", prompt: prompt, seed: nil), status: .ok)
            r.metrics = [("quality", quality), ("flicker_index", flicker)]
            return r
        }
        let rows = [clip("still", quality: 4, flicker: 2.5), clip("move", quality: 6, flicker: 100)]
        let s = try Aggregation.summarize(rows, known: known, suite: suite, settings: settings)
        let m = s.model("m")!.all.values
        // quality: mean 5 → 0.5 (weight 3); flicker read on the static prompt only: 2.5 → 0.5 (weight 1), at full weight.
        XCTAssertEqual(m["composite_g"]!.mean, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m["composite_overall"]!.mean, 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.values.filter { $0.group == "composite" }.map(\.name), ["composite_g", "composite_overall"])
        // The composite ranks models like any value: a clearly worse model ranks below.
        let worse = rows.map { r -> ClipResult in
            var w = r
            w.path = "n/" + r.name.prompt + ".mp4"
            w.name.model = "n"
            w.metrics = [("quality", 1), ("flicker_index", 4.9)]
            return w
        }
        let both = try Aggregation.summarize(rows + worse, known: known, suite: suite, settings: settings)
        XCTAssertEqual(both.model("m")!.all.values["composite_g"]!.rank, 1)
        XCTAssertEqual(both.model("n")!.all.values["composite_g"]!.rank, 2)
    }
}
