import Foundation
@testable import GallopLearned
import XCTest

/// The encoders against the tiny fixtures (`Fixtures/learned`, made by `scripts/gallopcheck/learned.py
/// --fixtures` with the reference code: DINO's `VisionTransformer` transcribed, openai-clip's `CLIP` in
/// float32, each checked there against timm, transformers and open_clip). Every layout and dtype: DINO in
/// DINO/timm names (F32, 1 head by the W/64 rule) and HF ViT names (BF16, 2 heads from config.json), CLIP in
/// OpenAI/open_clip names (F16, heads from open_clip_config.json) and HF CLIP names (F32), the aesthetic head.
/// DINO's images include the trained 32 × 32 (positions as trained), 32 × 48 and 48 × 32 (DINO's bicubic
/// position interpolation with its + 0.1) and 40 × 56 (remainder dropped). Each output must be within cosine
/// ≥ 0.999999 and max |Δ| ≤ 1e-5 · max(1, |ref|∞) (interfaces §B).
final class EncoderTests: XCTestCase {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("learned")

    struct Expected: Decodable {
        struct Image: Decodable { let height: Int; let width: Int; let pixels: [Float]; let output: [Float] }
        struct Text: Decodable { let tokens: [Int]; let output: [Float] }
        struct Feature: Decodable { let input: [Float]; let output: Float }
        let images: [Image]?
        let texts: [Text]?
        let features: [Feature]?
    }

    func expected(_ model: String) throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.root.appendingPathComponent(model).appendingPathComponent("expected.json")))
    }

    func path(_ model: String) -> String { Self.root.appendingPathComponent(model).path }

    /// Asserts the interfaces' tolerance and returns (cosine, max |Δ|).
    @discardableResult
    static func assertClose(_ got: [Float], _ reference: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) -> (Double, Double) {
        XCTAssertEqual(got.count, reference.count, what, file: file, line: line)
        guard got.count == reference.count else { return (0, .infinity) }
        var dot = 0.0, a2 = 0.0, b2 = 0.0, worst = 0.0, peak = 0.0
        for (a, b) in zip(got, reference) {
            dot += Double(a) * Double(b); a2 += Double(a) * Double(a); b2 += Double(b) * Double(b)
            worst = max(worst, abs(Double(a) - Double(b))); peak = max(peak, abs(Double(b)))
        }
        let cosine = dot / (a2 * b2).squareRoot()
        print("\(what): cosine \(String(format: "%.10f", cosine)), max |Δ| \(String(format: "%.2e", worst)), |ref|∞ \(String(format: "%.2f", peak))")
        XCTAssertGreaterThanOrEqual(cosine, 0.999999, "\(what): cosine", file: file, line: line)
        XCTAssertLessThanOrEqual(worst, 1e-5 * max(1, peak), "\(what): max |Δ| \(worst) (|ref|∞ \(peak))", file: file, line: line)
        return (cosine, worst)
    }

    func checkImages(_ name: String, layout: Layout, heads: Int) throws {
        let model = try LoadedModel(path: path(name))
        XCTAssertEqual(model.architecture.layout, layout)
        XCTAssertEqual(model.architecture.vision?.stack.heads, heads)
        let encoder = try VisionEncoder(model)
        let fixture = try expected(name)
        XCTAssertFalse(fixture.images!.isEmpty)
        for image in fixture.images! {
            let out = try image.pixels.withUnsafeBufferPointer { try encoder.encode($0, count: 1, height: image.height, width: image.width) }
            Self.assertClose(out, image.output, "\(name) \(image.height)×\(image.width)")
        }
        // Batched: images of one size together give the same features as one at a time.
        let groups = Dictionary(grouping: fixture.images!) { "\($0.height)x\($0.width)" }
        for (_, group) in groups where group.count > 1 {
            let pixels = group.flatMap(\.pixels)
            let out = try pixels.withUnsafeBufferPointer { try encoder.encode($0, count: group.count, height: group[0].height, width: group[0].width) }
            let d = encoder.outputDimension
            for (i, image) in group.enumerated() { Self.assertClose(Array(out[(i * d)..<((i + 1) * d)]), image.output, "\(name) batched #\(i)") }
        }
    }

    func testDINOTimm() throws { try checkImages("dino-timm", layout: .dinoTimm, heads: 1) }
    func testDINOHF() throws { try checkImages("dino-hf", layout: .hfViT, heads: 2) }
    func testCLIPOpenAIImages() throws { try checkImages("clip-openai", layout: .openCLIP, heads: 2) }
    func testCLIPHFImages() throws { try checkImages("clip-hf", layout: .hfCLIP, heads: 2) }

    func checkTexts(_ name: String) throws {
        let model = try LoadedModel(path: path(name))
        let encoder = try TextEncoder(model)
        XCTAssertEqual(encoder.architecture.stack.heads, 2)
        let fixture = try expected(name)
        XCTAssertEqual(fixture.texts?.count, 3)
        for (i, text) in fixture.texts!.enumerated() {
            Self.assertClose(try encoder.encode(text.tokens), text.output, "\(name) text \(i)")
        }
    }

    func testCLIPOpenAITexts() throws { try checkTexts("clip-openai") }
    func testCLIPHFTexts() throws { try checkTexts("clip-hf") }

    func testAestheticHead() throws {
        let head = try AestheticHead(try LoadedModel(path: path("aesthetic")))
        let fixture = try expected("aesthetic")
        XCTAssertFalse(fixture.features!.isEmpty)
        for f in fixture.features! {
            XCTAssertEqual(Double(head.score(f.input[...])), Double(f.output), accuracy: 1e-5 * max(1, abs(Double(f.output))))
        }
    }

    /// The folder and its weights file resolve to the same files, architecture and outputs.
    func testFolderAndFileResolveAlike() throws {
        for name in ["dino-hf", "clip-openai"] {
            let folder = try LoadedModel(path: path(name))
            let weights = folder.files.weights
            XCTAssertTrue(weights.hasSuffix(name == "dino-hf" ? "/model.safetensors" : "/open_clip_model.safetensors"))
            let file = try LoadedModel(path: weights)
            XCTAssertEqual(file.architecture, folder.architecture)
            XCTAssertEqual(file.files.configPath, folder.files.configPath)
            XCTAssertEqual(file.files.openCLIPConfigPath, folder.files.openCLIPConfigPath)
            let image = try expected(name).images![0]
            let a = try image.pixels.withUnsafeBufferPointer { try VisionEncoder(folder).encode($0, count: 1, height: image.height, width: image.width) }
            let b = try image.pixels.withUnsafeBufferPointer { try VisionEncoder(file).encode($0, count: 1, height: image.height, width: image.width) }
            XCTAssertEqual(a, b)
        }
    }

    /// Copied elsewhere under another name, the file has no config: dino-hf then falls back to HF ViT's rule
    /// (heads W/64 = 1, ε 1e-12), which the outputs must show (so the config is really what set 2 heads).
    func testFileWithOtherNameReadsNoConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gallop-learned-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("dino.safetensors")
        try FileManager.default.copyItem(atPath: path("dino-hf") + "/model.safetensors", toPath: copy.path)
        try FileManager.default.copyItem(atPath: path("dino-hf") + "/config.json", toPath: dir.appendingPathComponent("config.json").path)
        let model = try LoadedModel(path: copy.path)
        XCTAssertNil(model.files.configPath)
        XCTAssertEqual(model.architecture.vision?.stack.heads, 1)
        XCTAssertEqual(model.architecture.vision?.stack.eps, 1e-12)
        let image = try expected("dino-hf").images![0]
        let out = try image.pixels.withUnsafeBufferPointer { try VisionEncoder(model).encode($0, count: 1, height: image.height, width: image.width) }
        var worst: Float = 0
        for (a, b) in zip(out, image.output) { worst = max(worst, abs(a - b)) }
        XCTAssertGreaterThan(worst, 1e-3, "one head instead of two must change the features")
    }

    func testEncoderInputErrors() throws {
        let clip = try VisionEncoder(try LoadedModel(path: path("clip-openai")))
        let pixels = [Float](repeating: 0, count: 3 * 40 * 40)
        XCTAssertThrowsError(try pixels.withUnsafeBufferPointer { try clip.encode($0, count: 1, height: 40, width: 40) }) {
            XCTAssertEqual(($0 as? ModelError)?.reason, "CLIP's encoder takes 32 × 32 images (it does not interpolate its positions); got 40 × 40")
        }
        XCTAssertThrowsError(try pixels.withUnsafeBufferPointer { try clip.encode($0, count: 2, height: 40, width: 40) }) {
            XCTAssertEqual(($0 as? ModelError)?.reason, "4800 pixel values for 2 images of 3 × 40 × 40")
        }
        let dino = try VisionEncoder(try LoadedModel(path: path("dino-timm")))
        XCTAssertThrowsError(try [Float](repeating: 0, count: 3 * 4 * 40).withUnsafeBufferPointer { try dino.encode($0, count: 1, height: 4, width: 40) }) {
            XCTAssertEqual(($0 as? ModelError)?.reason, "an image of 4 × 40 is smaller than one 8 × 8 patch")
        }
        let text = try TextEncoder(try LoadedModel(path: path("clip-openai")))
        XCTAssertThrowsError(try text.encode([1, 2])) { XCTAssertEqual(($0 as? ModelError)?.reason, "2 token ids; the text encoder takes exactly 77") }
        XCTAssertThrowsError(try text.encode([1024] + [Int](repeating: 0, count: 76))) {
            XCTAssertEqual(($0 as? ModelError)?.reason, "token id 1024 is outside the vocabulary of 1024")
        }
        XCTAssertThrowsError(try TextEncoder(try LoadedModel(path: path("dino-timm")))) {
            XCTAssertEqual(($0 as? ModelError)?.reason, "the model (DINO/timm names) has no text encoder")
        }
        XCTAssertThrowsError(try VisionEncoder(try LoadedModel(path: path("aesthetic")))) {
            XCTAssertEqual(($0 as? ModelError)?.reason, "the model (LAION aesthetic head) has no image encoder")
        }
    }

    /// The text row pooled: argmax (first of equal maxima) or HF's first eos id.
    func testPoolPosition() throws {
        let openai = try TextEncoder(try LoadedModel(path: path("clip-openai")))
        XCTAssertNil(openai.architecture.eosTokenID)
        XCTAssertEqual(openai.poolPosition([1022, 5, 1023, 9, 1023] + [Int](repeating: 0, count: 72)), 2)
        let hf = try TextEncoder(try LoadedModel(path: path("clip-hf")))
        XCTAssertEqual(hf.architecture.eosTokenID, 1023)
        XCTAssertEqual(hf.poolPosition([1022, 5, 1023, 9, 1023] + [Int](repeating: 0, count: 72)), 2)
        XCTAssertEqual(hf.poolPosition([1022, 5, 6] + [Int](repeating: 0, count: 74)), 0)
    }
}
