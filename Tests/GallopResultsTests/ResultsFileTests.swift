import Foundation
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

    /// A results path that is a FIFO (or a device) is refused before it is opened: a read would block
    /// (or, on /dev/zero, never end), and so would an open for writing. Checked through `gallop score` resuming
    /// into such an OUT too.
    func testAResultsPathThatIsNotARegularFileIsRefusedUnopened() throws {
        let dir = NSTemporaryDirectory() + "gallop-results-fifo-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/clips.jsonl"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let started = Date()
        XCTAssertThrowsError(try ResultsFile.read(fifo)) { error in
            XCTAssertEqual("\(error)", "\(fifo): cannot read results: not a regular file")
        }
        XCTAssertThrowsError(try ResultsFile.read("/dev/zero", lean: true))
        // Nor is one written: opening a FIFO with no reader for writing would wait forever (thumbnails.jsonl, a merge's OUT).
        XCTAssertThrowsError(try ResultsFile(path: fifo)) { error in
            XCTAssertEqual("\(error)", "\(fifo): cannot write results: not a regular file")
        }
        // A device is written (/dev/full stands for a full disk in CLITests); only a FIFO would block.
        XCTAssertNoThrow(try ResultsFile(path: "/dev/null"))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testNonFiniteIsNullAndRowsRoundTrip() throws {
        var row = ClipResult(path: "m/p-1.mp4", name: ClipName(model: "m", prompt: "p", seed: 1), status: .ok)
        row.metrics = [("psnr_like", .infinity), ("frame_diff", 1.25), ("x", nil)]
        row.extras = [("scene_cuts", .object([("frames", .array([.int(3)]))]))]
        row.warnings = ["a \"quoted\" warning\n"]
        row.config = .object([("fingerprint", .string("fp"))])
        let text = row.json.serialized()
        XCTAssertTrue(text.contains("\"psnr_like\":null"))
        XCTAssertTrue(text.hasPrefix("{\"schema_version\":\(Gallop.schemaVersion),"))
        let back = try ClipResult(json: JSONParser.parse(text))
        XCTAssertEqual(back.path, row.path)
        XCTAssertEqual(back.name, row.name)
        XCTAssertEqual(back.value("frame_diff"), 1.25)
        XCTAssertNil(back.value("psnr_like"))
        XCTAssertEqual(back.warnings, row.warnings)
    }

    /// `rotation` is written after `height` and read back; a row from before it existed reads as 0.
    func testRotationFollowsHeightAndIsOptionalOnRead() throws {
        var turned = row("m/p.mp4")
        turned.width = 48
        turned.height = 64
        turned.rotation = 270
        let text = turned.json.serialized()
        XCTAssertTrue(text.contains(#""width":48,"height":64,"rotation":270,"duration":"#), text)
        XCTAssertEqual(try ClipResult(json: JSONParser.parse(text)).rotation, 270)
        let old = try ClipResult(json: JSONParser.parse(#"{"schema_version":1,"path":"a","status":"ok","width":64,"height":48,"config":{"fingerprint":"x"}}"#))
        XCTAssertEqual(old.rotation, 0)
        XCTAssertEqual(old.width, 64)
    }

    func testNewerSchemaAndRowsWithoutAConfigAreRefused() {
        XCTAssertThrowsError(try ClipResult(json: JSONParser.parse(#"{"schema_version":99,"path":"a","status":"ok","config":{"fingerprint":"x"}}"#)))
        XCTAssertThrowsError(try ClipResult(json: JSONParser.parse(#"{"path":"a","status":"ok"}"#)))
        XCTAssertThrowsError(try ClipResult(json: JSONParser.parse(#"{"schema_version":1,"path":"a","status":"ok","config":null}"#)))
    }

    /// A lean read (the gate's) leaves out the per-frame series and `extras`, but for the camera
    /// class that `camera_agreement` is derived from.
    func testLeanReadKeepsTheCameraClassAndNoSeries() throws {
        var r = row("m/p-1.mp4", seed: 1)
        r.extras = [("camera_motion", .object([("class", .string("pan_left")), ("series", .numbers([2, 2])), ("shares", .numbers([0, 1]))])),
                    ("scene_cuts", .object([("series", .numbers([0, 1])), ("frames", .array([.int(3)]))]))]
        r.frameTimes = [0, 0.04]
        let lean = ResultsFile.parse(r.json.serialized() + "\n", file: "f", lean: true, keepingExtras: ["camera_motion"]).rows[0]
        XCTAssertEqual(lean.extras.map(\.0), ["camera_motion"])
        XCTAssertEqual(lean.extras[0].1, .object([("class", .string("pan_left")), ("shares", .numbers([0, 1]))]))
        XCTAssertEqual(lean.frameTimes, [])
        XCTAssertEqual(lean.value("frame_diff"), 1)
        // Several kept metrics, and none.
        let both = ResultsFile.parse(r.json.serialized() + "\n", file: "f", lean: true, keepingExtras: ["camera_motion", "scene_cuts"]).rows[0]
        XCTAssertEqual(both.extras.map(\.0), ["camera_motion", "scene_cuts"])
        XCTAssertEqual(both.extras[1].1, .object([("frames", .array([.int(3)]))]))
        XCTAssertEqual(ResultsFile.parse(r.json.serialized() + "\n", file: "f", lean: true).rows[0].extras.count, 0)
        let full = ResultsFile.parse(r.json.serialized() + "\n", file: "f").rows[0]
        XCTAssertEqual(full.extras[0].1["series"], .numbers([2, 2]))
        XCTAssertEqual(full.frameTimes, [0, 0.04])
        // Key paths: `*` matches any key, `!k` any key but k; arrays and other objects are built whole.
        let text = Array(#"{"a":{"x":{"s":[1],"k":2},"y":{"s":3}},"s":[{"s":1}],"b":{"s":4}}"#.utf8)
        XCTAssertEqual(try JSONParser.parse(bytes: text, skippingPaths: [["a", "*", "s"]]).serialized(),
                       #"{"a":{"x":{"k":2},"y":{}},"s":[{"s":1}],"b":{"s":4}}"#)
        XCTAssertEqual(try JSONParser.parse(bytes: text, skippingPaths: [["a", "!x"], ["!a"]]).serialized(), #"{"a":{"x":{"s":[1],"k":2}}}"#)
        XCTAssertEqual(try JSONParser.parse(bytes: text, skippingPaths: [["a", "!x|y"], ["!a"]]).serialized(), #"{"a":{"x":{"s":[1],"k":2},"y":{"s":3}}}"#)
        // A skipped value is still read through: an unterminated string in it is an error.
        XCTAssertThrowsError(try JSONParser.parse(bytes: Array(#"{"a":{"x":{"s":["abc}}}"#.utf8), skippingPaths: [["a", "*", "s"]]))
    }

    func testCRLFAndBlankLinesKeepLineNumbers() {
        let rows = (1...3).map { (i: Int) in row("m/p-\(i).mp4", seed: i).json.serialized() }
        let loaded = ResultsFile.parse(rows[0] + "\r\n\r\n" + rows[1] + "\r\nbroken\r\n" + rows[2] + "\r\n", file: "f")
        XCTAssertEqual(loaded.rows.map(\.path), ["m/p-1.mp4", "m/p-2.mp4", "m/p-3.mp4"])
        XCTAssertEqual(loaded.problems.map(\.line), [4])
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
        ValueDescriptor(name: "camera_agreement", direction: .higher, group: "motion", match: PromptCameraMatch(metric: "camera_motion", key: "class")),
    ]
    /// Settings as a caller that knows the metrics gives them (GallopConfig's defaults): flicker read on static prompts.
    var restricted: ReportSettings {
        var s = ReportSettings()
        s.restrict = [ReportSettings.Restriction(metric: "flicker_index", tags: ["static"], except: ["lighting"])]
        return s
    }

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
        let s = try Aggregation.summarize(rows, known: known, suite: suite, settings: restricted)
        let m = s.model("m")!
        XCTAssertEqual(m.all.values["flicker_index"]!.mean, 1, "flicker is read on static prompts only")
        XCTAssertEqual(m.all.values["camera_agreement"]!.mean, 0.5)
        XCTAssertEqual(s.coverage!.unknown, ["m/unlisted-1.mp4"])
        XCTAssertEqual(m.tags["camera"]!.values["camera_agreement"]!.mean, 0)
        // Without a suite every clip counts, and nothing is derived from prompts.
        let plain = try Aggregation.summarize(rows, known: known, settings: restricted)
        XCTAssertEqual(plain.model("m")!.all.values["flicker_index"]!.mean, 20)
        XCTAssertNil(plain.model("m")!.all.values["camera_agreement"])
    }

    func testCompositeMapsModelMeansByBoundsAndWeights() throws {
        var settings = restricted
        settings.composite = [CompositeGroup(name: "g", terms: [
            CompositeTerm(metric: "quality", weight: 3, worst: 0, best: 10),
            CompositeTerm(metric: "flicker_index", weight: 1, worst: 5, best: 0),
        ])]
        // Ten prompts, half static: flicker is read on the static half only.
        let suite = PromptSuite(name: "s", version: 1, prompts: (0..<10).map {
            .init(id: "p\($0)", text: "", tags: $0 < 5 ? ["static"] : ["camera"], camera: $0 < 5 ? "static" : "pan_left")
        })
        func rows(_ model: String, quality: Double, flicker: Double) -> [ClipResult] {
            (0..<10).map { p in
                var r = ClipResult(path: "\(model)/p\(p).mp4", name: ClipName(model: model, prompt: "p\(p)", seed: nil), status: .ok)
                // Moving prompts flicker wildly: left out of the flicker term.
                r.metrics = [("quality", quality + Double(p % 2)), ("flicker_index", p < 5 ? flicker : 100)]
                return r
            }
        }
        let s = try Aggregation.summarize(rows("m", quality: 1.5, flicker: 4) + rows("n", quality: 0.5, flicker: 4.5),
                                          known: known, suite: suite, settings: settings)
        let m = s.model("m")!.all.values
        // quality: mean 2 → 0.2 (weight 3); flicker on static prompts: 4 → 0.2... (weight 1): (3·0.2 + 1·0.2)/4.
        XCTAssertEqual(m["quality"]!.mean, 2, accuracy: 1e-12)
        XCTAssertEqual(m["flicker_index"]!.mean, 4, accuracy: 1e-12)
        XCTAssertEqual(m["composite_g"]!.mean, (3 * 0.2 + 1 * 0.2) / 4, accuracy: 1e-12)
        let n = s.model("n")!.all.values
        XCTAssertEqual(n["composite_g"]!.mean, (3 * 0.1 + 1 * 0.1) / 4, accuracy: 1e-12)
        XCTAssertEqual(m["composite_overall"]!.mean, m["composite_g"]!.mean)
        XCTAssertEqual(s.values.filter { $0.group == "composite" }.map(\.name), ["composite_g", "composite_overall"])
        XCTAssertTrue(m["composite_g"]!.interval!.contains(m["composite_g"]!.mean))
        XCTAssertEqual(m["composite_g"]!.rank, 1)
        XCTAssertEqual(n["composite_g"]!.rank, 2)
    }

    /// A term with worst == best (built in code; the config reader refuses it) is left out, never divided by zero:
    /// alone it scores nothing, beside another term it leaves that term's score as is.
    func testATermWithEqualBoundsIsLeftOutNotDividedByZero() throws {
        let rows = ["m": 1.0, "n": 4.0].flatMap { model, flicker in
            (0..<10).map { p -> ClipResult in
                var r = ClipResult(path: "\(model)/p\(p).mp4", name: ClipName(model: model, prompt: "p\(p)", seed: nil), status: .ok)
                r.metrics = [("quality", 2 * flicker), ("flicker_index", flicker)]
                return r
            }
        }
        let degenerate = CompositeTerm(metric: "flicker_index", weight: 1, worst: 0, best: 0)
        XCTAssertNil(degenerate.score(3))
        var settings = ReportSettings()
        settings.composite = [CompositeGroup(name: "g", terms: [degenerate])]
        let alone = try Aggregation.summarize(rows, known: known, settings: settings)
        XCTAssertNil(alone.model("m")!.all.values["composite_g"], "a group of one degenerate term has no score")
        XCTAssertNil(alone.model("n")!.all.values["composite_overall"])
        settings.composite = [CompositeGroup(name: "g", terms: [degenerate, CompositeTerm(metric: "quality", weight: 1, worst: 0, best: 10)])]
        let beside = try Aggregation.summarize(rows, known: known, settings: settings)
        XCTAssertEqual(beside.model("m")!.all.values["composite_g"]!.mean, 0.2, accuracy: 1e-12)
        XCTAssertEqual(beside.model("n")!.all.values["composite_g"]!.mean, 0.8, accuracy: 1e-12)
    }

    func testEveryResampleKeepsEveryTerm() throws {
        var settings = restricted
        settings.composite = [CompositeGroup(name: "g", terms: [
            CompositeTerm(metric: "quality", weight: 3, worst: 0, best: 10),
            CompositeTerm(metric: "flicker_index", weight: 1, worst: 5, best: 0),
        ])]
        // Flicker is read on 2 of 10 prompts. A resample without them would score 1 (quality alone);
        // stratified by the terms a prompt carries, every resample scores (3·1 + 1·0)/4.
        let suite = PromptSuite(name: "s", version: 1, prompts: (0..<10).map { .init(id: "p\($0)", text: "", tags: $0 < 2 ? ["static"] : ["camera"]) })
        let rows = (0..<10).map { p -> ClipResult in
            var r = ClipResult(path: "m/p\(p).mp4", name: ClipName(model: "m", prompt: "p\(p)", seed: nil), status: .ok)
            r.metrics = [("quality", 10), ("flicker_index", 5)]
            return r
        }
        let g = try Aggregation.summarize(rows, known: known, suite: suite, settings: settings).model("m")!.all.values["composite_g"]!
        XCTAssertEqual(g.mean, 0.75)
        XCTAssertEqual(g.interval, Interval(low: 0.75, high: 0.75))
    }

    func testTooFewPromptsGetNoIntervalAndNoRank() throws {
        let rows = simulate([("a", 3), ("b", 0)], prompts: Bootstrap.minimumUnits - 1)
        let s = try Aggregation.summarize(rows, known: known)
        XCTAssertNil(s.model("a")!.all.values["quality"]!.interval)
        XCTAssertNil(s.model("a")!.all.values["quality"]!.rank)
        let enough = try Aggregation.summarize(simulate([("a", 3), ("b", 0)], prompts: Bootstrap.minimumUnits), known: known)
        XCTAssertNotNil(enough.model("a")!.all.values["quality"]!.interval)
        XCTAssertEqual(enough.model("a")!.all.values["quality"]!.rank, 1)
    }

    func testClipsSharingModelPromptAndSeedAreNoted() throws {
        var a = ClipResult(path: "m/a-1.mp4", name: ClipName(model: "m", prompt: "a", seed: 1), status: .ok)
        a.metrics = [("quality", 1)]
        var b = a
        b.path = "m/a-1.mkv"
        let s = try Aggregation.summarize([a, b], known: known)
        XCTAssertEqual(s.notes, ["`m/a-1.mkv` and `m/a-1.mp4` share a model, prompt and seed; each counts as a clip"])
    }

    func testARestrictionNoPromptMeetsIsNoted() throws {
        let suite = PromptSuite(name: "s", version: 1, prompts: [.init(id: "p", text: "", tags: ["camera"])])
        var r = ClipResult(path: "m/p.mp4", name: ClipName(model: "m", prompt: "p", seed: nil), status: .ok)
        r.metrics = [("flicker_index", 1)]
        let s = try Aggregation.summarize([r], known: known, suite: suite, settings: restricted)
        XCTAssertEqual(s.notes, ["no prompt of suite `s` is tagged static except lighting: `flicker_index` is read on no clip"])
    }
}

/// A disk with room for `room` more bytes: a write past it writes what fits, then fails with ENOSPC (a full disk
/// without filling one).
final class FullDisk: @unchecked Sendable {
    private let lock = NSLock()
    private var room: Int

    init(room: Int) { self.room = room }

    var writer: OutputFile.Writer {
        { fd, bytes in
            self.lock.lock()
            defer { self.lock.unlock() }
            let n = min(self.room, bytes.count)
            if n == 0 { return -Int(ENOSPC) }
            let written = write(fd, bytes.baseAddress, n)
            if written > 0 { self.room -= written }
            return written
        }
    }
}

/// Issue 22, item 7: output that cannot be written stops with the file and the cause, and never a half line.
final class FullDiskTests: XCTestCase {
    func folder() -> String {
        let path = NSTemporaryDirectory() + "gallop-full-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func row(_ i: Int) -> ClipResult {
        var r = ClipResult(path: "m/p\(i)-1.mp4", name: ClipName(model: "m", prompt: "p\(i)", seed: 1), status: .ok)
        r.metrics = [("frame_diff", Double(i))]
        r.config = .object([("fingerprint", .string("fp"))])
        r.fingerprint = "fp"
        return r
    }

    func testAFullDiskMidRowKeepsTheRowsBeforeItWholeAndNoHalfLine() throws {
        let path = folder() + "/clips.jsonl"
        let line = row(0).json.serialized().utf8.count + 1
        // Room for two rows and half of the third.
        let file = try ResultsFile(path: path, startingWith: [], writer: FullDisk(room: 2 * line + line / 2).writer)
        try file.append(row(0))
        try file.append(row(1))
        XCTAssertThrowsError(try file.append(row(2))) { error in
            XCTAssertEqual("\(error)", "\(path): cannot write results: no space left on device (the 2 rows before it are kept whole; the same command resumes from them)")
        }
        // Stopped: a later row is refused with the same error, even with room again.
        XCTAssertThrowsError(try file.append(row(3))) { XCTAssertTrue("\($0)".contains("no space left on device"), "\($0)") }
        file.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"), "no half line: \(text)")
        let loaded = try ResultsFile.read(path)
        XCTAssertEqual(loaded.rows.map(\.path), ["m/p0-1.mp4", "m/p1-1.mp4"])
        XCTAssertEqual(loaded.problems, [])
    }

    func testKeptRowsThatDoNotFitLeaveTheOldFileAsItWas() throws {
        let path = folder() + "/clips.jsonl"
        let old = try ResultsFile(path: path)
        for i in 0..<3 { try old.append(row(i)) }
        old.close()
        let before = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertThrowsError(try ResultsFile(path: path, startingWith: [row(0), row(1)], writer: FullDisk(room: 10).writer)) { error in
            XCTAssertEqual("\(error)", "\(path): cannot write results: no space left on device (the file is as it was)")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".resume"))
    }

    func testAReportThatDoesNotFitLeavesTheOldOneAndNoPartialFile() throws {
        let path = folder() + "/summary.json"
        try OutputFile.write("old\n", to: path)
        XCTAssertThrowsError(try OutputFile.write(String(repeating: "x", count: 5000), to: path, with: FullDisk(room: 4096).writer)) { error in
            XCTAssertEqual("\(error)", "\(path): cannot write: no space left on device")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
        try OutputFile.write("new\n", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "new\n")
    }

    func testReasonsReadOnAfterAColon() {
        XCTAssertEqual(OutputFile.reason(ENOSPC), "no space left on device")
        XCTAssertEqual(OutputFile.reason(EIO), "input/output error")
    }
}
