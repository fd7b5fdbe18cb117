import Foundation
import GallopConfig
import GallopCore
import GallopHarness
import GallopResults
import GallopTestSupport
import GallopVideo
import XCTest

/// A clip with a display matrix is scored as displayed, and its row says so.
final class RotationRowTests: XCTestCase {
    /// Portrait frames as a viewer sees them (48 wide, 64 tall), and the landscape
    /// frames a phone stores for them with a 90-degree display matrix.
    let shown = (0..<6).map { Planes.texture(48, 64, dx: Double($0) * 2) }
    var stored: [PlaneBuffer] { shown.map { PlaneRotation.rotated($0, degrees: 270) } }

    func score(_ path: String, _ relative: String, metrics: [String], reference: String? = nil) throws -> ClipResult {
        try Scorer(config: RunConfig(metrics: metrics, reference: reference))
            .score(path: path, relativePath: relative, name: ClipName.parse(relativePath: relative))
    }

    func testRowRecordsRotationAndTheDisplayedSize() throws {
        let dir = TempDir()
        // H.264 at CRF 0: lossless, and MP4 keeps the display matrix.
        try Clips.write(dir.file("m/turned.mp4"), stored, codec: .h264(crf: 0), rotation: 90)
        try Clips.write(dir.file("m/upright.mkv"), shown)
        let turned = try score(dir.file("m/turned.mp4"), "m/turned.mp4", metrics: ["exposure", "camera_motion"])
        let upright = try score(dir.file("m/upright.mkv"), "m/upright.mkv", metrics: ["exposure", "camera_motion"])
        XCTAssertEqual(turned.status, .ok, turned.error ?? "")
        XCTAssertEqual(turned.rotation, 90)
        XCTAssertEqual(turned.width, 48)
        XCTAssertEqual(turned.height, 64)
        XCTAssertEqual(upright.rotation, 0)
        XCTAssertEqual(upright.width, 48)
        XCTAssertEqual(upright.height, 64)
        // Turned upright before scoring: the same frames, so the same numbers.
        XCTAssertEqual(JSONValue.object(turned.metrics.map { ($0.0, .number($0.1)) }).serialized(),
                       JSONValue.object(upright.metrics.map { ($0.0, .number($0.1)) }).serialized())
        // In the row, `rotation` follows `height`, and reads back.
        let keys = turned.json.objectValue!.map(\.0)
        XCTAssertEqual(keys[keys.firstIndex(of: "height")! + 1], "rotation")
        XCTAssertEqual(turned.json["rotation"]?.intValue, 90)
        XCTAssertEqual(try ClipResult(json: turned.json).rotation, 90)
    }

    /// `--reference` with one side turned: the reference is matched to the clip's
    /// displayed size, so identical pictures compare as identical, with no rescaling.
    func testReferenceWorksWhenOneSideIsRotated() throws {
        let clips = TempDir(), refs = TempDir()
        try Clips.write(clips.file("a.mp4"), stored, codec: .h264(crf: 0), rotation: 90)
        try Clips.write(refs.file("a.mp4"), shown, codec: .h264(crf: 0))
        try Clips.write(clips.file("b.mkv"), shown)
        try Clips.write(refs.file("b.mp4"), stored, codec: .h264(crf: 0), rotation: 90)  // paired by prompt "b"
        for relative in ["a.mp4", "b.mkv"] {
            let row = try score(clips.file(relative), relative, metrics: ["psnr", "ssim_fast"], reference: refs.path)
            XCTAssertEqual(row.status, .ok, row.error ?? "")
            XCTAssertEqual(row.value("psnr"), 60, "\(relative): identical frames read the 60 dB cap: \(row.metrics)")
            XCTAssertEqual(row.value("ssim_fast") ?? 0, 1, accuracy: 1e-7, relative)
            XCTAssertFalse(row.warnings.contains { $0.contains("scaled to the clip's") }, "\(relative): \(row.warnings)")
        }
    }
}
