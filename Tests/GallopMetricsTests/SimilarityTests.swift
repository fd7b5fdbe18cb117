import Foundation
import GallopCore
import GallopMetrics
import GallopTestSupport
import XCTest

/// Full-reference kernels against scalar references and known answers.
final class SimilarityTests: XCTestCase {
    func testSumSquaredErrorMatchesScalar() {
        let a = Planes.random(37, 11, seed: 1), b = Planes.random(37, 11, seed: 2)
        let sse = a.withPlane { pa in b.withPlane { pb in Kernels.sumSquaredError(pa, pb) } }
        var expected: Int64 = 0
        for (p, q) in zip(a.samples, b.samples) {
            let d = Int64(p) - Int64(q)
            expected += d * d
        }
        XCTAssertEqual(sse, expected)
    }

    /// x264/FFmpeg SSIM written the slow way: every 8×8 window at a multiple of 4.
    func scalarSSIMFast(_ a: PlaneBuffer, _ b: PlaneBuffer) -> Double {
        let bw = a.width / 4, bh = a.height / 4
        var total = 0.0
        for wy in 0..<(bh - 1) {
            for wx in 0..<(bw - 1) {
                var s1 = 0, s2 = 0, ss = 0, s12 = 0
                for y in (4 * wy)..<(4 * wy + 8) {
                    for x in (4 * wx)..<(4 * wx + 8) {
                        let p = Int(a[x, y]), q = Int(b[x, y])
                        s1 += p; s2 += q; ss += p * p + q * q; s12 += p * q
                    }
                }
                let vars = ss * 64 - s1 * s1 - s2 * s2, covar = s12 * 64 - s1 * s2
                let c1 = 416.0, c2 = 235963.0
                total += (2 * Double(s1 * s2) + c1) * (2 * Double(covar) + c2) / ((Double(s1 * s1 + s2 * s2) + c1) * (Double(vars) + c2))
            }
        }
        return total / Double((bh - 1) * (bw - 1))
    }

    func testSSIMFastMatchesScalarAndIdentityIsOne() {
        let a = Planes.texture(70, 45), b = Planes.random(70, 45, seed: 4, range: 40...215)
        let mixed = PlaneBuffer(width: 70, height: 45, samples: zip(a.samples, b.samples).map { UInt8((Int($0) * 3 + Int($1)) / 4) })
        let fast = a.withPlane { pa in mixed.withPlane { pb in Similarity.ssimFast(pa, pb) } }
        XCTAssertEqual(fast, scalarSSIMFast(a, mixed), accuracy: 1e-5)
        XCTAssertEqual(a.withPlane { p in Similarity.ssimFast(p, p) }, 1, accuracy: 1e-7)
    }

    /// Gaussian SSIM written directly from the definition, in double precision.
    func scalarGaussianSSIM(_ a: PlaneBuffer, _ b: PlaneBuffer) -> Double {
        let g = Similarity.gaussian.map(Double.init)
        var sum = 0.0, n = 0
        for y in 5..<(a.height - 5) {
            for x in 5..<(a.width - 5) {
                var mx = 0.0, my = 0.0, mxx = 0.0, myy = 0.0, mxy = 0.0
                for j in -5...5 {
                    for i in -5...5 {
                        let w = g[i + 5] * g[j + 5], p = Double(a[x + i, y + j]), q = Double(b[x + i, y + j])
                        mx += w * p; my += w * q; mxx += w * p * p; myy += w * q * q; mxy += w * p * q
                    }
                }
                let c1: Double = 2.55 * 2.55, c2: Double = 7.65 * 7.65
                let vx = mxx - mx * mx, vy = myy - my * my, cov = mxy - mx * my
                sum += (2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))
                n += 1
            }
        }
        return sum / Double(n)
    }

    func testGaussianSSIMMatchesDefinition() {
        XCTAssertEqual(Similarity.gaussian.count, 11)
        XCTAssertEqual(Similarity.gaussian.reduce(0, +), 1, accuracy: 1e-6)
        let a = Planes.texture(48, 40), b = Planes.random(48, 40, seed: 9, range: 0...255)
        let mixed = PlaneBuffer(width: 48, height: 40, samples: zip(a.samples, b.samples).map { UInt8((Int($0) * 2 + Int($1)) / 3) })
        let fa = a.withPlane { FloatImage($0) }, fm = mixed.withPlane { FloatImage($0) }
        XCTAssertEqual(Similarity.gaussianSSIM(fa, fm)!.ssim, scalarGaussianSSIM(a, mixed), accuracy: 1e-4)
        XCTAssertEqual(Similarity.gaussianSSIM(fa, fa)!.ssim, 1, accuracy: 1e-6)
    }

    func testMSSSIMIdentityAndSizeLimit() {
        let a = Planes.texture(200, 170).withPlane { FloatImage($0) }
        XCTAssertEqual(Similarity.msSSIM(a, a)!, 1, accuracy: 1e-5)
        let small = Planes.texture(176, 144).withPlane { FloatImage($0) }
        XCTAssertNil(Similarity.msSSIM(small, small), "144 px is under the 161 px minimum")
        // Noise lowers it, more noise lowers it more.
        var rng = TestRNG(seed: 2)
        func noisy(_ sigma: Double) -> FloatImage {
            FloatImage(width: a.width, height: a.height, pixels: a.pixels.map { Float(max(0, min(255, Double($0) + sigma * rng.gaussian()))) })
        }
        let light = Similarity.msSSIM(a, noisy(3))!, heavy = Similarity.msSSIM(a, noisy(12))!
        XCTAssertLessThan(heavy, light)
        XCTAssertLessThan(light, 1)
    }

    // MARK: metrics through the engine

    func run(_ types: [any Metric.Type], clip: [PlaneBuffer], reference: [PlaneBuffer]) -> [String: Double?] {
        let engine = MetricEngine(metrics: types.map { $0.init() })
        for i in clip.indices {
            clip[i].withPlane { c in
                reference[i].withPlane { r in
                    engine.consume(Frame(index: i, time: Double(i) / 24, duration: 1.0 / 24, luma: c),
                                   reference: Frame(index: i, time: Double(i) / 24, duration: 1.0 / 24, luma: r))
                }
            }
        }
        var out: [String: Double?] = [:]
        for (_, output) in engine.finish() { for (k, v) in output.values { out[k] = v } }
        return out
    }

    func testConstantOffsetHasKnownPSNR() {
        let ref = (0..<4).map { Planes.texture(64, 48, dx: Double($0)) }
        for d in [1, 4, 10] {
            let clip = ref.map { Planes.offset($0, d) }
            let v = run([PSNR.self], clip: clip, reference: ref)
            XCTAssertEqual(v["psnr"]!!, 10 * log10(255.0 * 255 / Double(d * d)), accuracy: 1e-9)
        }
    }

    func testIdenticalClipsPSNRIsTheCapAndSSIMIsOne() {
        let ref = (0..<3).map { Planes.texture(200, 170, dx: Double($0)) }
        let engine = MetricEngine(metrics: [PSNR(), SSIM(), SSIMFast(), MSSSIM()])
        for i in ref.indices {
            ref[i].withPlane { p in
                engine.consume(Frame(index: i, time: 0, duration: 0.04, luma: p), reference: Frame(index: i, time: 0, duration: 0.04, luma: p))
            }
        }
        let results = engine.finish()
        let values = Dictionary(results.flatMap { $0.1.values }, uniquingKeysWith: { a, _ in a })
        // libvmaf's convention: 6·bitdepth + 12 = 60 dB at 8 bits, per frame and pooled.
        XCTAssertEqual(values["psnr"]!!, 60)
        XCTAssertEqual(PSNR.cap, 60)
        XCTAssertEqual(results[0].1.series, [60, 60, 60])
        XCTAssertFalse(results[0].1.warnings.contains { $0.contains("infinite") }, "\(results[0].1.warnings)")
        XCTAssertEqual(values["ssim"]!!, 1, accuracy: 1e-6)
        XCTAssertEqual(values["ssim_fast"]!!, 1, accuracy: 1e-7)
        XCTAssertEqual(values["ms_ssim"]!!, 1, accuracy: 1e-5)
    }
}
