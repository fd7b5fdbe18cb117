import FoundationXML
import Foundation
import GallopConfig
import GallopCore
@testable import GallopGate
import GallopHarness
import GallopResults
import GallopSynth
import GallopTestSupport
import XCTest

/// The check on rows with known differences.
final class GateTests: XCTestCase {
    static let directions: [String: Direction] = ["quality": .higher, "flicker_index": .lower, "motion_magnitude": .none]

    func rows(_ model: String = "m", prompts: Int = 20, seeds: Int = 2, fingerprint: String = "fp", seed: UInt64 = 1,
              quality: (Int) -> Double = { _ in 10 }, noise: Double = 0.2) -> [ClipResult] {
        var rng = SplitMix64(seed: seed)
        var out: [ClipResult] = []
        for p in 0..<prompts {
            for s in 1...seeds {
                var r = ClipResult(path: "\(model)/p\(p)-\(s).mp4", name: ClipName(model: model, prompt: "p\(p)", seed: s), status: .ok)
                r.metrics = [("quality", quality(p) + noise * rng.gaussian()), ("flicker_index", 1 + noise * rng.gaussian()), ("motion_magnitude", 3 * rng.uniform())]
                r.fingerprint = fingerprint
                r.config = .object([("fingerprint", .string(fingerprint)), ("every", .int(fingerprint == "fp" ? 1 : 2))])
                out.append(r)
            }
        }
        return out
    }

    var options: Check.Options {
        var o = Check.Options()
        o.directions = GateTests.directions
        o.gate.tolerances = ["quality": .init(kind: .absolute, value: 0.5), "flicker_index": .init(kind: .absolute, value: 0.5)]
        return o
    }

    func testIdenticalPassesAndNoGateOnNoBetterSide() throws {
        let base = rows()
        let r = try Check.run(candidate: base, baseline: base, options: options)
        XCTAssertFalse(r.failed)
        let m = r.models[0]
        XCTAssertEqual(m.paired, 40)
        XCTAssertEqual(m.metrics.map(\.verdict), [.unchanged, .unchanged, .notGated])
        XCTAssertEqual(m.metrics[0].interval, Interval(low: 0, high: 0))
    }

    func testShiftPastToleranceRegressesAndNamesTheMetric() throws {
        let base = rows(), worse = rows(seed: 2, quality: { _ in 9 }), better = rows(seed: 3, quality: { _ in 11 })
        let r = try Check.run(candidate: worse, baseline: base, options: options)
        XCTAssertTrue(r.failed)
        XCTAssertEqual(r.models[0].regressions.map(\.metric), ["quality"])
        let text = CheckOutputs.markdown(r)
        XCTAssertTrue(text.hasPrefix("## Gallop check: ❌ failed\n\nRegressed: `quality` (40 paired clips, 1 model)."), text)
        XCTAssertTrue(text.contains("- **m** `quality`: 10.01 → 9.016: worse by 0.9938 (lower is worse; at least 0.9103 at 95%), allowed 0.5000; 20 prompts"), text)
        let up = try Check.run(candidate: better, baseline: base, options: options)
        XCTAssertFalse(up.failed)
        XCTAssertEqual(up.models[0].improvements.map(\.metric), ["quality"])
        // Noise alone (another draw of the same model) fails nothing.
        XCTAssertFalse(try Check.run(candidate: rows(seed: 4), baseline: base, options: options).failed)
        // A shift inside the tolerance is unchanged even when it is certain.
        let small = try Check.run(candidate: rows(seed: 5, quality: { _ in 9.8 }, noise: 0), baseline: rows(noise: 0), options: options)
        XCTAssertEqual(small.models[0].metrics[0].verdict, .unchanged)
    }

    func testRelativeToleranceScalesWithTheBaseline() throws {
        var o = options
        o.gate.tolerances["quality"] = .init(kind: .relative, value: 0.05)
        let r = try Check.run(candidate: rows(seed: 2, quality: { _ in 9.3 }, noise: 0), baseline: rows(noise: 0), options: o)
        XCTAssertEqual(r.models[0].metrics[0].toleranceAmount!, 0.5, accuracy: 1e-9)
        XCTAssertEqual(r.models[0].metrics[0].verdict, .regression)
    }

    func testNewlyFailingMissingAndExtraClips() throws {
        let base = rows(prompts: 4)
        var cand = base
        cand[0].status = .error
        cand[0].error = "m/p0-1.mp4: the file is empty"
        cand.removeLast()
        var extra = cand[1]
        extra.path = "m/new-1.mp4"
        extra.name = ClipName(model: "m", prompt: "new", seed: 1)
        cand.append(extra)
        let r = try Check.run(candidate: cand, baseline: base, options: options)
        XCTAssertTrue(r.failed)
        XCTAssertEqual(r.models[0].newlyFailing, [.init(path: "m/p0-1.mp4", message: "m/p0-1.mp4: the file is empty")])
        XCTAssertEqual(r.models[0].missing, ["m/p3-2.mp4"])
        XCTAssertEqual(r.models[0].extra, ["m/new-1.mp4"])
        // Missing clips alone pass when allowed; a newly failing clip still fails.
        var o = options
        o.allowMissing = true
        XCTAssertFalse(try Check.run(candidate: Array(base.dropLast()), baseline: base, options: o).failed)
        XCTAssertTrue(try Check.run(candidate: cand, baseline: base, options: o).failed)
    }

    func testAMissingModelDuplicatesNullsAndMapCollisions() throws {
        // A baseline model the candidate lacks entirely: all its clips are missing, and the check fails.
        let base = rows() + rows("n")
        let onlyM = try Check.run(candidate: rows(), baseline: base, options: options)
        XCTAssertTrue(onlyM.failed)
        XCTAssertEqual(onlyM.models.first { $0.baselineName == "n" }!.missing.count, 40)
        // Two clips with one model, prompt and seed: the first by path is used, the other named.
        var dup = rows()[0]
        dup.path = "m/p0-1.webm"
        let withDup = try Check.run(candidate: rows() + [dup], baseline: rows(), options: options)
        XCTAssertEqual(withDup.duplicates, ["m/p0-1.webm (same model, prompt and seed as m/p0-1.mp4, which was used)"])
        // A metric defined in the baseline and null in the candidate fails, naming the clip.
        var lost = rows()
        lost[3].metrics[1].1 = nil
        let r = try Check.run(candidate: lost, baseline: rows(), options: options)
        XCTAssertTrue(r.failed)
        XCTAssertEqual(r.models[0].metrics[1].verdict, .lost)
        XCTAssertEqual(r.models[0].metrics[1].lostClips, [lost[3].path])
        // Two candidate models mapped onto one baseline model: a usage error, not a silent merge.
        var o = options
        o.modelMap = ["n": "m"]
        XCTAssertThrowsError(try Check.run(candidate: rows() + rows("n"), baseline: rows(), options: o)) { e in
            XCTAssertTrue(e is Check.UsageError, "\(e)")
        }
        // Nothing scored on both sides: not comparable.
        let errors = rows().map { r -> ClipResult in
            var e = r
            e.status = .error
            return e
        }
        XCTAssertThrowsError(try Check.run(candidate: errors, baseline: errors, options: options)) { e in
            XCTAssertTrue("\(e)".contains("no pair of clips was scored on both sides"), "\(e)")
        }
        // Rows of another schema version: not comparable, saying so.
        var newer = rows()
        for i in newer.indices { newer[i].schemaVersion = 0 }
        XCTAssertThrowsError(try Check.run(candidate: rows(), baseline: newer, options: options)) { e in
            XCTAssertTrue("\(e)".contains("different schema versions (baseline 0, candidate \(Gallop.schemaVersion))"), "\(e)")
        }
        // Seedless baseline, seeded candidate: the hint says so.
        let seedless = rows().map { r -> ClipResult in
            var s = r
            s.name.seed = nil
            return s
        }
        XCTAssertThrowsError(try Check.run(candidate: rows(), baseline: seedless, options: options)) { e in
            XCTAssertTrue("\(e)".contains("the candidate's clips have seeds and the baseline's do not"), "\(e)")
        }
    }

    func testRestrictedMetricIsComparedOnItsPrompts() throws {
        // flicker_index regresses only on prompts that are not static: with the suite, those are left out.
        let suite = PromptSuite(name: "s", version: 1, prompts: (0..<20).map { .init(id: "p\($0)", text: "", tags: $0 < 10 ? ["static"] : ["camera"]) })
        var cand = rows(seed: 2)
        for i in cand.indices where Int(cand[i].name.prompt.dropFirst())! >= 10 { cand[i].metrics[1].1! += 5 }
        var o = options
        o.restrict = [.init(metric: "flicker_index", tags: ["static"])]
        XCTAssertEqual(try Check.run(candidate: cand, baseline: rows(), options: o).models[0].metrics[1].verdict, .regression, "without a suite every prompt counts")
        o.suite = suite
        let r = try Check.run(candidate: cand, baseline: rows(), options: o)
        XCTAssertEqual(r.models[0].metrics[1].verdict, .unchanged)
        XCTAssertEqual(r.models[0].metrics[1].prompts, 10)
    }

    func testNotComparable() throws {
        let base = rows()
        XCTAssertThrowsError(try Check.run(candidate: rows(fingerprint: "other"), baseline: base, options: options)) { e in
            XCTAssertTrue("\(e)".contains("different configs (fingerprints fp and other): every: 1 vs 2"), "\(e)")
        }
        var o = options
        o.allowConfigChange = true
        XCTAssertEqual(try Check.run(candidate: rows(fingerprint: "other"), baseline: base, options: o).configDifferences, ["every: 1 vs 2"])
        XCTAssertThrowsError(try Check.run(candidate: rows("n"), baseline: base, options: options)) { e in
            XCTAssertTrue("\(e)".contains("no candidate clip pairs with a baseline clip"), "\(e)")
        }
        XCTAssertThrowsError(try Check.run(candidate: [], baseline: base, options: options))
        o = options
        o.modelMap = ["n": "m"]
        let mapped = try Check.run(candidate: rows("n"), baseline: base, options: o)
        XCTAssertEqual(mapped.models.map(\.name), ["n"])
        XCTAssertEqual(mapped.models[0].baselineName, "m")
        XCTAssertEqual(mapped.models[0].paired, 40)
    }

    func testTooFewPromptsAreReportedNotGated() throws {
        let r = try Check.run(candidate: rows(prompts: 7, seed: 2, quality: { _ in 0 }), baseline: rows(prompts: 7), options: options)
        XCTAssertEqual(r.models[0].metrics[0].verdict, .tooFew)
        XCTAssertFalse(r.failed)
    }

    func testJUnitReadsBackWithAnXMLParser() throws {
        let base = rows(prompts: 8)
        var cand = rows(prompts: 8, seed: 9, quality: { _ in 5 })
        cand[0].status = .error
        cand[0].error = "broken <&> \"quoted\" \u{1B}[31m"
        let r = try Check.run(candidate: cand, baseline: base, options: options)
        let xml = try CheckOutputs.junit(r)
        let doc = try XMLDocument(data: Data(xml.utf8))
        let root = try XCTUnwrap(doc.rootElement())
        XCTAssertEqual(root.name, "testsuites")
        let suites = root.elements(forName: "testsuite")
        XCTAssertEqual(suites.map { $0.attribute(forName: "name")?.stringValue }, ["m"])
        let cases = suites[0].elements(forName: "testcase")
        XCTAssertEqual(cases.map { $0.attribute(forName: "name")!.stringValue! }, ["quality", "flicker_index", "motion_magnitude", "clip m/p0-1.mp4"])
        let failure = try XCTUnwrap(cases[0].elements(forName: "failure").first)
        XCTAssertEqual(failure.attribute(forName: "type")?.stringValue, "regression")
        XCTAssertTrue(failure.stringValue!.contains("allowed 0.5000; 8 prompts"), failure.stringValue!)
        XCTAssertEqual(cases[3].elements(forName: "failure").first?.stringValue, "broken <&> \"quoted\" \u{FFFD}[31m")
        XCTAssertEqual(cases[2].elements(forName: "skipped").count, 1)
        XCTAssertEqual(suites[0].attribute(forName: "failures")?.stringValue, "2")
        XCTAssertEqual(root.attribute(forName: "tests")?.stringValue, "4")
    }

    func testAnnotationsNeverExceedTenOfAKind() throws {
        var o = options
        o.directions = [:]
        var base: [ClipResult] = [], cand: [ClipResult] = []
        for k in 0..<30 { o.directions["m\(k)"] = k % 2 == 0 ? .higher : .lower }
        for (i, r) in rows(prompts: 8).enumerated() {
            var b = r, c = r
            b.metrics = (0..<30).map { ("m\($0)", 10 + Double(i % 3)) }
            // Even metrics (higher is better) drop by 1 + k, odd ones (lower is better) drop too: an improvement.
            c.metrics = (0..<30).map { ("m\($0)", 10 + Double(i % 3) - 1 - Double($0)) }
            base.append(b)
            cand.append(c)
        }
        var r = try Check.run(candidate: cand, baseline: base, options: o)
        XCTAssertEqual(r.models[0].regressions.count, 15)
        XCTAssertEqual(r.models[0].improvements.count, 15)
        let lines = CheckOutputs.annotations(r)
        XCTAssertEqual(lines.filter { $0.hasPrefix("::error ") }.count, 10)
        XCTAssertEqual(lines.filter { $0.hasPrefix("::warning ") }.count, 10)
        XCTAssertTrue(lines[0].hasPrefix("::error title=Gallop%3A m m28 regressed::"), lines[0])
        XCTAssertTrue(lines[9].contains("6 more; see the step summary"), lines[9])
        // The summary keeps the verdict when the tables are cut.
        r.models = Array(repeating: r.models[0], count: 40)
        let cut = CheckOutputs.markdown(r, limit: 20_000)
        XCTAssertLessThanOrEqual(cut.utf8.count, 20_000)
        XCTAssertTrue(cut.hasPrefix("## Gallop check: ❌ failed\n\nRegressed: `m0`, `m2`"), String(cut.prefix(80)))
        XCTAssertTrue(cut.contains("The list and tables were cut"))
        // Newly failing clips take one annotation a model: the regressions still show.
        var mixed = try Check.run(candidate: cand, baseline: base, options: o)
        mixed.models[0].newlyFailing = (0..<20).map { .init(path: "m/c\($0).mp4", message: "broken, 100% \n gone") }
        let mixedLines = CheckOutputs.annotations(mixed)
        XCTAssertEqual(mixedLines.filter { $0.hasPrefix("::error ") }.count, 10)
        XCTAssertEqual(mixedLines.filter { $0.contains("newly failing") }.count, 1)
        XCTAssertTrue(mixedLines.contains { $0.hasPrefix("::error title=Gallop%3A m 20 clips newly failing::m/c0.mp4: broken, 100%25 %0A gone (and 19 more)") }, mixedLines.joined(separator: "\n"))
        XCTAssertTrue(mixedLines[9].hasPrefix("::error title=Gallop%3A 7 more::"), mixedLines[9])
    }
}

/// The check on clips made by the writer and scored for real: a re-encode
/// that looks the same passes; each injected defect fails on its metric.
final class GateClipTests: XCTestCase {
    func score(_ dir: TempDir, _ name: String, defect: SyntheticScene.Defect, crf: Int) throws -> [ClipResult] {
        let scorer = try Scorer(config: Configuration().run())
        return try (0..<8).map { p in
            let path = dir.file("\(name)/clip\(p)-1.mp4")
            try SyntheticScene(seed: UInt64(10 + p), width: 128, height: 72, pan: [0, 0.5, 1, 1.5, 2, 0, 1, 0.3][p]).write(to: path, frames: 20, defect: defect, crf: crf)
            return scorer.score(path: path, relativePath: "m/clip\(p)-1.mp4", name: ClipName(model: "m", prompt: "clip\(p)", seed: 1))
        }
    }

    func testReencodePassesAndEachDefectFailsOnItsMetric() throws {
        let dir = TempDir()
        var options = Check.Options()
        options.directions = CheckRun.knownDirections
        let base = try score(dir, "base", defect: .none, crf: 18)
        let reencode = try Check.run(candidate: try score(dir, "crf20", defect: .none, crf: 20), baseline: base, options: options)
        XCTAssertFalse(reencode.failed, CheckOutputs.markdown(reencode))
        // Each defect fails on the metric that measures it, and on exactly the metrics it is known to move:
        // flicker on every temporal-consistency metric; the stutter model's held frames on freezes and the
        // motion metrics, and its added grain on noise; blur on sharpness alone.
        for (defect, metric, expected) in [(SyntheticScene.Defect.flicker, "flicker_index", ["flicker_index", "motion_smoothness", "temporal_flickering", "warping_error"]),
                                           (.blur, "sharpness", ["sharpness"]),
                                           (.stutter, "freeze_ratio", ["freeze_ratio", "motion_smoothness", "noise_sigma", "warping_error"])] {
            let r = try Check.run(candidate: try score(dir, defect.rawValue, defect: defect, crf: 18), baseline: base, options: options)
            XCTAssertTrue(r.failed)
            XCTAssertEqual(r.models[0].regressions.map(\.metric).sorted(), expected, "\(defect)")
            XCTAssertTrue(CheckOutputs.markdown(r).contains("`\(metric)`: "), "\(defect) names \(metric)")
        }
    }
}
