import Foundation
import GallopConfig
import GallopCore
import GallopHarness
import GallopReport
import GallopResults
import GallopSynth
import GallopTestSupport
import XCTest

/// report.html from real scored clips: thumbnails decoded again from the clips
/// are real JPEGs at the moments' times; a clip that is gone or changed is named.
final class ThumbnailTests: XCTestCase {
    func score(_ dir: TempDir) throws -> [ClipResult] {
        try SyntheticScene(seed: 3, width: 96, height: 64).write(to: dir.file("m/flicker-1.mp4"), frames: 16, defect: .flicker)
        try SyntheticScene(seed: 4, width: 96, height: 64).write(to: dir.file("m/stutter-1.mp4"), frames: 16, defect: .stutter)
        // Two shots spliced: a hard cut at frame 6.
        let shots = (0..<6).map { Planes.texture(96, 64, dx: Double($0)) } + (0..<6).map { Planes.texture(96, 64, dx: Double($0), seed: 2.5) }
        try Clips.write(dir.file("m/cut-1.mkv"), shots)
        let scorer = try Scorer(config: RunConfig(metrics: ["flicker_index", "freeze_ratio", "scene_cuts", "sharpness", "warping_error"]))
        return try Discovery.runnerClips(in: dir.path).map { scorer.score(path: $0.path, relativePath: $0.relativePath, name: $0.name) }
    }

    func images(_ html: String) -> [[UInt8]] {
        let prefix = "data:image/jpeg;base64,"
        return html.components(separatedBy: prefix).dropFirst().map { chunk in
            [UInt8](Data(base64Encoded: String(chunk.prefix { $0 != "\"" })) ?? Data())
        }
    }

    func testRealThumbnailsAndAGoneClip() throws {
        let clips = TempDir(), out = TempDir()
        let rows = try score(clips)
        XCTAssertEqual(rows.map(\.status), [.ok, .ok, .ok])
        XCTAssertEqual(rows.first { $0.path == "m/cut-1.mkv" }?.value("scene_cuts"), 1)
        let writer = ReportWriter(out: out.path, thumbnails: ClipThumbnails(folder: clips.path))
        try writer.write(rows)
        let html = try String(contentsOfFile: out.file("report.html"), encoding: .utf8)
        let jpegs = images(html)
        // flicker (2), freeze (2), cut (2), blur (1), warping (2)
        XCTAssertEqual(jpegs.count, 9)
        for jpeg in jpegs {
            XCTAssertEqual(Array(jpeg.prefix(3)), [0xFF, 0xD8, 0xFF], "a JPEG")
            XCTAssertGreaterThan(jpeg.count, 500)
        }
        XCTAssertTrue(html.contains("width=\"96\" height=\"64\""), "small clips are not enlarged")
        // The cut: the last frame of the first shot and the first of the second.
        let cut = try XCTUnwrap(html.range(of: "data-kind=\"cut\"").map { String(html[$0.lowerBound...].prefix(20_000)) })
        XCTAssertTrue(cut.contains("frame 5 · 0.208 s"), "frame 5 at 5/24 s")
        XCTAssertTrue(cut.contains("frame 6 · 0.250 s"))
        XCTAssertTrue(cut.contains("<code>m/cut-1.mkv</code>"))
        XCTAssertTrue(html.contains("data-kind=\"freeze\""))
        XCTAssertFalse(html.contains("class=\"missing\""))

        // The stutter clip is gone and the flicker clip replaced: named, not fatal; the rest still shown.
        try FileManager.default.removeItem(atPath: clips.file("m/stutter-1.mp4"))
        try SyntheticScene(seed: 9, width: 96, height: 64).write(to: clips.file("m/flicker-1.mp4"), frames: 16, defect: .flicker)
        try writer.write(rows)
        let after = try String(contentsOfFile: out.file("report.html"), encoding: .utf8)
        XCTAssertTrue(after.contains("m/stutter-1.mp4: the clip is gone (no file \(clips.path)/m/stutter-1.mp4)"))
        XCTAssertTrue(after.contains("\(clips.path)/m/flicker-1.mp4: the file changed since it was scored"))
        XCTAssertEqual(images(after).count, 9 - 2, "the freeze's two frames came from the gone clip")
    }

    func testAnyOrderOfTimesGivesEachItsFrame() throws {
        let clips = TempDir()
        try SyntheticScene(seed: 5, width: 96, height: 64).write(to: clips.file("m/a-1.mp4"), frames: 40, defect: .flicker)
        var row = ClipResult(path: "m/a-1.mp4", name: ClipName(model: "m", prompt: "a", seed: 1), status: .ok)
        row.frameTimes = (0..<40).map { Double($0) / 24 }
        let times = [36, 2, 20, 3, 30].map { Double($0) / 24 }
        let source = ClipThumbnails(folder: clips.path)
        let shuffled = source.thumbnails(of: row, at: times, maxWidth: 320)
        let ascending = source.thumbnails(of: row, at: times.sorted(), maxWidth: 320)
        XCTAssertNil(shuffled.problem)
        for (t, image) in zip(times, shuffled.images) {
            let i = try XCTUnwrap(times.sorted().firstIndex(of: t))
            XCTAssertEqual(try XCTUnwrap(image).time, t, accuracy: 0.001, "millisecond timestamps")
            XCTAssertEqual(image, ascending.images[i], "frame at \(t) s")
        }
    }

    func testNoFolderIsNamedPerClip() {
        var row = ClipResult(path: "m/a-1.mp4", name: ClipName(model: "m", prompt: "a", seed: 1), status: .ok)
        row.frameTimes = [0, 0.04]
        let none = ClipThumbnails(folder: nil).thumbnails(of: row, at: [0, 0.04], maxWidth: 320)
        XCTAssertEqual(none.images.count, 2)
        XCTAssertTrue(none.images.allSatisfy { $0 == nil })
        XCTAssertEqual(none.problem, "m/a-1.mp4: no frames: the results do not record where the clips were scored from; give --clips DIR")
    }
}
