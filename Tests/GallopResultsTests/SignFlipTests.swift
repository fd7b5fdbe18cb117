import Foundation
import GallopCore
@testable import GallopResults
import XCTest

/// The exact sign-flip test against known answers, a brute-force count done another way, and its level.
final class SignFlipTests: XCTestCase {
    /// #{sign patterns whose sum ≥ the observed sum} / 2ⁿ by recursion over the values (no bit tricks).
    func bruteForce(_ d: [Double]) -> Double {
        let observed = d.reduce(0, +)
        func count(_ i: Int, _ sum: Double) -> Int {
            guard i < d.count else { return sum >= observed - 1e-9 * d.map(abs).reduce(0, +) ? 1 : 0 }
            return count(i + 1, sum + abs(d[i])) + count(i + 1, sum - abs(d[i]))
        }
        return Double(count(0, 0)) / pow(2, Double(d.count))
    }

    func testKnownAnswers() {
        // Every difference past the tolerance: only the observed pattern reaches its sum.
        XCTAssertEqual(SignFlip.pValue([1, 2, 3, 4, 5]), 1.0 / 32)
        XCTAssertEqual(SignFlip.pValue([0.1, 0.1, 0.1, 0.1, 0.1]), 1.0 / 32, "equal values tie with the rounding slack")
        // One small difference the other way: the observed pattern and the all-positive one.
        XCTAssertEqual(SignFlip.pValue([3, 3, 3, 3, -0.1]), 2.0 / 32)
        // All on the other side: every pattern is at least the observed sum.
        XCTAssertEqual(SignFlip.pValue([-1, -2, -3, -4, -5]), 1)
        // (1, −1): sums 2, 0, 0, −2 against 0.
        XCTAssertEqual(SignFlip.pValue([1, -1]), 3.0 / 4)
        // Zeros count both ways.
        XCTAssertEqual(SignFlip.pValue([0, 0, 0]), 1)
        XCTAssertEqual(SignFlip.pValue([2, 0]), 2.0 / 4)
        XCTAssertEqual(SignFlip.pValue([]), 1)
        XCTAssertEqual(SignFlip.pValue([5]), 0.5)
    }

    func testAgreesWithBruteForce() {
        var g = SplitMix64(seed: 7)
        for n in 1...9 {
            for _ in 0..<40 {
                // Shifted values, some ties (rounded to a coarse grid).
                let d = (0..<n).map { _ in ((g.gaussian() + 0.4) * 4).rounded() / 4 }
                XCTAssertEqual(SignFlip.pValue(d), bruteForce(d), "\(d)")
            }
        }
    }

    func testSmallestDecisive() {
        XCTAssertEqual(SignFlip.smallestDecisive(alpha: 0.05), 5)
        XCTAssertEqual(SignFlip.smallestDecisive(alpha: 0.025), 6)
        XCTAssertEqual(SignFlip.smallestDecisive(alpha: 0.01), 7)
        XCTAssertEqual(SignFlip.smallestDecisive(alpha: 1.0 / 32), 5, "2⁻⁵ reaches α = 2⁻⁵")
        XCTAssertEqual(SignFlip.smallestDecisive(alpha: 0.5), 1)
    }

    /// The false-alarm rate on differences symmetric about 0 is at most α (exactly ⌊α·2ⁿ⌋ / 2ⁿ for
    /// continuous values): 1/32, 3/64, 6/128 at n = 5, 6, 7 and α = 0.05; never at n ≤ 4.
    func testLevelHoldsOnSymmetricNoise() {
        var g = SplitMix64(seed: 20_261_203)
        let trials = 20_000
        for n in 3...7 {
            var rejected = 0
            for _ in 0..<trials {
                // Heavy-tailed and symmetric: a normal scaled by a random spread per draw.
                let d = (0..<n).map { _ in g.gaussian() * exp(g.gaussian()) }
                if SignFlip.pValue(d) <= 0.05 { rejected += 1 }
            }
            let rate = Double(rejected) / Double(trials)
            let exact = (0.05 * pow(2, Double(n))).rounded(.down) / pow(2, Double(n))
            XCTAssertEqual(rate, exact, accuracy: 0.006, "n = \(n)")
            XCTAssertLessThanOrEqual(rate, 0.05 + 0.006, "n = \(n)")
        }
    }
}
