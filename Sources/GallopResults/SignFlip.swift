import Foundation

/// The exact one-sided sign-flip (permutation) test for a paired mean on few units.
///
/// Method (Fisher's randomisation test for paired data; Good, *Permutation Tests*, 2nd ed., §3.1):
/// given differences d₁…dₙ (one per prompt, already shifted by the tolerance) and the null
/// hypothesis that each dᵢ is symmetric about 0, every sign pattern s ∈ {+1, −1}ⁿ is equally likely,
/// so the statistic S = Σ dᵢ has the null distribution of Σ sᵢ·|dᵢ| over the 2ⁿ patterns.
/// The one-sided p-value is p = #{s : Σ sᵢ·|dᵢ| ≥ S} / 2ⁿ, counting every pattern, so it is exact
/// (no sampling, no seed). Ties are counted in: a pattern whose sum is within a relative 1e-9 of S
/// counts as ≥ S, so a sum that differs only by rounding does not flip the answer.
///
/// Why this test below ``Bootstrap/minimumUnits`` units: a bootstrap interval on fewer than 8
/// values covers far less than its level, and a t-test leans on normality that 3–7 values cannot
/// show. The sign-flip test needs only symmetry under the null, holds its level exactly for any
/// n (its false-alarm rate is at most α whatever the spread), and weighs each difference by its
/// size: with all differences on one side it gives 2⁻ⁿ as a sign test does, and one small
/// difference on the other side costs it little (d = 3, 3, 3, 3, −0.1: p = 2/32) where a sign
/// test counts it as a full vote against (p = 6/32). Its smallest p-value is 2⁻ⁿ, so at level α
/// it can reject only from ``smallestDecisive(alpha:)`` units on: 5 at α = 0.05.
///
/// Cost: O(2ⁿ · n) additions; n is capped at ``maximumUnits`` (2²⁰ patterns), and the gate uses
/// it for n < 8 (at most 128 patterns).
public enum SignFlip {
    /// The most units an exact enumeration is run on.
    public static let maximumUnits = 20

    /// How `summary.json`-style outputs name the test.
    public static let method = "exact one-sided sign-flip permutation test"

    /// The one-sided p-value of the hypothesis that the mean of `differences` is 0 or less,
    /// against the alternative that it is greater. Empty input gives 1. Values must be finite.
    public static func pValue(_ differences: [Double]) -> Double {
        precondition(differences.count <= maximumUnits, "SignFlip: at most \(maximumUnits) values")
        precondition(differences.allSatisfy(\.isFinite), "SignFlip: values must be finite")
        let n = differences.count
        guard n > 0 else { return 1 }
        let magnitudes = differences.map(abs)
        let observed = differences.reduce(0, +)
        let scale = magnitudes.reduce(0, +)
        let threshold = observed - 1e-9 * scale
        var count = 0
        for pattern in 0..<(1 << n) {
            var sum = 0.0
            for i in 0..<n { sum += pattern & (1 << i) == 0 ? magnitudes[i] : -magnitudes[i] }
            if sum >= threshold { count += 1 }
        }
        return Double(count) / Double(1 << n)
    }

    /// The fewest units on which the test can reach p ≤ `alpha`: the least n with 2⁻ⁿ ≤ α
    /// (⌈log₂(1/α)⌉; 5 at α = 0.05). `alpha` must be in (0, 1).
    public static func smallestDecisive(alpha: Double) -> Int {
        precondition(alpha > 0 && alpha < 1, "SignFlip: alpha must be in (0, 1)")
        var n = 1
        while pow(0.5, Double(n)) > alpha * (1 + 1e-12) { n += 1 }
        return n
    }
}
