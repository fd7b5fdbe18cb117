import GallopCore
import GallopMetrics
import GallopTestSupport
import XCTest

/// `av_align` on motion bursts with clicks: a texture that jumps 3 px at six irregular frames and stands still
/// between them.
final class AVAlignTests: XCTestCase {
    static func run(clicksAt shift: Int, fps: Double = 25) throws -> (value: Double?, warnings: [String]) {
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
        var value: Double?, warnings: [String] = []
        for (_, output) in engine.finish() { value = output.values[0].1; warnings += output.warnings }
        return (value, warnings)
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
