import Foundation
import GallopCore
@testable import GallopLearned
import XCTest

/// The kernels against scalar Double references, within the bounds their comments state. The element-wise
/// functions run on a grid over −20…20 (step 1/1024, so 40,961 points, including 0 and every integer) plus
/// random points; the grid's length is not a multiple of 8, so the padded tail group is exercised too.
final class KernelsTests: XCTestCase {
    static let grid: [Float] = (-20 * 1024...20 * 1024).map { Float($0) / 1024 }

    /// Applies `kernel` to a copy of `inputs`.
    func run(_ inputs: [Float], _ kernel: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        var out = inputs
        out.withUnsafeMutableBufferPointer { kernel($0) }
        return out
    }

    /// The largest relative error over the points where `include` holds, and where it occurs.
    func worst(_ inputs: [Float], _ got: [Float], _ reference: (Double) -> Double, include: (Float) -> Bool = { _ in true })
        -> (error: Double, at: Float) {
        var worst = (error: 0.0, at: Float(0))
        for (x, y) in zip(inputs, got) where include(x) {
            let r = reference(Double(x))
            let e = r == 0 ? abs(Double(y)) : abs(Double(y) - r) / abs(r)
            if e > worst.error || e.isNaN { worst = (e, x) }
        }
        return worst
    }

    func testExp() {
        let got = run(Self.grid, Kernels.exp)
        let w = worst(Self.grid, got, Foundation.exp)
        XCTAssertLessThanOrEqual(w.error, 1.5e-7, "exp at \(w.at)")
        // The range's ends and special values.
        let special: [Float] = [-1000, -88, -87.5, -87.3, 0, 88.5, 88.7, 88.73, 89, .infinity, -.infinity]
        let s = run(special, Kernels.exp)
        XCTAssertEqual(s[0], 0); XCTAssertEqual(s[1], 0); XCTAssertEqual(s[2], 0)
        XCTAssertEqual(Double(s[3]), Foundation.exp(Double(Float(-87.3))), accuracy: Foundation.exp(-87.3) * 2e-7)
        XCTAssertEqual(s[4], 1)
        XCTAssertEqual(Double(s[5]), Foundation.exp(88.5), accuracy: Foundation.exp(88.5) * 2e-7)
        XCTAssertEqual(Double(s[6]), Foundation.exp(Double(Float(88.7))), accuracy: Foundation.exp(88.7) * 2e-7)
        XCTAssertEqual(s[7], .infinity); XCTAssertEqual(s[8], .infinity); XCTAssertEqual(s[9], .infinity)
        XCTAssertEqual(s[10], 0)
        XCTAssertTrue(run([.nan], Kernels.exp)[0].isNaN)
    }

    func testErf() {
        let got = run(Self.grid, Kernels.erf)
        var worstAbs = 0.0
        for (x, y) in zip(Self.grid, got) { worstAbs = max(worstAbs, abs(Double(y) - Foundation.erf(Double(x)))) }
        XCTAssertLessThanOrEqual(worstAbs, 2e-7)
        XCTAssertEqual(run([0, 30, -30], Kernels.erf), [0, 1, -1])
    }

    static func geluReference(_ x: Double) -> Double { x * 0.5 * Foundation.erfc(-x / 2.0.squareRoot()) }

    func testGELU() {
        let got = run(Self.grid, Kernels.gelu)
        let w = worst(Self.grid, got, Self.geluReference, include: { $0 >= -10 })
        XCTAssertLessThanOrEqual(w.error, 4e-7, "gelu at \(w.at)")
        let positive = worst(Self.grid, got, Self.geluReference, include: { $0 >= 0 })
        XCTAssertLessThanOrEqual(positive.error, 3e-7, "gelu at \(positive.at)")
        // Below −10 the values are tiny but still relatively accurate until float's normal range ends.
        let tail = worst(Self.grid, got, Self.geluReference, include: { $0 < -10 && Self.geluReference(Double($0)) < -1e-36 })
        XCTAssertLessThanOrEqual(tail.error, 1e-6, "gelu tail at \(tail.at)")
        XCTAssertEqual(run([0], Kernels.gelu)[0], 0)
        XCTAssertEqual(run([-20], Kernels.gelu)[0], 0)
        // A plain erf with 1.5e-7 absolute error would be far off here (1 + erf cancels): the lower tail is exact.
        let x: Float = -6
        XCTAssertEqual(Double(run([x], Kernels.gelu)[0]), Self.geluReference(-6), accuracy: abs(Self.geluReference(-6)) * 4e-7)
    }

    func testQuickGELU() {
        let got = run(Self.grid, Kernels.quickGELU)
        let c = Double(Float(1.702))
        // The reference rounds 1.702 · x to float as the kernel (and PyTorch) does, then works in Double.
        var worstError = 0.0, at: Float = 0
        for (x, y) in zip(Self.grid, got) {
            let r = Double(x) / (1 + Foundation.exp(-Double(Float(c) * x)))
            let e = r == 0 ? abs(Double(y)) : abs(Double(y) - r) / abs(r)
            if e > worstError { worstError = e; at = x }
        }
        XCTAssertLessThanOrEqual(worstError, 2e-7, "quickGELU at \(at)")
        // Against the exact formula, the product's rounding is the only extra error.
        for (x, y) in zip(Self.grid, got) {
            let r = Double(x) / (1 + Foundation.exp(-c * Double(x)))
            let bound = 2e-7 + abs(c * Double(x)) * 0x1p-24
            XCTAssertLessThanOrEqual(abs(Double(y) - r), bound * abs(r) + 1e-38, "quickGELU at \(x)")
            if abs(Double(y) - r) > bound * abs(r) + 1e-38 { break }
        }
    }

    func testLayerNorm() {
        var g = SplitMix64(seed: 7)
        let rows = 5, width = 77
        // Rows with a large common offset (where a float accumulation of the variance would lose digits).
        var x = [Float](repeating: 0, count: rows * width)
        for i in 0..<rows { for j in 0..<width { x[i * width + j] = Float(Double(i) * 300 + g.gaussian() * (0.5 + Double(i))) } }
        let gamma = (0..<width).map { _ in Float(1 + 0.3 * g.gaussian()) }, beta = (0..<width).map { _ in Float(0.1 * g.gaussian()) }
        var y = [Float](repeating: .nan, count: rows * width)
        x.withUnsafeBufferPointer { xb in gamma.withUnsafeBufferPointer { gb in beta.withUnsafeBufferPointer { bb in
            y.withUnsafeMutableBufferPointer { Kernels.layerNorm(xb, rows: rows, width: width, gamma: gb, beta: bb, eps: 1e-6, into: $0) }
        } } }
        for i in 0..<rows {
            let row = x[(i * width)..<((i + 1) * width)].map(Double.init)
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            for j in 0..<width {
                let n = (row[j] - mean) / (variance + 1e-6).squareRoot()
                let r = n * Double(gamma[j]) + Double(beta[j])
                let bound = 2e-7 * (abs(n * Double(gamma[j])) + abs(Double(beta[j]))) + 1e-7 * abs(Double(gamma[j]))
                XCTAssertEqual(Double(y[i * width + j]), r, accuracy: bound, "row \(i) column \(j)")
            }
        }
        // In place gives the same.
        var z = x
        z.withUnsafeMutableBufferPointer { zb in gamma.withUnsafeBufferPointer { gb in beta.withUnsafeBufferPointer { bb in
            Kernels.layerNorm(UnsafeBufferPointer(zb), rows: rows, width: width, gamma: gb, beta: bb, eps: 1e-6, into: zb)
        } } }
        XCTAssertEqual(z, y)
    }

    func testSoftmax() {
        var g = SplitMix64(seed: 11)
        let rows = 4, length = 37, stride = 41
        var values = (0..<(rows * stride)).map { _ in Float(g.gaussian() * 8) }
        // One row spans the grid's extremes.
        for j in 0..<length { values[2 * stride + j] = Float(-20 + 40 * Double(j) / Double(length - 1)) }
        let original = values
        let scale: Float = 0.125
        values.withUnsafeMutableBufferPointer { Kernels.softmaxRows($0, rows: rows, length: length, stride: stride, scale: scale) }
        for i in 0..<rows {
            let row = (0..<length).map { Double(original[i * stride + $0] * scale) }
            let peak = row.max()!
            let e = row.map { Foundation.exp($0 - peak) }
            let sum = e.reduce(0, +)
            for j in 0..<length {
                let r = e[j] / sum
                XCTAssertEqual(Double(values[i * stride + j]), r, accuracy: 4e-7 * r + 1e-40, "row \(i) entry \(j)")
            }
            // Entries past the row's length are untouched.
            for j in length..<stride { XCTAssertEqual(values[i * stride + j], original[i * stride + j]) }
        }
    }

    func testBiasAndResidual() {
        var v: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [10, 20, 30]
        v.withUnsafeMutableBufferPointer { vb in b.withUnsafeBufferPointer { Kernels.addBias(vb, rows: 2, width: 3, bias: $0) } }
        XCTAssertEqual(v, [11, 22, 33, 14, 25, 36])
        v.withUnsafeMutableBufferPointer { vb in b.withUnsafeBufferPointer { Kernels.fillRows(vb, rows: 2, width: 3, with: $0) } }
        XCTAssertEqual(v, [10, 20, 30, 10, 20, 30])
        let o: [Float] = [1, 1, 1, 2, 2, 2]
        v.withUnsafeMutableBufferPointer { vb in o.withUnsafeBufferPointer { Kernels.add(vb, $0) } }
        XCTAssertEqual(v, [11, 21, 31, 12, 22, 32])
    }
}
