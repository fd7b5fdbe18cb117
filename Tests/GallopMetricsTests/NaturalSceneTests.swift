import Foundation
import GallopCore
import GallopMetrics
import XCTest

/// The natural-scene kernels against answers worked out by hand and against plain scalar references written
/// from the formulas (a 2-D weighted sum with zeros outside, a brute-force shape search).
final class NaturalSceneTests: XCTestCase {
    func field(_ w: Int, _ h: Int, _ f: (Int, Int) -> Float) -> NaturalScene.Field {
        NaturalScene.Field(width: w, height: h, values: (0..<(w * h)).map { f($0 % w, $0 / w) })
    }

    /// scikit-video's window: 7 taps, σ = 7/6, summing to 1, symmetric, its first tap exp(−1/(2σ²)) times the centre.
    func testGaussianWindow() {
        let w = NaturalScene.gaussianWindow()
        XCTAssertEqual(w.count, 7)
        XCTAssertEqual(w.reduce(0, +), 1, accuracy: 1e-6)
        for k in 1...3 { XCTAssertEqual(w[3 - k], w[3 + k]) }
        let s = 7.0 / 6.0
        XCTAssertEqual(w[4] / w[3], exp(-1 / (2 * s * s)), accuracy: 1e-6)
        XCTAssertEqual(w[6] / w[3], exp(-9 / (2 * s * s)), accuracy: 1e-6)
        var tails = 0.0
        for k in 1...3 { tails += exp(-Double(k * k) / (2 * s * s)) }
        XCTAssertEqual(w[3], 1 / (1 + 2 * tails), accuracy: 1e-6)
    }

    /// scikit-video's window as NumPy 2.3 makes it (printed by `float(w).hex()` in the venv): the correctly
    /// rounded window but for exp(−2/σ²), one float ulp lower before normalising.
    func testScikitVideoWindowIsNumPys() {
        let numpy: [Float] = [0x1.9b9296p-7, 0x1.42e11cp-4, 0x1.e5fb7ep-3, 0x1.5edaccp-2, 0x1.e5fb7ep-3, 0x1.42e11cp-4, 0x1.9b9296p-7]
        XCTAssertEqual(NaturalScene.scikitVideoWindow, numpy.map(Double.init))
        let rounded = NaturalScene.gaussianWindow()
        XCTAssertNotEqual(rounded, NaturalScene.scikitVideoWindow)
        for k in 0..<7 { XCTAssertEqual(rounded[k], NaturalScene.scikitVideoWindow[k], accuracy: 1e-7) }
    }

    /// SciPy's border modes on a row a b c d (indices 0…3), two samples each side.
    func testBorders() {
        let n = 4
        func read(_ b: NaturalScene.Border) -> [Int?] { (-2...5).map { b.index($0, n) } }
        XCTAssertEqual(read(.zero), [nil, nil, 0, 1, 2, 3, nil, nil])
        XCTAssertEqual(read(.reflect), [1, 0, 0, 1, 2, 3, 3, 2])
        XCTAssertEqual(read(.mirror), [2, 1, 0, 1, 2, 3, 2, 1])
        XCTAssertEqual(read(.nearest), [0, 0, 0, 1, 2, 3, 3, 3])
    }

    /// μ and σ against a direct 2-D sum Σᵢⱼ wᵢwⱼ I(y + i, x + j) with zeros outside, in Double: within 1e-4
    /// (the separable passes round to Float between them, as scikit-video's do), on a 23 × 17 textured field.
    func testMSCNAgainstDirectSum() {
        let img = field(23, 17) { x, y in Float((x * 37 + y * 91 + x * y * 13) % 256) }
        let w = NaturalScene.gaussianWindow()
        let m = NaturalScene.mscn(img, window: w)
        for y in 0..<17 {
            for x in 0..<23 {
                var mu = 0.0, e2 = 0.0
                for i in -3...3 {
                    for j in -3...3 where (0..<17).contains(y + i) && (0..<23).contains(x + j) {
                        let v = Double(img[x + j, y + i])
                        mu += w[i + 3] * w[j + 3] * v
                        e2 += w[i + 3] * w[j + 3] * v * v
                    }
                }
                let sd = abs(e2 - mu * mu).squareRoot()
                XCTAssertEqual(Double(m.mean[x, y]), mu, accuracy: 1e-4 * max(1, mu))
                XCTAssertEqual(Double(m.deviation[x, y]), sd, accuracy: 2e-3)
                XCTAssertEqual(Double(m.coefficients[x, y]), (Double(img[x, y]) - mu) / (sd + 1), accuracy: 1e-4)
            }
        }
    }

    /// A constant field: μ is the constant where the window lies inside (0 coefficients, σ 0), and at a corner
    /// the zero border leaves the weight of the inside taps, (w₀ + w₁ + w₂ + w₃)² of the constant.
    func testMSCNConstant() {
        let img = NaturalScene.Field(width: 12, height: 10, repeating: 100)
        let m = NaturalScene.mscn(img)
        XCTAssertEqual(m.mean[5, 5], 100, accuracy: 1e-4)
        XCTAssertEqual(m.coefficients[5, 5], 0, accuracy: 1e-4)
        let w = NaturalScene.gaussianWindow()
        XCTAssertEqual(Double(m.mean[0, 0]), 100 * pow(w[3...].reduce(0, +), 2), accuracy: 1e-4)
    }

    /// The brute-force search: the first grid point of least distance, by `lgamma`, over NumPy's arange.
    func bruteAlpha(_ target: Double, reciprocal: Bool) -> Double {
        var best = 0.2, bestD = Double.infinity
        for i in 0..<9800 {
            let a = 0.2 + Double(i) * 0.001
            let r = exp(2 * lgamma(2 / a) - lgamma(1 / a) - lgamma(3 / a))
            let d = reciprocal ? abs(1 / r - target) : (r - target) * (r - target)
            if d < bestD { bestD = d; best = a }
        }
        return best
    }

    /// GGD: a Laplacian's moments (σ²/E|x|² = 2, i.e. ±1 and 0 in equal parts) give α = 1, σ² = 1/2; a
    /// textured sample matches the brute-force search.
    func testGGD() {
        let lap: [Float] = [1, -1, 0, 0]
        let g = NaturalScene.ggd(lap)
        XCTAssertEqual(g.alpha, 1, accuracy: 1e-9)
        XCTAssertEqual(g.variance, 0.5, accuracy: 1e-12)
        let x: [Float] = (0..<500).map { Float(sin(Double($0) * 0.37) * 3 + cos(Double($0) * 1.7)) }
        let fit = NaturalScene.ggd(x)
        let mean = x.map(Double.init).reduce(0, +) / 500
        let v = x.map { (Double($0) - mean) * (Double($0) - mean) }.reduce(0, +) / 500
        let e = x.map { abs(Double($0)) }.reduce(0, +) / 500
        XCTAssertEqual(fit.variance, v, accuracy: 1e-9)
        XCTAssertEqual(fit.alpha, bruteAlpha(v / (e * e), reciprocal: true), accuracy: 1e-9)
        XCTAssertEqual(NaturalScene.ggd(lap, centred: false).variance, 0.5, accuracy: 1e-12)
    }

    /// AGGD: symmetric data without zeros has γ̂ = 1, so its α is the uncentred GGD's, β_l = β_r, η = 0; an
    /// asymmetric sample matches the formulas written out with the brute-force search.
    func testAGGD() {
        let sym: [Float] = [1, -1, 3, -3]
        let a = NaturalScene.aggd(sym, moments: .double)
        XCTAssertEqual(a.alpha, NaturalScene.ggd(sym, centred: false).alpha)
        XCTAssertEqual(a.leftDeviation, 5.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(a.rightDeviation, 5.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(a.mean, 0, accuracy: 1e-12)
        XCTAssertEqual(a.leftScale, 5.0.squareRoot() * (tgamma(1 / a.alpha) / tgamma(3 / a.alpha)).squareRoot(), accuracy: 1e-9)

        let x: [Float] = (0..<400).map { Float(exp(sin(Double($0) * 0.91)) - 1.1) }
        let fit = NaturalScene.aggd(x, moments: .double)
        let d = x.map(Double.init)
        let l = d.filter { $0 < 0 }, r = d.filter { $0 >= 0 }
        let sl = (l.map { $0 * $0 }.reduce(0, +) / Double(l.count)).squareRoot()
        let sr = (r.map { $0 * $0 }.reduce(0, +) / Double(r.count)).squareRoot()
        let g = sl / sr
        let rhat = pow(d.map(abs).reduce(0, +) / 400, 2) / (d.map { $0 * $0 }.reduce(0, +) / 400)
        let norm = rhat * (pow(g, 3) + 1) * (g + 1) / pow(g * g + 1, 2)
        let alpha = bruteAlpha(norm, reciprocal: false)
        XCTAssertEqual(fit.alpha, alpha, accuracy: 1e-9)
        XCTAssertEqual(fit.leftDeviation, sl, accuracy: 1e-9)
        XCTAssertEqual(fit.rightDeviation, sr, accuracy: 1e-9)
        let k = (tgamma(1 / alpha) / tgamma(3 / alpha)).squareRoot()
        XCTAssertEqual(fit.mean, (k * sr - k * sl) * tgamma(2 / alpha) / tgamma(1 / alpha), accuracy: 1e-9)
    }

    /// The binary search finds the first least distance the full scan finds, for targets across and beyond the
    /// grid's range (ρ runs from about 0.063 at α = 0.2 to about 0.74 at α = 10), between and on grid points.
    func testShapeSearchEqualsTheFullScan() {
        let g = NaturalScene.ShapeGrid.scikitVideo
        var targets: [Double] = [-1, 0, 1e-9, 0.9, 5, .infinity]
        for i in stride(from: 0, to: g.ratios.count, by: 97) { targets += [g.ratios[i], g.ratios[i] + 1e-12, g.ratios[i] * (1 + 1e-7)] }
        for k in 0..<500 { targets.append(0.75 * Double(k) / 500) }
        for t in targets {
            XCTAssertEqual(g.alpha(ratio: t), g.scan(ratio: t), "target \(t)")
            var best = 0, bestD = Double.infinity
            for i in g.ratios.indices where abs(1 / g.ratios[i] - t) < bestD { bestD = abs(1 / g.ratios[i] - t); best = i }
            XCTAssertEqual(g.alpha(reciprocal: t), g.alphas[best], "reciprocal target \(t)")
        }
        XCTAssertEqual(g.alpha(ratio: .nan), 0.2)
    }

    /// NumPy's float32 pairwise sum: 2²⁴ and eight 1s give 2²⁴ + 8 (NumPy's `np.sum`: 16777224.0; in order,
    /// each 1 is lost: 2²⁴); 300 values (k·0.37 mod 1.3) give NumPy's sum and mean bit for bit.
    func testPairwiseSumIsNumPys() {
        let a: [Float] = [16_777_216] + [Float](repeating: 1, count: 8)
        XCTAssertEqual(a.withUnsafeBufferPointer { NaturalScene.pairwiseSum($0.baseAddress!, 9) }, 16_777_224)
        let b: [Float] = (0..<300).map { Float((Double($0) * 0.37).truncatingRemainder(dividingBy: 1.3)) }
        let sum = b.withUnsafeBufferPointer { NaturalScene.pairwiseSum($0.baseAddress!, 300) }
        XCTAssertEqual(sum, Float(197.60000610351562))
        XCTAssertEqual(sum / 300, Float(0.6586666703224182))
    }

    /// The float32 AGGD (scikit-video's arithmetic) against the Double one: the same deviations to float32
    /// rounding, α within two grid steps.
    func testAGGDFloat32AgreesWithDouble() {
        let x: [Float] = (0..<9216).map { Float(exp(sin(Double($0) * 0.91)) - 1.1 + cos(Double($0) * 0.13)) }
        let f = NaturalScene.aggd(x), d = NaturalScene.aggd(x, moments: .double)
        XCTAssertEqual(f.leftDeviation, d.leftDeviation, accuracy: 1e-6 * d.leftDeviation)
        XCTAssertEqual(f.rightDeviation, d.rightDeviation, accuracy: 1e-6 * d.rightDeviation)
        XCTAssertEqual(f.alpha, d.alpha, accuracy: 0.0021)
    }

    /// Paired products on a 3 × 2 field [1 2 3; 4 5 6], by hand: wrapping as `np.roll`, or only inside pairs.
    func testPairedProducts() {
        let m = field(3, 2) { x, y in Float(1 + x + 3 * y) }
        let left: [Float] = [3, 2, 6, 24, 20, 30], above: [Float] = [4, 10, 18, 4, 10, 18]
        let aboveLeft: [Float] = [6, 8, 15, 12, 5, 12], aboveRight: [Float] = [5, 12, 12, 8, 15, 6]
        XCTAssertEqual(NaturalScene.pairedProduct(m, .left), left)
        XCTAssertEqual(NaturalScene.pairedProduct(m, .above), above)
        XCTAssertEqual(NaturalScene.pairedProduct(m, .aboveLeft), aboveLeft)
        XCTAssertEqual(NaturalScene.pairedProduct(m, .aboveRight), aboveRight)
        let insideLeft: [Float] = [2, 6, 20, 30], insideAboveRight: [Float] = [8, 15]
        XCTAssertEqual(NaturalScene.pairedProduct(m, .left, edge: .inside), insideLeft)
        XCTAssertEqual(NaturalScene.pairedProduct(m, .aboveRight, edge: .inside), insideAboveRight)
    }
}
