import GallopCore
import GallopMetrics
import GallopTestSupport
import XCTest

/// `av_align` on motion bursts with clicks: a texture that jumps 3 px at six irregular frames and stands still
/// between them.
final class AVAlignTests: XCTestCase {
    static func run(clicksAt shift: Int, fps: Double = 25) throws -> (value: Double?, warnings: [String]) {
        let (value, warnings, _) = try runWithExtras(clicksAt: shift, fps: fps)
        return (value, warnings)
    }

    static func runWithExtras(clicksAt shift: Int, fps: Double = 25) throws -> (value: Double?, warnings: [String], extras: [(String, JSONValue)]) {
        let engine = MetricEngine(types: try MetricRegistry.select(["av_align"]))
        let jumps = [14, 34, 48, 76, 90, 111]
        var x = 0.0
        for i in 0..<125 {
            if jumps.contains(i) { x += 3 }
            Planes.texture(64, 48, dx: x).withPlane { engine.consume(Frame(index: i, time: Double(i) / fps, duration: 1 / fps, luma: $0, motion: $0)) }
        }
        let sound = SyncTests.clicks(at: shift < 0 ? [] : jumps.map { Double($0 + shift) / fps })
        var at = 0
        while at < sound.count {
            let run = sound[at..<min(sound.count, at + 4096)].map(Double.init)
            run.withUnsafeBufferPointer { engine.consumeAudio(AudioChunk(time: Double(at) / 48000, rate: 48000, roles: [.other], planes: [$0])) }
            at += run.count
        }
        var value: Double?, warnings: [String] = [], extras: [(String, JSONValue)] = []
        for (_, output) in engine.finish() { value = output.values[0].1; warnings += output.warnings; extras += output.extras }
        return (value, warnings, extras)
    }

    /// The extras list the peaks the score counts: six motion peaks at the jump frames' times, six sound peaks each
    /// within 10 ms of its click (librosa's frames_to_time of the onset frame: its window's leading edge, ± a hop),
    /// and the IoU recomputed from them with one-to-one matching is the value.
    func testExtrasListThePeakTimes() throws {
        let (value, _, extras) = try AVAlignTests.runWithExtras(clicksAt: 0)
        let times = Dictionary(uniqueKeysWithValues: extras.map { ($0.0, $0.1.arrayValue?.compactMap(\.doubleValue)) })
        let jumps = [14, 34, 48, 76, 90, 111].map { Double($0) / 25 }
        guard let heard = times["audio_peak_times"] ?? nil, let seen = times["video_peak_times"] ?? nil else {
            return XCTFail("no peak times in \(extras.map(\.0))")
        }
        XCTAssertEqual(seen.count, 6)
        for (a, b) in zip(seen, jumps) { XCTAssertEqual(a, b, accuracy: 1e-9) }
        XCTAssertEqual(heard.count, 6)
        for (a, b) in zip(heard, jumps) { XCTAssert(abs(a - b) < 0.01, "sound peak \(a) for the click at \(b)") }
        let n = AVAlign.matches(heard, seen, window: 0.04)
        XCTAssertEqual(value, Double(n) / Double(heard.count + seen.count - n))
    }

    /// In sync: every click has its motion peak (1); three frames late: none does (0); silence under a still
    /// picture would be no events at all, and silence under the bursts is 0 matches of 6 video peaks.
    func testMotionBurstsWithClicks() throws {
        XCTAssertEqual(try AVAlignTests.run(clicksAt: 0).value, 1)
        XCTAssertEqual(try AVAlignTests.run(clicksAt: 3).value, 0)
        XCTAssertEqual(try AVAlignTests.run(clicksAt: -1).value, 0)
    }

    /// One-to-one matching: two sound peaks within a frame of one motion peak match once (the reference script
    /// counted both, giving 2 / (2 + 1 − 2) = 2).
    func testMatchingIsOneToOne() {
        XCTAssertEqual(AVAlign.matches([1.0, 1.01], [1.005], window: 0.04), 1)
        XCTAssertEqual(AVAlign.matches([1.0, 2.0], [1.05, 2.01], window: 0.04), 1)
        XCTAssertEqual(AVAlign.matches([], [1], window: 0.04), 0)
    }
}
