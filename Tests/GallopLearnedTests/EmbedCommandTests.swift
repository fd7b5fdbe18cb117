import Foundation
@testable import GallopLearned
import XCTest

/// `gallop-embed`'s work (`EmbedCommand`, which its main.swift calls): argument errors, raw files in and out on
/// the tiny fixtures (outputs equal the encoders' own), and the errors for a wrong file size or model.
final class EmbedCommandTests: XCTestCase {
    var dir = ""
    let root = EncoderTests.root.path

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gallop-embed-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func parseError(_ arguments: [String]) -> String? {
        do { _ = try EmbedCommand.parse(arguments); return nil } catch { return "\(error)" }
    }

    func testArgumentErrors() throws {
        XCTAssertEqual(parseError([]), "no command given (dino, clip-image, clip-text or aesthetic)")
        XCTAssertEqual(parseError(["vit"]), "unknown command 'vit' (expected dino, clip-image, clip-text or aesthetic)")
        XCTAssertEqual(parseError(["dino", "m", "in"]), "dino takes MODEL IN OUT; got 2 paths")
        XCTAssertEqual(parseError(["dino", "m", "in", "out"]), "dino needs --images N H W")
        XCTAssertEqual(parseError(["dino", "m", "in", "out", "--images", "1", "224"]), "--images needs 3 numbers")
        XCTAssertEqual(parseError(["dino", "m", "in", "out", "--images", "1", "0", "3"]), "--images takes positive integers; got '0'")
        XCTAssertEqual(parseError(["clip-text", "m", "in", "out", "--images", "1", "2", "3"]), "clip-text takes --texts, not --images")
        XCTAssertEqual(parseError(["aesthetic", "m", "in", "out", "--features", "2", "768", "--fast"]), "unknown option '--fast'")
        let c = try EmbedCommand.parse(["dino", "m", "in", "out", "--images", "2", "224", "398", "--batch", "4"])
        XCTAssertEqual(c.mode, .dino); XCTAssertEqual(c.count, 2); XCTAssertEqual(c.shape, [224, 398]); XCTAssertEqual(c.batch, 4)
    }

    func write(_ values: [Float], _ name: String) -> String {
        let path = dir + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: values.withUnsafeBytes { Data($0) }))
        return path
    }

    func read(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testImagesThroughFiles() throws {
        let fixture = try JSONDecoder().decode(EncoderTests.Expected.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/dino-timm/expected.json")))
        let image = fixture.images!.first { $0.height == 32 && $0.width == 48 }!
        // Three copies in batches of two (a full batch and a partial one).
        let input = write(image.pixels + image.pixels + image.pixels, "in.f32")
        let line = try EmbedCommand.parse(["dino", root + "/dino-timm", input, dir + "/out.f32", "--images", "3", "32", "48", "--batch", "2"]).run()
        XCTAssertEqual(line, "dino-timm: DINO/timm names, ViT-W64/8 (W 64, depth 2, heads 1, mlp 256, eps 1e-6, gelu, patch 8, grid 4)")
        let out = try read(dir + "/out.f32")
        XCTAssertEqual(out.count, 3 * 64)
        let direct = try VisionEncoder(try LoadedModel(path: root + "/dino-timm"))
        let one = try image.pixels.withUnsafeBufferPointer { try direct.encode($0, count: 1, height: 32, width: 48) }
        // The last, partial batch is one image as `one` is: the same bits. In the batch of two the products have
        // twice the rows, which OpenBLAS may block differently: equal to rounding.
        XCTAssertEqual(Array(out[128..<192]), one)
        for i in 0..<2 { for (a, b) in zip(out[(i * 64)..<((i + 1) * 64)], one) { XCTAssertEqual(a, b, accuracy: 1e-5) } }
        EncoderTests.assertClose(one, image.output, "gallop-embed dino")
    }

    func testTextsAndAestheticThroughFiles() throws {
        let fixture = try JSONDecoder().decode(EncoderTests.Expected.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/clip-hf/expected.json")))
        let ids = fixture.texts!.flatMap(\.tokens).map { Int32($0) }
        let input = dir + "/in.i32"
        XCTAssertTrue(FileManager.default.createFile(atPath: input, contents: ids.withUnsafeBytes { Data($0) }))
        try EmbedCommand.parse(["clip-text", root + "/clip-hf/model.safetensors", input, dir + "/t.f32", "--texts", "3"]).run()
        let out = try read(dir + "/t.f32")
        for (i, text) in fixture.texts!.enumerated() { EncoderTests.assertClose(Array(out[(i * 32)..<((i + 1) * 32)]), text.output, "text \(i)") }

        let features = try JSONDecoder().decode(EncoderTests.Expected.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/aesthetic/expected.json"))).features!
        let f = write(features.flatMap(\.input), "f.f32")
        try EmbedCommand.parse(["aesthetic", root + "/aesthetic", f, dir + "/a.f32", "--features", "\(features.count)", "32"]).run()
        let scores = try read(dir + "/a.f32")
        XCTAssertEqual(scores.count, features.count)
        for (s, e) in zip(scores, features) { XCTAssertEqual(s, e.output, accuracy: 1e-5 * max(1, abs(e.output))) }
    }

    func runError(_ arguments: [String]) -> String? {
        do { try EmbedCommand.parse(arguments).run(); return nil } catch { return "\(error)" }
    }

    func testRunErrors() {
        let small = write([Float](repeating: 0, count: 10), "small.f32")
        XCTAssertEqual(runError(["dino", root + "/dino-timm", small, dir + "/o", "--images", "1", "32", "32"]),
                       "\(small): 40 bytes; 1 images of 3 × 32 × 32 floats need 12288")
        XCTAssertEqual(runError(["dino", root + "/clip-openai", small, dir + "/o", "--images", "1", "32", "32"]),
                       "\(root)/clip-openai/open_clip_model.safetensors: dino needs a DINO model (DINO/timm or HF ViT names); this model is OpenAI/open_clip names (CLIP)")
        XCTAssertEqual(runError(["clip-image", root + "/dino-hf", small, dir + "/o", "--images", "1", "32", "32"]),
                       "\(root)/dino-hf/model.safetensors: clip-image needs a CLIP model (OpenAI/open_clip or HF CLIP names); this model is HF ViT names")
        XCTAssertEqual(runError(["clip-text", root + "/aesthetic", small, dir + "/o", "--texts", "1"]),
                       "\(root)/aesthetic/model.safetensors: clip-text needs a CLIP model with a text encoder; this model is LAION aesthetic head")
        XCTAssertEqual(runError(["aesthetic", root + "/aesthetic", small, dir + "/o", "--features", "1", "768"]),
                       "\(root)/aesthetic/model.safetensors: the aesthetic head takes 32 features; --features gives 768")
        XCTAssertEqual(runError(["aesthetic", dir + "/none", small, dir + "/o", "--features", "1", "768"]), "\(dir)/none: no such file or folder")
        XCTAssertEqual(runError(["aesthetic", root + "/aesthetic", dir + "/missing.f32", dir + "/o", "--features", "1", "32"]),
                       "\(dir)/missing.f32: cannot read the input file")
    }
}
