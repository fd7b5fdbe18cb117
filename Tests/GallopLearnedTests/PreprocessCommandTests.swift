import Foundation
import GallopCore
@testable import GallopLearned
import XCTest

/// `gallop-embed preprocess` (`PreprocessCommand`): argument errors, a fixture image through files (equal to
/// torchvision's values within PreprocessTests' 1e-5), several frames in one file, and a wrong input size.
final class PreprocessCommandTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gallop-preprocess-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func parseError(_ arguments: [String]) -> String? {
        do { _ = try PreprocessCommand.parse(arguments); return nil } catch { return "\(error)" }
    }

    func testArgumentErrors() throws {
        XCTAssertEqual(parseError([]), "preprocess needs a transform (dino or clip)")
        XCTAssertEqual(parseError(["vit", "in", "out"]), "unknown transform 'vit' (expected dino or clip)")
        XCTAssertEqual(parseError(["dino", "in"]), "preprocess takes dino|clip IN OUT; got 1 path")
        XCTAssertEqual(parseError(["clip", "in", "out"]), "preprocess needs --frames N H W")
        XCTAssertEqual(parseError(["clip", "in", "out", "--frames", "1", "720"]), "--frames needs 3 numbers")
        XCTAssertEqual(parseError(["clip", "in", "out", "--frames", "1", "720", "0"]), "--frames takes positive integers; got '0'")
        XCTAssertEqual(parseError(["clip", "in", "out", "--frames", "1", "2", "3", "--size", "-4"]), "--size takes positive integers; got '-4'")
        XCTAssertEqual(parseError(["clip", "in", "out", "--frames", "1", "2", "3", "--fast"]), "unknown option '--fast'")
        let c = try PreprocessCommand.parse(["clip", "in", "out", "--frames", "2", "720", "1280"])
        XCTAssertEqual(c.kind, .clip); XCTAssertEqual(c.count, 2); XCTAssertEqual([c.height, c.width], [720, 1280])
        XCTAssertEqual(c.size, 224)
        XCTAssertEqual(try PreprocessCommand.parse(["dino", "in", "out", "--size", "16", "--frames", "1", "2", "3"]).size, 16)
    }

    func testFramesThroughFiles() throws {
        let fixture = try PreprocessFixture.load()
        let image = fixture.images.first { $0.name == "landscape-down-margin-9" }!
        // The fixture image, then the same bytes reversed (another frame of the same size).
        let second = Array(image.pixels.reversed())
        let input = dir + "/in.rgb"
        FileManager.default.createFile(atPath: input, contents: Data(image.pixels + second))
        for kind in Preprocessor.Kind.allCases {
            let output = dir + "/\(kind.rawValue).f32"
            let line = try PreprocessCommand.parse([kind.rawValue, input, output, "--frames", "2", "\(image.height)", "\(image.width)",
                                                    "--size", "\(fixture.size)"]).run()
            let want = kind == .dino ? image.dino : image.clip
            XCTAssertEqual(line, "preprocess \(kind.rawValue): 2 frames of \(image.width) × \(image.height) → 3 × \(want.height) × \(want.width) floats each (size \(fixture.size))")
            let data = try Data(contentsOf: URL(fileURLWithPath: output))
            let out = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let n = want.values.count
            XCTAssertEqual(out.count, 2 * n)
            guard out.count == 2 * n else { continue }
            let worst = zip(out[0..<n], want.values).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(kind): max |Δ| \(worst)")
            let pre = Preprocessor(kind, size: fixture.size, height: image.height, width: image.width)
            let direct = PlaneBuffer(width: image.width, height: image.height, channels: 3, samples: second).withPlane { plane in
                [Float](unsafeUninitializedCapacity: n) { buffer, count in
                    pre.write(rgb: plane, into: buffer)
                    count = n
                }
            }
            XCTAssertEqual(Array(out[n...]), direct)
        }
    }

    func testWrongInputSize() throws {
        let input = dir + "/short.rgb"
        FileManager.default.createFile(atPath: input, contents: Data(count: 100))
        XCTAssertThrowsError(try PreprocessCommand.parse(["dino", input, dir + "/o.f32", "--frames", "2", "4", "5"]).run()) {
            XCTAssertEqual("\($0)", "\(input): 100 bytes; 2 frames of 5 × 4 RGB24 need 120")
        }
        XCTAssertThrowsError(try PreprocessCommand.parse(["dino", dir + "/missing.rgb", dir + "/o.f32", "--frames", "1", "4", "5"]).run()) {
            XCTAssertEqual("\($0)", "\(self.dir)/missing.rgb: cannot read the input file")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/o.f32"))
    }
}
