import Foundation
import GallopCore
import GallopMetrics
import GallopSynth
import GallopTestSupport
import XCTest

/// `av_offset_ms` on synthetic clips with events at known times (audio-plan §4.4): one-frame flashes at irregular
/// times, a click at each flash's time plus the offset, at 24, 25 and 30 fps.
final class SyncTests: XCTestCase {
    static let events = [0.55, 1.35, 1.9, 3.05, 3.6, 4.45]
    static let rate = 48000

    /// What av_offset_ms said of one clip.
    struct Found {
        let offset: Double?
        let confidence: Double?
        let warnings: [String]
    }

    /// A 5 s clip of 64×48 dark frames, white at `flashes` (times, rounded to frames), with `sound` (mono at 48 kHz,
    /// from time 0, lent in runs of 4096; nil: no sound track) through the engine.
    static func run(fps: Double, flashes: [Double], sound: [Float]?, settings: MetricSettings = MetricSettings()) throws -> Found {
        let engine = MetricEngine(types: try MetricRegistry.select(["av_offset_ms"]), settings: settings)
        let flashFrames = Set(flashes.map { Int(($0 * fps).rounded()) })
        let dark = Planes.constant(64, 48, 16), white = Planes.constant(64, 48, 235)
        for i in 0..<Int(5 * fps) {
            (flashFrames.contains(i) ? white : dark).withPlane {
                engine.consume(Frame(index: i, time: Double(i) / fps, duration: 1 / fps, luma: $0))
            }
        }
        if let sound {
            var at = 0
            while at < sound.count {
                let run = sound[at..<min(sound.count, at + 4096)].map(Double.init)
                run.withUnsafeBufferPointer { engine.consumeAudio(AudioChunk(time: Double(at) / Double(rate), rate: rate, roles: [.other], planes: [$0])) }
                at += run.count
            }
        }
        var values: [String: Double?] = [:], warnings: [String] = []
        for (_, output) in engine.finish() {
            for (k, v) in output.values { values[k] = v }
            warnings += output.warnings
        }
        return Found(offset: values["av_offset_ms"] ?? nil, confidence: values["av_sync_confidence"] ?? nil, warnings: warnings)
    }

    /// Clicks at each time in `times`, 5 s of 48 kHz mono over `noise` (seeded white noise at this rms, or silence).
    static func clicks(at times: [Double], noise: Double = 0) -> [Float] {
        var s = noise > 0 ? SyntheticAudio.noise(seed: 7, rms: noise, seconds: 5, rate: rate) : [Float](repeating: 0, count: rate * 5)
        for t in times { SyntheticAudio.addClick(to: &s, at: t, rate: rate) }
        return s
    }

    /// Frames shorter than the envelope's hop (5.8 ms): the sound is read over at least one hop, so a 500 or
    /// 1000 fps clip ends with its offset instead of an empty (and, unchecked, endless) window loop.
    func testFramesShorterThanAHop() throws {
        for fps in [500.0, 1000] {
            let picture = Self.events.map { ($0 * fps).rounded() / fps }
            let found = try Self.run(fps: fps, flashes: picture, sound: Self.clicks(at: picture.map { $0 + 0.12 }))
            XCTAssertEqual(try XCTUnwrap(found.offset, "\(fps) fps"), 120, accuracy: 10, "\(fps) fps")
        }
    }

    /// The sync table: for each frame rate and true offset (−240…+240 ms in 40 ms steps), the offset found and the
    /// confidence. Printed by testOffsetGrid for the closing note.
    static func table() throws -> [(fps: Double, truth: Double, found: Found)] {
        var rows: [(Double, Double, Found)] = []
        for fps in [24.0, 25, 30] {
            for truth in stride(from: -240.0, through: 240, by: 40) {
                let picture = events.map { ($0 * fps).rounded() / fps }
                rows.append((fps, truth, try run(fps: fps, flashes: picture, sound: clicks(at: picture.map { $0 + truth / 1000 }))))
            }
        }
        return rows
    }

    /// Every shifted clip: the offset within 7 ms of the truth (measured: 4.8 to 5.4 ms late at every rate, the
    /// click's flux centre: AVOffset's doc comment), the confidence at or above the default threshold (0.15).
    func testOffsetGrid() throws {
        var lines = ["| fps | true offset (ms) | found (ms) | confidence |", "| --- | --- | --- | --- |"]
        for (fps, truth, found) in try SyncTests.table() {
            lines.append("| \(Int(fps)) | \(Int(truth)) | \(found.offset.map { String(format: "%.1f", $0) } ?? "null") | \(found.confidence.map { String(format: "%.3f", $0) } ?? "null") |")
            guard let offset = found.offset else { XCTFail("\(fps) fps, \(truth) ms: null, \(found.warnings)"); continue }
            XCTAssertEqual(offset, truth, accuracy: 7, "\(fps) fps")
            XCTAssertGreaterThanOrEqual(found.confidence ?? 0, 0.15, "\(fps) fps, \(truth) ms")
            XCTAssertEqual(found.warnings, [])
        }
        print(lines.joined(separator: "\n"))
    }

    /// 120 ms bursts starting at each time in `times` (5 s of 48 kHz mono): a 1 kHz tone at full level from its first
    /// sample (peak 0.5) fading out linearly over its last 40 ms, or seeded white noise (rms 0.1) that stops dead. A
    /// tone that stops dead is two events (its end splashes over the high bands), and the lag matching the ends is
    /// a rival 120 ms away: confidence 0.13-0.15 here, null.
    static func bursts(at times: [Double], tone: Bool) -> [Float] {
        var s = [Float](repeating: 0, count: rate * 5)
        var burst = tone ? SyntheticAudio.tone(frequency: 1000, amplitude: 0.5, seconds: 0.12, rate: rate)
            : SyntheticAudio.noise(seed: 9, rms: 0.1, seconds: 0.12, rate: rate)
        if tone {
            let release = Int(0.04 * Double(rate))
            for i in 0..<release { burst[burst.count - release + i] *= Float(release - i) / Float(release) }
        }
        for t in times {
            let first = Int((t * Double(rate)).rounded())
            for (i, x) in burst.enumerated() where first + i >= 0 && first + i < s.count { s[first + i] += x }
        }
        return s
    }

    /// Tone and noise bursts instead of clicks, at each frame rate and −160, 0 and +200 ms: within 7 ms of the truth
    /// (measured: 5.5 to 6.4 ms late, their flux centres a little later than a click's), confidence 0.5 or more.
    func testBurstsSync() throws {
        var lines: [String] = []
        for tone in [true, false] {
            for fps in [24.0, 25, 30] {
                for truth in [-160.0, 0, 200] {
                    let picture = SyncTests.events.map { ($0 * fps).rounded() / fps }
                    let found = try SyncTests.run(fps: fps, flashes: picture, sound: SyncTests.bursts(at: picture.map { $0 + truth / 1000 }, tone: tone))
                    let label = "\(tone ? "tone" : "noise") burst, \(Int(fps)) fps, \(Int(truth)) ms"
                    lines.append("\(label): \(found.offset.map { String(format: "%.1f", $0) } ?? "null"), confidence \(found.confidence.map { String(format: "%.3f", $0) } ?? "null")")
                    XCTAssertEqual(found.offset ?? .nan, truth, accuracy: 7, label)
                    XCTAssertGreaterThanOrEqual(found.confidence ?? 0, 0.5, label)
                }
            }
        }
        print(lines.joined(separator: "\n"))
    }

    /// No sound: null without a warning (the row's `audio: false`); digital silence: null, "no audible events";
    /// seeded white noise at −20 dBFS instead of clicks: confidence under 0.15, offset null with the warning;
    /// flashes and clicks every 10 frames (0.33-0.42 s: ambiguous lags): the same; a picture without events: "no visible events".
    func testNoEventsIsUnknownNotZero() throws {
        let picture = SyncTests.events.map { ($0 * 25).rounded() / 25 }
        let none = try SyncTests.run(fps: 25, flashes: picture, sound: nil)
        XCTAssertNil(none.offset)
        XCTAssertNil(none.confidence)
        XCTAssertEqual(none.warnings, [])
        let silent = try SyncTests.run(fps: 25, flashes: picture, sound: [Float](repeating: 0, count: SyncTests.rate * 5))
        XCTAssertNil(silent.offset)
        XCTAssertEqual(silent.warnings, ["av_offset_ms: no audible events in the sound"])
        var rows: [String] = []
        for fps in [24.0, 25, 30] {
            let frames = SyncTests.events.map { ($0 * fps).rounded() / fps }
            let noise = try SyncTests.run(fps: fps, flashes: frames, sound: SyncTests.clicks(at: [], noise: 0.1))
            XCTAssertNil(noise.offset, "noise at \(fps) fps")
            XCTAssertLessThan(noise.confidence ?? 1, 0.15, "noise at \(fps) fps")
            XCTAssert(noise.warnings.first?.hasPrefix("av_offset_ms: offset unclear") ?? false, "\(noise.warnings)")
            let beat = stride(from: 10, to: Int(4.8 * fps), by: 10).map { Double($0) / fps }
            let periodic = try SyncTests.run(fps: fps, flashes: beat, sound: SyncTests.clicks(at: beat.map { $0 + 0.08 }))
            XCTAssertNil(periodic.offset, "periodic at \(fps) fps")
            XCTAssertLessThan(periodic.confidence ?? 1, 0.15, "periodic at \(fps) fps")
            rows.append("\(Int(fps)) fps: noise confidence \(noise.confidence.map { String(format: "%.3f", $0) } ?? "null"), periodic \(periodic.confidence.map { String(format: "%.3f", $0) } ?? "null")")
        }
        print(rows.joined(separator: "\n"))
        let still = try SyncTests.run(fps: 25, flashes: [], sound: SyncTests.clicks(at: picture))
        XCTAssertNil(still.offset)
        XCTAssertEqual(still.warnings, ["av_offset_ms: no visible events in the picture"])
    }

    /// Both options reach the metric: a 0.9 threshold makes a clip found with confidence 0.65 null, 0 gives the
    /// noise clip an offset, and ±100 ms instead of ±500 ms changes the offset found for a 240 ms late sound.
    func testOptionsReachTheMetric() throws {
        let picture = SyncTests.events.map { ($0 * 25).rounded() / 25 }
        var strict = MetricSettings()
        strict.sync.minConfidence = 0.9
        let late = SyncTests.clicks(at: picture.map { $0 + 0.12 })
        XCTAssertNotNil(try SyncTests.run(fps: 25, flashes: picture, sound: late).offset)
        XCTAssertNil(try SyncTests.run(fps: 25, flashes: picture, sound: late, settings: strict).offset)
        var lax = MetricSettings()
        lax.sync.minConfidence = 0
        XCTAssertNotNil(try SyncTests.run(fps: 25, flashes: picture, sound: SyncTests.clicks(at: [], noise: 0.1), settings: lax).offset)
    }

    /// The search range is the option's: a 240 ms late sound is out of reach of ±100 ms (the best lag sits at the
    /// edge, not at 240), and found again with ±300 ms.
    func testSearchRangeOption() throws {
        let picture = SyncTests.events.map { ($0 * 25).rounded() / 25 }
        let sound = SyncTests.clicks(at: picture.map { $0 + 0.24 })
        var narrow = MetricSettings()
        narrow.sync.maxLagMS = 100
        let near = try SyncTests.run(fps: 25, flashes: picture, sound: sound, settings: narrow)
        XCTAssert(near.offset.map { abs($0 - 240) > 40 } ?? true)
        narrow.sync.maxLagMS = 300
        XCTAssertEqual(try SyncTests.run(fps: 25, flashes: picture, sound: sound, settings: narrow).offset ?? 0, 240, accuracy: 40)
    }
}

