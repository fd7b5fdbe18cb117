import Foundation
import GallopCore
import XCTest
@testable import GallopLearned

/// VBench's `dino_transform` and `clip_transform` (``Preprocessor``) against torchvision 0.28's own Resize,
/// CenterCrop and Normalize on PyTorch 2.13 CPU (Fixtures/learned/preprocess.json, size 16 in place of 224): every
/// value within 1e-5 after normalisation. A normalised value is (v / 255 − mean) / deviation with deviation ≥ 0.224,
/// so 1e-5 there is 5.7e-4 of a level in 0…255: room for float32 rounding of the tap sums (a few ulp of 255, 3e-5)
/// and the division order, and far below what a wrong coordinate, weight, crop offset or mean gives (0.01 of a level
/// and more). Plus the output sizes at video sizes, the unchanged image at the target size, the half-to-even crop
/// offsets, and the YUV path equal to the packed path.
final class PreprocessTests: XCTestCase {
    static let mean: [Preprocessor.Kind: [Float]] = [.dino: [0.485, 0.456, 0.406], .clip: [0.48145466, 0.4578275, 0.40821073]]
    static let deviation: [Preprocessor.Kind: [Float]] = [.dino: [0.229, 0.224, 0.225], .clip: [0.26862954, 0.26130258, 0.27577711]]

    /// A frame holding `pixels` (packed RGB24) as its `rgb` plane, with `channels` 3, or 4 with a padding byte.
    func withFrame<R>(width: Int, height: Int, pixels: [UInt8], channels: Int = 3, _ body: (Frame) -> R) -> R {
        var samples = pixels
        if channels == 4 {
            samples = []
            for p in 0..<(width * height) { samples += pixels[(3 * p)..<(3 * p + 3)] + [255] }
        }
        let rgb = PlaneBuffer(width: width, height: height, channels: channels, samples: samples)
        let luma = PlaneBuffer(width: width, height: height)
        return rgb.withPlane { rgbPlane in
            luma.withPlane { lumaPlane in
                body(Frame(index: 0, time: 0, duration: 0.04, luma: lumaPlane, rgb: rgbPlane))
            }
        }
    }

    func randomPixels(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    func testAgainstTorchvision() throws {
        let fixture = try PreprocessFixture.load()
        XCTAssertEqual(fixture.images.count, 8)
        var crops: Set<Int> = []
        for image in fixture.images {
            for channels in [3, 4] {
                for kind in Preprocessor.Kind.allCases {
                    let want = kind == .dino ? image.dino : image.clip
                    let pre = Preprocessor(kind, size: fixture.size, height: image.height, width: image.width)
                    XCTAssertEqual(pre.outputHeight, want.height, "\(image.name) \(kind)")
                    XCTAssertEqual(pre.outputWidth, want.width, "\(image.name) \(kind)")
                    let got = withFrame(width: image.width, height: image.height, pixels: image.pixels, channels: channels) { pre($0) }
                    XCTAssertEqual(got.count, want.values.count, "\(image.name) \(kind)")
                    guard got.count == want.values.count else { continue }
                    let worst = zip(got, want.values).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThanOrEqual(worst, 1e-5, "\(image.name) \(kind) (\(channels) bytes a pixel): max |Δ| \(worst)")
                }
            }
            let resized = Preprocessor.resizedSize(height: image.height, width: image.width, size: fixture.size)
            crops.insert(max(resized.height, resized.width) - fixture.size)
        }
        // The fixture holds odd centre-crop margins that round down (9, 13) and up (11) to even offsets.
        XCTAssertTrue(crops.isSuperset(of: [9, 11, 13]), "\(crops)")
    }

    func testOutputSizes() {
        for (h, w, oh, ow) in [(720, 1280, 224, 398), (1280, 720, 398, 224), (1080, 1920, 224, 398), (576, 1024, 224, 398),
                               (480, 854, 224, 398), (224, 224, 224, 224), (100, 300, 224, 672), (225, 224, 225, 224)] {
            let dino = Preprocessor(.dino, height: h, width: w)
            XCTAssertEqual([dino.outputHeight, dino.outputWidth], [oh, ow], "\(w) × \(h)")
            let clip = Preprocessor(.clip, height: h, width: w)
            XCTAssertEqual([clip.outputHeight, clip.outputWidth], [224, 224], "\(w) × \(h)")
            XCTAssertEqual(clip.count, 3 * 224 * 224)
        }
        // int(224 · 854 / 480) = int(398.53) truncates to 398.
        XCTAssertEqual(Preprocessor.resizedSize(height: 480, width: 854, size: 224).width, 398)
    }

    /// An image already at the size is not resampled: each value is exactly (v / 255 − mean) / deviation, and for
    /// CLIP the crop then keeps columns (or rows) from the half-to-even offset.
    func testUnchangedAtSizeAndCropOffsets() {
        XCTAssertEqual(Preprocessor.centerCropOffset(399, 224), 88)   // 87.5 → 88
        XCTAssertEqual(Preprocessor.centerCropOffset(397, 224), 86)   // 86.5 → 86
        XCTAssertEqual(Preprocessor.centerCropOffset(398, 224), 87)
        XCTAssertEqual(Preprocessor.centerCropOffset(26, 24), 1)
        XCTAssertEqual(Preprocessor.centerCropOffset(27, 24), 2)      // 1.5 → 2
        XCTAssertEqual(Preprocessor.centerCropOffset(29, 24), 2)      // 2.5 → 2
        for (kind, h, w, top, left) in [(Preprocessor.Kind.dino, 24, 24, 0, 0), (.dino, 24, 31, 0, 0), (.dino, 29, 24, 0, 0),
                                        (.clip, 24, 24, 0, 0), (.clip, 24, 29, 0, 2), (.clip, 24, 27, 0, 2),
                                        (.clip, 29, 24, 2, 0), (.clip, 27, 24, 2, 0), (.clip, 24, 31, 0, 4)] {
            let pixels = randomPixels(3 * w * h, seed: UInt64(h * 100 + w))
            let pre = Preprocessor(kind, size: 24, height: h, width: w)
            let got = withFrame(width: w, height: h, pixels: pixels) { pre($0) }
            let oh = pre.outputHeight, ow = pre.outputWidth
            XCTAssertEqual([oh, ow], kind == .dino ? [h, w] : [24, 24])
            var want = [Float](repeating: 0, count: 3 * oh * ow)
            for c in 0..<3 { for y in 0..<oh { for x in 0..<ow {
                let v = Float(pixels[((y + top) * w + x + left) * 3 + c])
                want[(c * oh + y) * ow + x] = (v / 255 - Self.mean[kind]![c]) / Self.deviation[kind]![c]
            } } }
            XCTAssertEqual(got, want, "\(kind) \(w) × \(h)")
        }
    }

    /// A frame given as luma + 4:2:0 chroma with `rgbFromYUV` gives exactly what the same frame gives as the
    /// packed RGB that conversion makes (odd width: the last chroma column serves one luma column).
    func testYUVEqualsPackedRGB() {
        let w = 37, h = 26
        let conversion = YUVToRGB(inverse: [117489, 138438, 13975, 34925], fullRange: false)
        let luma = PlaneBuffer(width: w, height: h, samples: randomPixels(w * h, seed: 1))
        let cw = (w + 1) / 2, ch = (h + 1) / 2
        let cb = PlaneBuffer(width: cw, height: ch, samples: randomPixels(cw * ch, seed: 2))
        let cr = PlaneBuffer(width: cw, height: ch, samples: randomPixels(cw * ch, seed: 3))
        for kind in Preprocessor.Kind.allCases {
            for size in [16, 24, 40] {
                let pre = Preprocessor(kind, size: size, height: h, width: w)
                let viaYUV = luma.withPlane { y in cb.withPlane { u in cr.withPlane { v in
                    pre(Frame(index: 0, time: 0, duration: 0.04, luma: y, chroma: (u, v), rgbFromYUV: conversion))
                } } }
                let packed = luma.withPlane { y in cb.withPlane { u in cr.withPlane { v in conversion.rgb(luma: y, cb: u, cr: v, channels: 3) } } }
                let viaRGB = withFrame(width: w, height: h, pixels: packed.samples) { pre($0) }
                let first = viaYUV.indices.first { $0 >= viaRGB.count || viaYUV[$0] != viaRGB[$0] }
                XCTAssertTrue(viaYUV.count == viaRGB.count && first == nil,
                              "\(kind) size \(size): first difference at \(first.map(String.init) ?? "the length")")
            }
        }
    }
}
