import Foundation
import XCTest
@testable import GallopLearned

/// `Interpolate` (PyTorch's `F.interpolate`, bilinear and bicubic, align_corners False, no antialias) against values
/// PyTorch 2.13.0+cpu printed, and against the arrays of Fixtures/learned/preprocess.json (written by
/// scripts/gallopcheck/preprocess_fixtures.py): within 1e-5 · max(1, |ref|∞), which leaves room for float32 rounding
/// of the tap sums (ATen's kernels fuse some products) and nothing more: a coordinate or weight computed in a
/// different order at 1280 → 398 moves an output by up to 6e-5 · 255.
final class InterpolateTests: XCTestCase {
    func testKnownAnswers() {
        let line: [Float] = [0, 1]
        XCTAssertEqual(Interpolate.resize(line, channels: 1, height: 1, width: 2, .bilinear, size: (1, 4)), [0, 0.25, 0.75, 1])
        XCTAssertEqual(Interpolate.resize(line, channels: 1, height: 1, width: 2, .bicubic, size: (1, 4)),
                       [-0.10546875, 0.2265625, 0.7734375, 1.10546875])
        // Downscaling without antialiasing samples: 4 → 2 bilinear reads positions 0.5 and 2.5.
        XCTAssertEqual(Interpolate.resize([0, 10, 20, 30], channels: 1, height: 1, width: 4, .bilinear, size: (1, 2)), [5, 25])
        // src = max(0, (dst + 0.5) · 3 − 0.5) = 1, 4 → 3 × 3 → 1 × 1 reads the middle pixel exactly.
        XCTAssertEqual(Interpolate.resize((0..<9).map(Float.init), channels: 1, height: 3, width: 3, .bilinear, size: (1, 1)), [4])
    }

    func testBilinearSameSizeAxisIsCopied() {
        let axis = InterpolationAxis(.bilinear, inputSize: 5, outputSize: 5, scaleFactor: 1.3)
        XCTAssertEqual(axis.index, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
        XCTAssertEqual(axis.weight, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
        let cubic = InterpolationAxis(.bicubic, inputSize: 5, outputSize: 5)
        let values: [Float] = [3, -1, 7, 2.5, 9]
        XCTAssertEqual(Interpolate.resize(values, channels: 1, layout: .channelsFirst, rows: InterpolationAxis(.bicubic, inputSize: 1, outputSize: 1), columns: cubic), values)
    }

    func testScaleFactorSizeAndMapping() {
        // DINO's position grid: 14 → ⌊14 · (H/16 + 0.1) / 14⌋ = H/16 for every H it sees.
        for cells in 1...80 {
            XCTAssertEqual(Interpolate.outputSize(inputSize: 14, scaleFactor: (Double(cells) + 0.1) / 14), cells)
        }
        // The factor, not in/out, maps the coordinates: 2 · 1.6 gives 3 outputs, mapped by 1 / 1.6, not 2 / 3.
        let byFactor = InterpolationAxis(.bicubic, inputSize: 2, outputSize: 3, scaleFactor: 1.6)
        let bySize = InterpolationAxis(.bicubic, inputSize: 2, outputSize: 3)
        XCTAssertNotEqual(byFactor.weight, bySize.weight)
    }

    func testLayoutsAgree() {
        var rng = SplitMix(seed: 7)
        let c = 5, h = 6, w = 9
        let chw = (0..<(c * h * w)).map { _ in Float(rng.unit() * 2 - 1) }
        var hwc = [Float](repeating: 0, count: chw.count)
        for ci in 0..<c { for y in 0..<h { for x in 0..<w { hwc[(y * w + x) * c + ci] = chw[(ci * h + y) * w + x] } } }
        for mode in [Interpolation.bilinear, .bicubic] {
            for size in [(4, 13), (11, 5), (6, 9), (1, 1)] {
                let a = Interpolate.resize(chw, channels: c, height: h, width: w, layout: .channelsFirst, mode, size: (size.0, size.1))
                let b = Interpolate.resize(hwc, channels: c, height: h, width: w, layout: .channelsLast, mode, size: (size.0, size.1))
                for ci in 0..<c { for y in 0..<size.0 { for x in 0..<size.1 {
                    XCTAssertEqual(a[(ci * size.0 + y) * size.1 + x], b[(y * size.1 + x) * c + ci], "\(mode) \(size)")
                } } }
            }
        }
    }

    /// Every case of the fixture's `interpolate` list: small grids up and down, by size and by scale factor (DINO's
    /// position interpolation among them, channels last as its embeddings are stored), and single rows of video
    /// widths (1280 → 398, 720 → 224, 100 → 224), where the coordinates are large enough that their float32
    /// rounding shows.
    func testAgainstPyTorch() throws {
        let fixture = try PreprocessFixture.load()
        XCTAssertGreaterThanOrEqual(fixture.interpolate.count, 10)
        for case_ in fixture.interpolate {
            let mode: Interpolation = case_.mode == "bilinear" ? .bilinear : .bicubic
            let layout: Interpolate.Layout = case_.layout == "channels_last" ? .channelsLast : .channelsFirst
            let got: [Float]
            if let factor = case_.scale_factor {
                got = Interpolate.resize(case_.input, channels: case_.channels, height: case_.height, width: case_.width,
                                         layout: layout, mode, scaleFactor: (factor[0], factor[1]))
            } else {
                let size = case_.size!
                got = Interpolate.resize(case_.input, channels: case_.channels, height: case_.height, width: case_.width,
                                         layout: layout, mode, size: (size[0], size[1]))
            }
            XCTAssertEqual(got.count, case_.output.count, case_.name)
            guard got.count == case_.output.count else { continue }
            let bound = 1e-5 * max(1, case_.output.map { abs($0) }.max() ?? 0)
            let worst = zip(got, case_.output).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, bound, "\(case_.name): max |Δ| \(worst)")
        }
    }
}

/// A small seeded generator for test data (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Fixtures/learned/preprocess.json.
struct PreprocessFixture: Decodable {
    struct InterpolateCase: Decodable {
        let name: String
        let mode: String
        let layout: String
        let channels: Int
        let height: Int
        let width: Int
        let size: [Int]?
        let scale_factor: [Double]?
        let input: [Float]
        let output: [Float]
    }
    struct Output: Decodable {
        let height: Int
        let width: Int
        let values: [Float]
    }
    struct Image: Decodable {
        let name: String
        let height: Int
        let width: Int
        /// Packed RGB24, row-major.
        let pixels: [UInt8]
        let dino: Output
        let clip: Output
    }
    let made_by: String
    let size: Int
    let interpolate: [InterpolateCase]
    let images: [Image]

    static func load() throws -> PreprocessFixture {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("learned/preprocess.json")
        return try JSONDecoder().decode(PreprocessFixture.self, from: Data(contentsOf: url))
    }
}
