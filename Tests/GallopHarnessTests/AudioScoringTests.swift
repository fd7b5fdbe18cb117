import GallopConfig
import GallopCore
import GallopHarness
import GallopMetrics
@testable import GallopReport
import GallopResults
import GallopSynth
import GallopTestSupport
import GallopVideo
import XCTest

final class AudioScoringTests: XCTestCase {
    /// The same 1 s picture written with a stereo −20 dBFS 1 kHz tone and without sound.
    func writePair(_ dir: TempDir) throws -> (sound: String, silent: String) {
        let frames = (0..<24).map { Planes.texture(64, 48, dx: Double($0) * 1.5) }
        let sound = dir.file("sound.mkv"), silent = dir.file("silent.mkv")
        let writer = try VideoWriter(path: sound, width: 64, height: 48, fps: 24, audio: .init(sampleRate: 48000, channels: 2))
        let tone = SyntheticAudio.tone(frequency: 1000, amplitude: 0.1, seconds: 1, rate: 48000)
        try writer.appendAudio(SyntheticAudio.interleave([tone, tone]))
        for f in frames { try writer.append(luma: f) }
        try writer.finish()
        try Clips.write(silent, frames)
        return (sound, silent)
    }

    func score(_ scorer: Scorer, _ path: String) -> ClipResult {
        let rel = (path as NSString).lastPathComponent
        return scorer.score(path: path, relativePath: rel, name: ClipName.parse(relativePath: rel))
    }

    /// The default run measures the sound (stereo −20 dBFS tone: −20.0 LUFS, −20 dBTP, no clipping or silence)
    /// and says `audio: true` (a steady tone has no events to sync: av_offset_ms null with its warning); on the same picture without sound every audio value is null, `audio: false`,
    /// with no warning; every other metric's value and extras are the same with sound as without.
    func testDefaultRunWithAndWithoutSound() throws {
        let dir = TempDir()
        let (soundPath, silentPath) = try writePair(dir)
        let scorer = try Scorer(config: RunConfig(metrics: []), threads: 1)
        let sound = score(scorer, soundPath), silent = score(scorer, silentPath)
        XCTAssertEqual(sound.status, .ok, sound.error ?? "")
        XCTAssertEqual(silent.status, .ok, silent.error ?? "")
        XCTAssertEqual(sound.audio, true)
        XCTAssertEqual(silent.audio, false)
        XCTAssertEqual(sound.json["audio"], .bool(true))
        XCTAssertEqual(silent.json["audio"], .bool(false))
        XCTAssertEqual(try ClipResult(json: sound.json).audio, true)
        XCTAssertEqual(sound.value("loudness_lufs")!, -20.0, accuracy: 0.02)
        XCTAssertEqual(sound.value("true_peak_dbtp")!, -20.0, accuracy: 0.05)
        XCTAssertEqual(sound.value("clipped_share"), 0)
        XCTAssertEqual(sound.value("silence_share"), 0)
        XCTAssertNil(sound.value("loudness_range"))
        XCTAssertEqual(sound.warnings, ["loudness_range: 1.00 s of sound, under one 3 s block", "av_offset_ms: no audible events in the sound"])
        XCTAssertNil(sound.value("av_offset_ms"))
        let audioValues = Set(MetricRegistry.valueNames(for: MetricRegistry.groups.last!.metrics))
        for name in audioValues {
            XCTAssertTrue(silent.metrics.contains { $0.0 == name && $0.1 == nil }, name)
        }
        XCTAssertEqual(silent.warnings, [])
        let videoValues = sound.metrics.filter { !audioValues.contains($0.0) }
        XCTAssertGreaterThan(videoValues.count, 20)
        XCTAssertEqual(videoValues.map(\.0), silent.metrics.filter { !audioValues.contains($0.0) }.map(\.0))
        for (name, value) in videoValues { XCTAssertEqual(value, silent.value(name), name) }
        let audioMetrics = Set(MetricRegistry.groups.last!.metrics.map { $0.info.name })
        XCTAssertEqual(sound.extras.filter { !audioMetrics.contains($0.0) }.map { JSONValue.object([$0]).serialized() },
                       silent.extras.map { JSONValue.object([$0]).serialized() })
    }

    /// av_offset_ms through the writer, the reader's clock and the scorer: a 5 s FFV1 + PCM clip at 25 fps with white
    /// flashes at six irregular frames and a click 120 ms after each reads 120 ms within one frame.
    func testSyncOfAWrittenClip() throws {
        let dir = TempDir()
        let path = dir.file("late.mkv")
        let flashes: Set<Int> = [14, 34, 48, 76, 90, 111]
        let writer = try VideoWriter(path: path, width: 64, height: 48, fps: 25, audio: .init(sampleRate: 48000, channels: 1))
        var sound = [Float](repeating: 0, count: 48000 * 5)
        for f in flashes { SyntheticAudio.addClick(to: &sound, at: Double(f) / 25 + 0.12, rate: 48000) }
        try writer.appendAudio(sound)
        for i in 0..<125 { try writer.append(luma: Planes.constant(64, 48, flashes.contains(i) ? 235 : 16)) }
        try writer.finish()
        let row = score(try Scorer(config: RunConfig(metrics: ["av_offset_ms"]), threads: 1), path)
        XCTAssertEqual(row.status, .ok, row.error ?? "")
        XCTAssertEqual(row.value("av_offset_ms") ?? 0, 120, accuracy: 40)
        XCTAssertGreaterThan(row.value("av_sync_confidence") ?? 0, 0.15)
        XCTAssertEqual(row.warnings, [])
    }

    /// Audio metrics named explicitly on a clip without sound: one warning names them; a run without audio
    /// metrics leaves the row's `audio` unknown (null) and does not open the sound track.
    func testExplicitAudioMetricsWarn() throws {
        let dir = TempDir()
        let (soundPath, silentPath) = try writePair(dir)
        let named = try Scorer(config: RunConfig(metrics: ["sharpness", "loudness_lufs", "silence_share"]), threads: 1)
        let row = score(named, silentPath)
        XCTAssertEqual(row.audio, false)
        XCTAssertEqual(row.warnings, ["no audio stream: loudness_lufs, silence_share are null"])
        let videoOnly = score(try Scorer(config: RunConfig(metrics: ["sharpness"]), threads: 1), soundPath)
        XCTAssertNil(videoOnly.audio)
        XCTAssertEqual(videoOnly.json["audio"], .null)
        XCTAssertNotEqual(RunConfig(metrics: ["sharpness"]).fingerprint, RunConfig(metrics: ["sharpness", "loudness_lufs"]).fingerprint)
    }

    /// report.html's worst moments gain the most out-of-sync clip: a written clip whose clicks come 200 ms after its
    /// flashes is picked over one 40 ms late, drawn with its sound envelope and picture curve on one axis and the
    /// offset labelled; a silent model's section has no sync moment and no note of one; a run of silent clips none.
    func testReportShowsTheMostOutOfSyncClip() throws {
        let dir = TempDir()
        let flashes: Set<Int> = [14, 34, 48, 76, 90, 111]
        func write(_ name: String, lateBy: Double?) throws -> String {
            let path = dir.file(name)
            let writer = try VideoWriter(path: path, width: 64, height: 48, fps: 25, audio: lateBy.map { _ in VideoWriter.AudioTrack(sampleRate: 48000, channels: 1) })
            if let lateBy {
                var sound = [Float](repeating: 0, count: 48000 * 5)
                for f in flashes { SyntheticAudio.addClick(to: &sound, at: Double(f) / 25 + lateBy, rate: 48000) }
                try writer.appendAudio(sound)
            }
            for i in 0..<125 { try writer.append(luma: Planes.constant(64, 48, flashes.contains(i) ? 235 : 16)) }
            try writer.finish()
            return path
        }
        let scorer = try Scorer(config: RunConfig(metrics: ["frame_diff", "av_offset_ms"]), threads: 1)
        func row(_ model: String, _ prompt: String, lateBy: Double?) throws -> ClipResult {
            let rel = "\(model)/\(prompt)-1.mkv"
            try FileManager.default.createDirectory(atPath: dir.file(model), withIntermediateDirectories: true)
            let r = scorer.score(path: try write(rel, lateBy: lateBy), relativePath: rel, name: ClipName(model: model, prompt: prompt, seed: 1))
            XCTAssertEqual(r.status, .ok, r.error ?? "")
            return r
        }
        let rows = [try row("synced", "a", lateBy: 0.04), try row("synced", "b", lateBy: 0.2), try row("silent", "a", lateBy: nil)]
        XCTAssertEqual(rows[1].value("av_offset_ms") ?? 0, 200, accuracy: 40)
        let s = try Aggregation.summarize(rows, known: ValueCatalog.known, settings: ValueCatalog.report)
        let found = WorstMoments.find(s)
        let sync = try XCTUnwrap(found.first { $0.model == "synced" }?.sync)
        XCTAssertEqual(sync.path, "synced/b-1.mkv")
        XCTAssertEqual(sync.offset, try XCTUnwrap(rows[1].value("av_offset_ms")))
        XCTAssertEqual(sync.sound.count, 125)
        // The picture's onsets rise at the flashes and nowhere else.
        XCTAssertEqual(Set(sync.motion.indices.filter { sync.motion[$0] > 0 }), flashes)
        // The sound's envelope peaks about 200 ms (five frames) after a flash.
        let loudest = try XCTUnwrap(sync.sound.indices.max { (sync.sound[$0] ?? 0) < (sync.sound[$1] ?? 0) })
        XCTAssertTrue(flashes.contains { (4...6).contains(loudest - $0) }, "envelope peak at frame \(loudest)")
        XCTAssertNil(found.first { $0.model == "silent" }?.sync)
        XCTAssertEqual(found.first { $0.model == "silent" }?.notes.filter { $0.contains("confident") }, [])

        let html = HTMLReport.make(s, context: ReportContext(created: "2026-12-04T00:00:00Z", command: ["gallop", "report"]), thumbnails: nil)
        XCTAssertEqual(html.components(separatedBy: "data-kind=\"sync\"").count - 1, 1)
        let offset = "+" + String(Int(sync.offset.rounded())) + " ms"
        XCTAssertTrue(html.contains("<b>Most out of sync</b>"))
        XCTAssertTrue(html.contains("offset \(offset)</text>"), "the chart labels the offset")
        XCTAssertTrue(html.contains("<code>synced/b-1.mkv</code><br>sound \(offset) after the picture"))
        XCTAssertTrue(html.contains("aria-label=\"sound onset envelope and picture onset strength\""))
        XCTAssertTrue(html.contains("<code>overall</code> leaves out <code>audio</code>, which only some clips can have"))
        if let out = ProcessInfo.processInfo.environment["GALLOP_SYNC_HTML"] { try html.write(toFile: out, atomically: true, encoding: .utf8) }

        let silent = try Aggregation.summarize([rows[2]], known: ValueCatalog.known, settings: ValueCatalog.report)
        let none = HTMLReport.make(silent, context: ReportContext(created: "2026-12-04T00:00:00Z", command: ["gallop", "report"]), thumbnails: nil)
        XCTAssertFalse(none.contains("data-kind=\"sync\""))
        XCTAssertFalse(none.contains("out of sync"))
        XCTAssertFalse(none.contains("onset envelope"))
    }
}
