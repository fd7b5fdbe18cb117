import GallopConfig
import GallopCore
@testable import GallopReport
import GallopResults
import XCTest

/// The scorecard's `audio` group: present only when some clip has sound, its composite terms and bounds,
/// silent clips left out of it, and `overall` untouched by it.
final class AudioReportTests: XCTestCase {
    static let audioNames = ["loudness_lufs", "loudness_range", "true_peak_dbtp", "clipped_share", "silence_share",
                             "av_offset_ms", "av_sync_confidence", "av_offset_abs_ms", "av_align"]

    /// The fixture's rows; the ok clips of `withSound` models get `values` (and `audio: true`), the other ok clips
    /// the null audio metrics and `audio: false` of a silent clip.
    func rows(withSound: Set<String>, values: [String: Double], silentPrompts: Set<String> = []) -> [ClipResult] {
        Fixture.rows.map { row in
            var r = row
            guard r.status == .ok else { return r }
            let sound = withSound.contains(r.name.model) && !silentPrompts.contains(r.name.prompt)
            r.audio = sound
            r.metrics += Self.audioNames.map { ($0, sound ? values[$0] : nil) }
            return r
        }
    }

    func summary(_ rows: [ClipResult]) throws -> ResultsSummary {
        try Aggregation.summarize(rows, known: ValueCatalog.known, suite: Fixture.suite, settings: ValueCatalog.report)
    }

    /// Each term maps linearly to 0–1 and clamps: 2 LU off → 0.8, +0.5 dBTP → 0.25, no clipping → 1,
    /// 60% silent → 0 (clamped), 50 ms off → 0.75; the group's score is their mean.
    static let known: [String: Double] = ["loudness_lufs": -18, "loudness_range": 5, "true_peak_dbtp": 0.5, "clipped_share": 0,
                                          "silence_share": 0.6, "av_offset_ms": -50, "av_sync_confidence": 0.6, "av_offset_abs_ms": 50,
                                          "av_align": 0.7]
    static let knownScore = (0.8 + 0.25 + 1 + 0 + 0.75) / 5

    func testTheAudioTermsAndTheirBounds() throws {
        let audio = try XCTUnwrap(ValueCatalog.report.composite.first { $0.name == "audio" })
        XCTAssertFalse(audio.inOverall)
        XCTAssertEqual(audio.terms.map(\.metric), ["loudness_off_target", "true_peak_dbtp", "clipped_share", "silence_share", "av_offset_abs_ms"])
        XCTAssertEqual(audio.terms.map(\.worst), [10, 1, 0.01, 0.5, 200])
        XCTAssertEqual(audio.terms.map(\.best), [0, -1, 0, 0, 0])
        XCTAssertTrue(ValueCatalog.report.composite.filter { $0.name != "audio" }.allSatisfy(\.inOverall))
        XCTAssertTrue(ValueCatalog.report.canonical.contains("composite.audio=apart"))
        XCTAssertEqual(ValueCatalog.known.first { $0.name == "loudness_off_target" }?.offTarget, TargetDistance(metric: "loudness_lufs", target: -16))
    }

    func testTheGroupIsShownOnlyWhenSomeClipHasSound() throws {
        let silent = try summary(rows(withSound: [], values: Self.known))
        XCTAssertNil(silent.value("composite_audio"))
        XCTAssertFalse(silent.values.contains { $0.group == "audio" })
        XCTAssertFalse(Scorecard.markdown(silent, context: Fixture.context).contains("## Audio"))
        XCTAssertNil(SummaryJSON.make(silent, context: Fixture.context)["metrics"]?["loudness_off_target"])

        let sound = try summary(rows(withSound: ["alpha"], values: Self.known))
        let card = Scorecard.markdown(sound, context: Fixture.context)
        XCTAssertTrue(card.contains("## Audio\n\n| model | loudness_lufs · | loudness_range · | true_peak_dbtp ↓ |"), card)
        XCTAssertTrue(card.contains("loudness_off_target ↓"))
        XCTAssertTrue(card.contains("audio ↑"))
        XCTAssertTrue(card.contains("`overall` leaves out `audio`, which only some clips can have (scored on those clips alone)."))
        XCTAssertFalse(Scorecard.markdown(silent, context: Fixture.context).contains("leaves out"))
        XCTAssertNotNil(sound.model("alpha")?.all.values["composite_audio"])
        XCTAssertNil(sound.model("beta")?.all.values["composite_audio"], "beta's clips are silent")
        XCTAssertEqual(SummaryJSON.make(sound, context: Fixture.context)["report"]?["overall"],
                       .array(["temporal", "motion", "quality", "reference", "content"].filter { g in ValueCatalog.report.composite.contains { $0.name == g } }.map { .string($0) }))
    }

    func testTheCompositeMapsEachTermByItsBounds() throws {
        let s = try summary(rows(withSound: ["alpha"], values: Self.known))
        let alpha = try XCTUnwrap(s.model("alpha"))
        XCTAssertEqual(try XCTUnwrap(alpha.all.values["loudness_off_target"]).mean, 2, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(alpha.all.values["composite_audio"]).mean, Self.knownScore, accuracy: 1e-12)
        // Clamped at both ends: 30 LU off and −5 dBTP score as 10 LU and −1 dBTP.
        var extreme = Self.known
        extreme["loudness_lufs"] = 14
        extreme["true_peak_dbtp"] = -5
        let e = try summary(rows(withSound: ["alpha"], values: extreme))
        XCTAssertEqual(try XCTUnwrap(e.model("alpha")?.all.values["composite_audio"]).mean, (0 + 1 + 1 + 0 + 0.75) / 5, accuracy: 1e-12)
    }

    /// A model whose clips are half silent scores on its clips with sound, not as if the silent ones scored 0.
    func testSilentClipsAreLeftOutOfTheGroup() throws {
        let silentPrompts: Set<String> = ["still-lake", "still-room", "still-river", "dog-run", "sign-open"]
        let s = try summary(rows(withSound: ["alpha"], values: Self.known, silentPrompts: silentPrompts))
        let alpha = try XCTUnwrap(s.model("alpha"))
        XCTAssertEqual(try XCTUnwrap(alpha.all.values["composite_audio"]).mean, Self.knownScore, accuracy: 1e-12)
        let off = try XCTUnwrap(alpha.all.values["loudness_off_target"])
        XCTAssertEqual(off.prompts, Fixture.suite.prompts.count - silentPrompts.count)
        XCTAssertEqual(off.mean, 2, accuracy: 1e-12)
        XCTAssertEqual(alpha.all.values["silence_share"]?.undefined, 2 * silentPrompts.count, "the silent clips' nulls are counted as undefined")
    }

    /// `overall` is the mean of the other groups: a model's clips gaining sound, good or bad, leave it as it was.
    func testAudioIsNotInOverall() throws {
        let silent = try summary(rows(withSound: [], values: Self.known))
        var bad = Self.known
        bad["loudness_lufs"] = 0
        bad["clipped_share"] = 0.5
        for s in [try summary(rows(withSound: ["alpha", "beta", "gamma"], values: Self.known)), try summary(rows(withSound: ["alpha"], values: bad))] {
            for m in ["alpha", "beta", "gamma"] {
                let a = try XCTUnwrap(silent.model(m)?.all.values[Aggregation.overall]), b = try XCTUnwrap(s.model(m)?.all.values[Aggregation.overall])
                XCTAssertEqual(a.mean, b.mean, accuracy: 1e-12, m)
                XCTAssertEqual(a.interval, b.interval, m)
            }
        }
        let b = try summary(rows(withSound: ["alpha"], values: bad))
        XCTAssertLessThan(try XCTUnwrap(b.model("alpha")?.all.values["composite_audio"]).mean, 0.5)
    }
}
