import Foundation
import GallopCore
import GallopLearned
@testable import GallopMetrics
import GallopTestSupport
import XCTest

/// The learned metrics: their formulas on known features, their selection without weights, and the whole path
/// (preprocessing, batched encoding, formula) through the tiny fixture models of GallopLearnedTests.
final class LearnedMetricsTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("GallopLearnedTests/Fixtures/learned").path

    override func tearDown() {
        ModelStore.acceptsAnyArchitecture = false
    }

    // MARK: formulas on known features

    func testConsistencyOnKnownFeatures() throws {
        // Frame 1: cos with frame 0 and with the previous (frame 0) are 0.6 → 0.6. Frame 2 (−1, 0): −0.6 with the
        // previous and −1 with the first, both clamped to 0 → 0. Mean over the N − 1 = 2 frames: 0.3.
        let r = LearnedFormulas.consistency([[1, 0], [0.6, 0.8], [-1, 0]])
        XCTAssertEqual(try XCTUnwrap(r.value), 0.3, accuracy: 1e-7)
        XCTAssertNil(r.series[0])
        XCTAssertEqual(r.series[1]!, 0.6, accuracy: 1e-7)
        XCTAssertEqual(r.series[2]!, 0, accuracy: 1e-12)
        // Not normalised on input: the formula normalises ((2, 0) is (1, 0)).
        XCTAssertEqual(try XCTUnwrap(LearnedFormulas.consistency([[2, 0], [3, 4], [-5, 0]]).value), 0.3, accuracy: 1e-7)
        // One frame: undefined (VBench divides by zero).
        XCTAssertNil(LearnedFormulas.consistency([[1, 0]]).value)
    }

    func testAestheticOnKnownFeatures() throws {
        // f̂ = (0.6, 0.8) and (0, 1); w = (1, 2), b = 0.5: 2.7 and 2.5, / 10, mean 0.26.
        let r = LearnedFormulas.aesthetic([[3, 4], [0, 2]], head: ([1, 2], 0.5))
        XCTAssertEqual(try XCTUnwrap(r.value), 0.26, accuracy: 1e-7)
        XCTAssertEqual(r.series.map { $0! }, [0.27, 0.25].map { $0 }, accuracy: 1e-7)
    }

    func testCLIPScoreOnKnownFeatures() throws {
        // Text (1, 0): frames (0.6, 0.8) → 60, (0, 1) → 0; mean 30.
        let r = LearnedFormulas.clipScore([[0.6, 0.8], [0, 2]], text: [2, 0])
        XCTAssertEqual(try XCTUnwrap(r.value), 30, accuracy: 1e-6)
        // torchmetrics clamps the mean, not each frame: −100 and 60 average −20 → 0; the series keeps −100.
        let negative = LearnedFormulas.clipScore([[-1, 0], [0.6, 0.8]], text: [1, 0])
        XCTAssertEqual(negative.value, 0)
        XCTAssertEqual(negative.series[0]!, -100, accuracy: 1e-6)
    }

    // MARK: selection without weights

    func testWithoutWeightsTheLearnedMetricsAreLeftOutAndListed() throws {
        let learned = ["subject_consistency", "background_consistency", "aesthetic_quality", "clip_score"]
        let selected = try MetricRegistry.select(nil).map { $0.info.name }
        for name in learned { XCTAssertFalse(selected.contains(name), name) }
        XCTAssertEqual(try MetricRegistry.unavailable(nil).map(\.metric), learned)
        XCTAssertEqual(try MetricRegistry.unavailable(nil).first.map { MetricRegistry.notComputed($0.metric, missing: $0.missing) },
                       "subject_consistency (needs models.dino_vitb16; see `gallop metrics`)")
        // Named explicitly: the same (left out, listed).
        XCTAssertEqual(try MetricRegistry.select(["sharpness", "clip_score"]).map { $0.info.name }, ["sharpness"])
        XCTAssertEqual(try MetricRegistry.unavailable(["sharpness", "aesthetic_quality"]).map { $0.missing }, [[.clipViTL14, .laionAesthetic]])
        // With the weights: in the default set.
        let all = try MetricRegistry.select(nil, models: Set(ModelKey.allCases)).map { $0.info.name }
        for name in learned { XCTAssertTrue(all.contains(name), name) }
        XCTAssertTrue(try MetricRegistry.unavailable(nil, models: Set(ModelKey.allCases)).isEmpty)
    }

    // MARK: the whole path through the tiny fixture models

    func testTinyModelsAreRefusedForTheMetrics() {
        ModelStore.acceptsAnyArchitecture = false
        XCTAssertThrowsError(try ModelRef.resolve(.dinoViTB16, path: Self.fixtures + "/dino-timm")) {
            let text = "\($0)"
            XCTAssertTrue(text.hasPrefix(Self.fixtures + "/dino-timm/model.safetensors: models.dino_vitb16 must be DINO ViT-B/16"), text)
        }
        XCTAssertThrowsError(try ModelRef.resolve(.clipViTB32, path: Self.fixtures + "/dino-timm"))
    }

    /// Frames of 40 × 24 px: a textured scene, moved or replaced per frame.
    func frames(_ count: Int, moving: Bool) -> [PlaneBuffer] {
        (0..<count).map { i in
            var samples: [UInt8] = []
            for y in 0..<24 {
                for x in 0..<40 {
                    let s = moving ? i : 0
                    samples += [UInt8((x * 7 + y * 3 + 40 * s) % 256), UInt8((x * y + 17 * s * s) % 256), UInt8((200 - 5 * x + y * s) & 255)]
                }
            }
            return PlaneBuffer(width: 40, height: 24, channels: 3, samples: samples)
        }
    }

    func testConsistencyThroughTinyModelsMatchesTheEncoderFrameByFrame() throws {
        ModelStore.acceptsAnyArchitecture = true
        var settings = MetricSettings()
        settings.models[.dinoViTB16] = try ModelRef.resolve(.dinoViTB16, path: Self.fixtures + "/dino-timm")
        settings.models[.clipViTB32] = try ModelRef.resolve(.clipViTB32, path: Self.fixtures + "/clip-openai")
        // 11 frames: one batch of 8 and one of 3.
        let rgb = frames(11, moving: true)
        let luma = (0..<11).map { _ in Planes.constant(40, 24, 100) }
        let r = score([SubjectConsistency.self, BackgroundConsistency.self], luma: luma, rgb: rgb, settings: settings)
        // The same frames one at a time through the encoders, then the formula.
        for (name, ref, kind, eps) in [("subject_consistency", settings.models[.dinoViTB16]!, Preprocessor.Kind.dino, Float(1e-6) as Float?),
                                       ("background_consistency", settings.models[.clipViTB32]!, .clip, nil)] {
            let encoder = try ModelStore.shared.visionEncoder(ref, eps: eps)
            let side = encoder.architecture.grid * encoder.architecture.patch
            let p = Preprocessor(kind, size: side, height: 24, width: 40)
            var features: [[Float]] = []
            for i in 0..<11 {
                let pixels = luma[i].withPlane { y in rgb[i].withPlane { c in p(Frame(index: i, time: 0, duration: 1, luma: y, rgb: c)) } }
                features.append(try pixels.withUnsafeBufferPointer { try encoder.encode($0, count: 1, height: p.outputHeight, width: p.outputWidth) })
            }
            let expected = try XCTUnwrap(LearnedFormulas.consistency(features).value)
            let got = try XCTUnwrap(value(r, name), name)
            XCTAssertEqual(got, expected, accuracy: 1e-6, name)
            XCTAssertLessThan(got, 0.999, name)
            XCTAssertEqual(r[name]!.output.series.count, 11)
        }
        // A static clip: every feature equal, so 1.
        let still = score([SubjectConsistency.self, BackgroundConsistency.self], luma: Array(luma.prefix(3)), rgb: frames(3, moving: false), settings: settings)
        XCTAssertEqual(try XCTUnwrap(value(still, "subject_consistency")), 1, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(value(still, "background_consistency")), 1, accuracy: 1e-6)
        // One frame: null and a warning.
        let one = score([SubjectConsistency.self], luma: [luma[0]], rgb: [rgb[0]], settings: settings)
        XCTAssertNil(value(one, "subject_consistency"))
        XCTAssertEqual(one["subject_consistency"]!.output.warnings, ["subject_consistency needs at least two frames"])
    }

    func testAestheticAndCLIPScoreThroughTinyModels() throws {
        ModelStore.acceptsAnyArchitecture = true
        var settings = MetricSettings()
        // The tiny CLIP (projection 32) stands in for ViT-L/14 under the tiny 32-input aesthetic head.
        settings.models[.clipViTL14] = try ModelRef.resolve(.clipViTL14, path: Self.fixtures + "/clip-openai")
        settings.models[.laionAesthetic] = try ModelRef.resolve(.laionAesthetic, path: Self.fixtures + "/aesthetic")
        settings.models[.clipViTB32] = try ModelRef.resolve(.clipViTB32, path: Self.fixtures + "/clip-openai")
        let rgb = frames(3, moving: true)
        let luma = (0..<3).map { _ in Planes.constant(40, 24, 100) }
        let r = score([AestheticQuality.self, CLIPScore.self], luma: luma, rgb: rgb, settings: settings)
        let encoder = try ModelStore.shared.visionEncoder(settings.models[.clipViTL14]!)
        let head = try ModelStore.shared.aestheticHead(settings.models[.laionAesthetic]!)
        let p = Preprocessor(.clip, size: encoder.architecture.grid * encoder.architecture.patch, height: 24, width: 40)
        var expected = 0.0
        for i in 0..<3 {
            let pixels = luma[i].withPlane { y in rgb[i].withPlane { c in p(Frame(index: i, time: 0, duration: 1, luma: y, rgb: c)) } }
            let f = try pixels.withUnsafeBufferPointer { try encoder.encode($0, count: 1, height: p.outputHeight, width: p.outputWidth) }
            let norm = Float(f.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot())
            expected += Double(head.score(f.map { $0 / norm }[...])) / 10 / 3
        }
        XCTAssertEqual(try XCTUnwrap(value(r, "aesthetic_quality")), expected, accuracy: 1e-5)
        // No prompt text: null and the per-clip warning.
        XCTAssertNil(value(r, "clip_score"))
        settings.promptID = "p1"
        XCTAssertEqual(score([CLIPScore.self], luma: luma, rgb: rgb, settings: settings)["clip_score"]!.output.warnings,
                       ["no prompt text for 'p1' (give --prompts)"])
        // With text: the tiny model's folder has no tokenizer vocabulary: a clear warning naming the folder.
        settings.promptText = "a red fox"
        let w = score([CLIPScore.self], luma: luma, rgb: rgb, settings: settings)["clip_score"]!.output.warnings
        XCTAssertEqual(w.count, 1)
        XCTAssertTrue(w[0].contains("no CLIP tokenizer vocabulary (merges.txt or bpe_simple_vocab_16e6.txt)"), w[0])
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
