import Foundation
import GallopConfig
import GallopCore
import GallopHarness
import GallopResults
import GallopTestSupport
import GallopVideo
import XCTest

/// The fuzz target's property (scripts/verify fuzz), kept in the quick suite on a few
/// seeded corruptions: any bytes give a row, ok or an error naming the file,
/// that reads back as a results line. A crash or a hang here fails the run.
final class CorruptionTests: XCTestCase {
    func testCorruptedClipsAreRowsThatReadBack() throws {
        let dir = TempDir()
        let frames = (0..<6).map { Planes.texture(24, 16, dx: Double($0) * 2) }
        var rng = TestRNG(seed: 15)
        var limits = Scorer.Limits()
        limits.pixels = 1024 * 1024
        limits.frames = 64
        let scorer = try Scorer(config: RunConfig(metrics: [], motionSide: 64), threads: 1, limits: limits)
        var ok = 0, errors = 0
        for (name, codec) in [("c.mkv", VideoWriter.Codec.ffv1), ("c.mp4", .mpeg4(q: 5)), ("c.avi", .mpeg4(q: 9))] {
            let clean = try Data(contentsOf: URL(fileURLWithPath: Clips.write(dir.file("clean/" + name), frames, codec: codec)))
            for variant in 0..<12 {
                var bytes = [UInt8](clean)
                switch variant % 3 {
                case 0: // a few bytes overwritten
                    for _ in 0..<(1 + variant) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
                case 1: // cut short
                    bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
                default: // a run of bytes repeated in place
                    let at = Int(rng.next() % UInt64(bytes.count)), n = min(64, bytes.count - at)
                    bytes.insert(contentsOf: bytes[at..<(at + n)], at: at)
                }
                let rel = "m/\(variant)-\(name)"
                FileManager.default.createFile(atPath: dir.file(rel), contents: Data(bytes))
                let row = scorer.score(path: dir.file(rel), relativePath: rel, name: ClipName.parse(relativePath: rel))
                if row.status == .ok {
                    ok += 1
                    XCTAssertGreaterThan(row.frames, 0, rel)
                } else {
                    errors += 1
                    XCTAssertTrue(row.error?.contains(dir.file(rel)) ?? false, "\(rel): \(row.error ?? "no message")")
                }
                let back = try ClipResult(json: JSONParser.parse(row.json.serialized()))
                XCTAssertEqual(back.status, row.status, rel)
                XCTAssertEqual(back.frames, row.frames, rel)
            }
        }
        // Both kinds occur, so the test reads both paths.
        XCTAssertGreaterThan(ok, 0)
        XCTAssertGreaterThan(errors, 0)
    }
}
