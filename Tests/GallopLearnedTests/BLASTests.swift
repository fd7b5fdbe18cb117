import Foundation
import GallopCore
@testable import GallopLearned
import XCTest

/// `BLAS.sgemm` against a plain triple loop in Double, on odd sizes (no kernel's block size divides them), in
/// every transpose combination, on sub-matrices read in place from wider buffers, and from two threads at once.
///
/// The bound is float32's forward error of a length-k dot product, per element:
/// |Δ| ≤ (k + 2) · u · (|alpha| · Σ_p |a_ip| |b_pj| + |beta| · |c_ij|), u = 2⁻²⁴, whatever order the kernel sums
/// in (Higham, Accuracy and Stability, §3.1). A wrong transpose, stride or offset moves elements by O(1), far
/// beyond it.
final class BLASTests: XCTestCase {
    /// A row-major matrix stored with a leading dimension and at an offset inside a larger buffer.
    struct Stored {
        var data: [Float]
        var rows: Int, cols: Int, ld: Int, offset: Int

        init(rows: Int, cols: Int, ld: Int? = nil, offset: Int = 0, seed: UInt64) {
            self.rows = rows; self.cols = cols; self.ld = ld ?? cols; self.offset = offset
            var g = SplitMix64(seed: seed)
            // Padding beyond the matrix is filled too (with values the product must never read: huge ones).
            let count = offset + (rows - 1) * self.ld + cols + 7
            data = (0..<count).map { _ in Float(1e30) }
            for i in 0..<rows { for j in 0..<cols { data[offset + i * self.ld + j] = Float(g.gaussian()) } }
        }

        subscript(i: Int, j: Int) -> Float { data[offset + i * ld + j] }
    }

    /// op(A)[i][p] from A's stored form.
    static func element(_ s: Stored, _ t: BLAS.Transpose, _ i: Int, _ p: Int) -> Float {
        t == .none ? s[i, p] : s[p, i]
    }

    /// Runs one product through `BLAS.sgemm` and checks every element of C, and that C's padding is untouched.
    func checkProduct(_ ta: BLAS.Transpose, _ tb: BLAS.Transpose, m: Int, n: Int, k: Int,
                      aPad: Int = 0, bPad: Int = 0, cPad: Int = 0, offset: Int = 0,
                      alpha: Float = 1, beta: Float = 0, file: StaticString = #filePath, line: UInt = #line) {
        let (ar, ac) = ta == .none ? (m, k) : (k, m)
        let (br, bc) = tb == .none ? (k, n) : (n, k)
        let a = Stored(rows: ar, cols: ac, ld: ac + aPad, offset: offset, seed: 1)
        let b = Stored(rows: br, cols: bc, ld: bc + bPad, offset: offset, seed: 2)
        var c = Stored(rows: m, cols: n, ld: n + cPad, offset: offset, seed: 3)
        let c0 = c
        c.data.withUnsafeMutableBufferPointer { cb in
            a.data.withUnsafeBufferPointer { ab in
                b.data.withUnsafeBufferPointer { bb in
                    BLAS.sgemm(ta, tb, m: m, n: n, k: k, alpha: alpha,
                               a: UnsafeBufferPointer(rebasing: ab[offset...]), lda: a.ld,
                               b: UnsafeBufferPointer(rebasing: bb[offset...]), ldb: b.ld,
                               beta: beta,
                               c: UnsafeMutableBufferPointer(rebasing: cb[offset...]), ldc: c.ld)
                }
            }
        }
        let u = Double(Float.ulpOfOne) / 2
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let x = Double(Self.element(a, ta, i, p)) * Double(Self.element(b, tb, p, j))
                    sum += x; magnitude += abs(x)
                }
                let expected = Double(alpha) * sum + (beta == 0 ? 0 : Double(beta) * Double(c0[i, j]))
                let bound = Double(k + 2) * u * (abs(Double(alpha)) * magnitude + abs(Double(beta) * Double(c0[i, j])))
                let error = abs(Double(c[i, j]) - expected)
                worst = max(worst, error / bound)
                if error > bound {
                    XCTFail("\(ta)×\(tb) \(m)×\(n)×\(k): C[\(i)][\(j)] = \(c[i, j]), expected \(expected) (bound \(bound))", file: file, line: line)
                    return
                }
            }
        }
        // Everything outside C's m × n elements is as it was.
        for index in c.data.indices {
            let rel = index - offset
            let inside = rel >= 0 && rel / c.ld < m && rel % c.ld < n
            if !inside && c.data[index] != c0.data[index] {
                XCTFail("\(ta)×\(tb): C's padding at \(index) changed", file: file, line: line)
                return
            }
        }
        XCTAssertLessThan(worst, 1, file: file, line: line)
    }

    static let transposes: [(BLAS.Transpose, BLAS.Transpose)] = [(.none, .none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)]

    func testOddSizesEveryTranspose() {
        for (ta, tb) in Self.transposes {
            checkProduct(ta, tb, m: 37, n: 53, k: 29)
        }
    }

    /// Operands read in place from wider rows, starting inside a buffer; C written into a wider buffer whose
    /// other elements stay as they were; alpha and beta (beta = 1: a bias in C first).
    func testStridedSubMatrices() {
        for (ta, tb) in Self.transposes {
            checkProduct(ta, tb, m: 37, n: 53, k: 29, aPad: 5, bPad: 11, cPad: 3, offset: 13)
            checkProduct(ta, tb, m: 37, n: 53, k: 29, aPad: 1, bPad: 2, cPad: 7, offset: 3, alpha: 0.5, beta: 1)
        }
    }

    /// Shapes where one side is a single row or column, and k = 1 (an outer product).
    func testThinShapes() {
        for (ta, tb) in Self.transposes {
            checkProduct(ta, tb, m: 1, n: 53, k: 29)
            checkProduct(ta, tb, m: 37, n: 1, k: 29)
            checkProduct(ta, tb, m: 37, n: 53, k: 1, cPad: 2)
        }
    }

    /// With beta = 0 C's old contents are not read: NaN there does not reach the result.
    func testBetaZeroIgnoresOldC() {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 0, 0, 1]
        var c: [Float] = [.nan, .nan, .nan, .nan]
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                c.withUnsafeMutableBufferPointer { cb in
                    BLAS.sgemm(m: 2, n: 2, k: 2, a: ab, lda: 2, b: bb, ldb: 2, c: cb, ldc: 2)
                }
            }
        }
        XCTAssertEqual(c, [1, 2, 3, 4])
    }

    /// Two threads running different products at once get the same results, bit for bit, as the same products
    /// run one after the other (OpenBLAS at one thread does each product on its caller's thread, with buffers
    /// of its own per call). The threads start together (a barrier) and run 100 products each.
    func testTwoThreadsAtOnce() {
        let (m, n, k) = (197, 131, 193)
        func operands(_ seed: UInt64) -> ([Float], [Float]) {
            (Stored(rows: m, cols: k, seed: seed).data, Stored(rows: k, cols: n, seed: seed + 100).data)
        }
        @Sendable func product(_ a: [Float], _ b: [Float]) -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    c.withUnsafeMutableBufferPointer { cb in
                        BLAS.sgemm(m: m, n: n, k: k, a: ab, lda: k, b: bb, ldb: n, c: cb, ldc: n)
                    }
                }
            }
            return c
        }
        let inputs = [operands(11), operands(22)]
        let serial = inputs.map { product($0.0, $0.1) }
        XCTAssertNotEqual(serial[0], serial[1])
        let mismatches = Mismatches()
        let ready = DispatchGroup(), done = DispatchGroup()
        for t in 0..<2 {
            ready.enter(); done.enter()
            Thread {
                ready.leave()
                ready.wait()
                for _ in 0..<100 where product(inputs[t].0, inputs[t].1) != serial[t] {
                    mismatches.add()
                }
                done.leave()
            }.start()
        }
        done.wait()
        XCTAssertEqual(mismatches.count, 0, "concurrent products differed from serial ones")
    }

    /// The checks `sgemm` stops on (with `fatalError`, in every build) before OpenBLAS sees the arguments, each
    /// one sentence: sizes, leading dimensions, buffer lengths, C overlapping an input. A and B may overlap.
    func testMisuseMessages() {
        let buffer = [Float](repeating: 1, count: 100)
        buffer.withUnsafeBufferPointer { p in
            func part(_ r: Range<Int>) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(rebasing: p[r]) }
            func misuse(_ ta: BLAS.Transpose = .none, _ tb: BLAS.Transpose = .none, m: Int = 3, n: Int = 4, k: Int = 5,
                        a: Range<Int> = 0..<15, lda: Int = 5, b: Range<Int> = 20..<40, ldb: Int = 4, c: Range<Int> = 50..<62, ldc: Int = 4) -> String? {
                BLAS.misuse(ta, tb, m: m, n: n, k: k, a: part(a), lda: lda, b: part(b), ldb: ldb, c: part(c), ldc: ldc)
            }
            XCTAssertNil(misuse())
            XCTAssertNil(misuse(.transposed, .transposed, lda: 3, ldb: 5), "A stored 5 × 3, B stored 4 × 5")
            XCTAssertNil(misuse(a: 0..<15, b: 10..<30), "A and B may overlap")
            XCTAssertNil(misuse(m: 0, n: 0, k: 0, a: 0..<0, lda: 1, b: 0..<0, ldb: 1, c: 0..<0, ldc: 1))
            XCTAssertEqual(misuse(m: -1), "sgemm: negative size (m -1, n 4, k 5)")
            XCTAssertEqual(misuse(lda: 4), "sgemm: leading dimension of A is 4, less than its row length 5 (stored 3 × 5)")
            XCTAssertEqual(misuse(.transposed, lda: 5), "sgemm: buffer of A holds 15 elements; 5 × 3 with leading dimension 5 needs 23")
            XCTAssertEqual(misuse(.none, .transposed), "sgemm: leading dimension of B is 4, less than its row length 5 (stored 4 × 5)")
            XCTAssertEqual(misuse(b: 20..<35), "sgemm: buffer of B holds 15 elements; 5 × 4 with leading dimension 4 needs 20")
            XCTAssertEqual(misuse(c: 50..<60, ldc: 4), "sgemm: buffer of C holds 10 elements; 3 × 4 with leading dimension 4 needs 12")
            XCTAssertEqual(misuse(c: 10..<22), "sgemm: C overlaps A in memory; BLAS requires the output to be a separate buffer")
            XCTAssertEqual(misuse(c: 39..<51), "sgemm: C overlaps B in memory; BLAS requires the output to be a separate buffer")
            XCTAssertEqual(misuse(m: 1, n: 1, k: 1, a: 0..<1, lda: Int(Int32.max) + 1, b: 1..<2, ldb: 1, c: 2..<3, ldc: 1),
                           "sgemm: a size or leading dimension exceeds OpenBLAS's integer range 2147483647 (m 1, n 1, k 1, lda 2147483648, ldb 1, ldc 1)")
        }
    }

    func testOneThreadByDefault() {
        XCTAssertEqual(BLAS.threads, 1)
        XCTAssertFalse(BLAS.coreName.isEmpty)
    }
}

/// A counter shared by the threads of `testTwoThreadsAtOnce`.
final class Mismatches: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}
