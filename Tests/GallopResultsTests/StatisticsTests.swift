import Foundation
import GallopCore
@testable import GallopResults
import XCTest

/// Seeded simulations of the bootstrap intervals and the ranking. The coverage figures printed here are the
/// ones quoted in Statistics.swift and the README. Inside the simulations each interval uses 1000 resamples
/// (the default is 2000) to keep the suite fast; coverage barely depends on it.
final class StatisticsTests: XCTestCase {
    /// Settings used inside the coverage simulations.
    private let simulation = BootstrapSettings(resamples: 1000)

    // MARK: - Distributions

    private struct Distribution: Sendable {
        var name: String
        var mean: Double
        var draw: @Sendable (inout SplitMix64) -> Double
    }

    private static let normal = Distribution(name: "normal(0, 1)", mean: 0) { $0.gaussian() }
    private static let exponential = Distribution(name: "exponential(1)", mean: 1) { -log(1 - $0.uniform()) }
    private static let logNormal = Distribution(name: "log-normal(0, 1)", mean: exp(0.5)) { exp($0.gaussian()) }

    /// Fraction of `suites` simulated suites of n values whose interval contains the true mean.
    private func coverage(_ d: Distribution, n: Int, suites: Int, seed: UInt64) -> Double {
        var data = SplitMix64(seed: seed)
        var hits = 0
        for suite in 0..<suites {
            let values = (0..<n).map { _ in d.draw(&data) }
            let interval = Bootstrap.mean(values, settings: simulation, stream: UInt64(suite))!
            if interval.contains(d.mean) { hits += 1 }
        }
        return Double(hits) / Double(suites)
    }

    private func percent(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }

    // MARK: - Coverage

    func testMeanCoverageNormalAndSkewed() {
        let suites = 2000
        var table: [String: [Int: Double]] = [:]
        for d in [Self.normal, Self.exponential, Self.logNormal] {
            for n in [10, 30, 100] {
                table[d.name, default: [:]][n] = coverage(d, n: n, suites: suites, seed: 1000 + UInt64(n))
            }
            let row = [10, 30, 100].map { "n=\($0): \(percent(table[d.name]![$0]!))" }.joined(separator: "  ")
            print("Bootstrap.mean 95% coverage, \(d.name), \(suites) suites × 1000 resamples: \(row)")
        }
        // Normal values: every n.
        for n in [10, 30, 100] {
            XCTAssert((0.93...0.97).contains(table[Self.normal.name]![n]!), "normal, n = \(n)")
        }
        // Skewed (exponential, skewness 2): every n.
        for n in [10, 30, 100] {
            XCTAssert((0.93...0.97).contains(table[Self.exponential.name]![n]!), "exponential, n = \(n)")
        }
        // Log-normal (σ = 1, skewness 6.2) under-covers with any bootstrap at these sizes: printed only.
    }

    /// The smallest suite that gets an interval (``Bootstrap/minimumUnits``): coverage there, and below it.
    func testSmallSuiteCoverage() {
        var rows: [String] = []
        var atMinimum: [String: Double] = [:]
        for d in [Self.normal, Self.exponential] {
            let cells = [3, 4, 5, 6, 8].map { n -> String in
                let c = coverage(d, n: n, suites: 2000, seed: 500 + UInt64(n))
                if n == Bootstrap.minimumUnits { atMinimum[d.name] = c }
                return "n=\(n): \(percent(c))"
            }
            rows.append("\(d.name): " + cells.joined(separator: "  "))
        }
        print("Bootstrap.mean 95% coverage at small n, 2000 suites × 1000 resamples:\n  " + rows.joined(separator: "\n  "))
        for (name, c) in atMinimum { XCTAssert((0.93...0.97).contains(c), "\(name) at n = \(Bootstrap.minimumUnits): \(c)") }
    }

    func testClusteredCoverageAndNaiveUnderCoverage() {
        // 30 prompts × 3 seeds: value = prompt effect N(0, 1) + clip noise N(0, 1); true mean 0.
        let suites = 2000, prompts = 30, seeds = 3
        var data = SplitMix64(seed: 7)
        var clusteredHits = 0, naiveHits = 0
        for suite in 0..<suites {
            let clusters = (0..<prompts).map { _ -> [Double] in
                let effect = data.gaussian()
                return (0..<seeds).map { _ in effect + data.gaussian() }
            }
            if Bootstrap.clusteredMean(clusters, settings: simulation, stream: UInt64(suite))!.contains(0) { clusteredHits += 1 }
            if Bootstrap.mean(clusters.flatMap { $0 }, settings: simulation, stream: UInt64(suite))!.contains(0) { naiveHits += 1 }
        }
        let clustered = Double(clusteredHits) / Double(suites), naive = Double(naiveHits) / Double(suites)
        print("95% coverage, \(prompts) prompts × \(seeds) seeds, prompt sd = clip sd, \(suites) suites: "
            + "clusteredMean \(percent(clustered)), i.i.d. mean of flattened values \(percent(naive))")
        XCTAssert((0.93...0.97).contains(clustered), "clustered coverage \(clustered)")
        XCTAssertLessThan(naive, clustered)
        XCTAssertLessThan(naive, 0.9)
    }

    // MARK: - Ranking

    /// Models on a shared suite: value = prompt effect (shared) + model offset + model noise.
    private func suite(offsets: [String: Double], prompts: Int, promptSD: Double, noiseSD: Double,
                       generator g: inout SplitMix64) -> [Ranking.Entry] {
        let effects = (0..<prompts).map { _ in promptSD * g.gaussian() }
        return offsets.keys.sorted().map { name in
            var units: [String: Double] = [:]
            for (p, effect) in effects.enumerated() { units["p\(p)"] = effect + offsets[name]! + noiseSD * g.gaussian() }
            return Ranking.Entry(name: name, units: units)
        }
    }

    func testRanksRecoverKnownOrder() {
        var g = SplitMix64(seed: 11)
        let offsets = ["a": 4.0, "b": 3.0, "c": 2.0, "d": 1.0, "e": 0.0]
        let entries = suite(offsets: offsets, prompts: 50, promptSD: 2, noiseSD: 0.5, generator: &g)
        let up = Ranking.ranks(entries, higherIsBetter: true, settings: BootstrapSettings())
        XCTAssertEqual(["a", "b", "c", "d", "e"].map { up[$0]!.rank }, [1, 2, 3, 4, 5])
        let down = Ranking.ranks(entries, higherIsBetter: false, settings: BootstrapSettings())
        XCTAssertEqual(["a", "b", "c", "d", "e"].map { down[$0]!.rank }, [5, 4, 3, 2, 1])
        // Means are plain means over units.
        for entry in entries {
            let mean = entry.units.values.reduce(0, +) / Double(entry.units.count)
            XCTAssertEqual(up[entry.name]!.mean, mean, accuracy: 1e-12)
        }
        // The order of the entries does not matter.
        XCTAssertEqual(Ranking.ranks(entries.reversed(), higherIsBetter: true, settings: BootstrapSettings()), up)
    }

    func testEqualModelsTieMostOfTheTime() {
        let cases = 200
        var g = SplitMix64(seed: 12)
        var splits = 0
        for _ in 0..<cases {
            let entries = suite(offsets: ["x": 0, "y": 0], prompts: 50, promptSD: 1, noiseSD: 0.5, generator: &g)
            let r = Ranking.ranks(entries, higherIsBetter: true, settings: BootstrapSettings())
            if r["x"]!.rank != r["y"]!.rank { splits += 1 } else { XCTAssertEqual(r["x"]!.rank, 1) }
        }
        let rate = Double(splits) / Double(cases)
        print("Equal models split into different ranks in \(splits) of \(cases) simulated suites (\(percent(rate)))")
        XCTAssertLessThan(rate, 0.10)
    }

    func testOneBestAndTwoEqual() {
        var g = SplitMix64(seed: 13)
        let entries = suite(offsets: ["best": 2, "p": 0, "q": 0], prompts: 50, promptSD: 1, noiseSD: 0.5, generator: &g)
        let r = Ranking.ranks(entries, higherIsBetter: true, settings: BootstrapSettings())
        XCTAssertEqual(["best", "p", "q"].map { r[$0]!.rank }, [1, 2, 2])
    }

    func testPairedComparisonSeparatesAndDifferentPromptsAreNotRanked() {
        // B = A − 0.3 on every prompt (plus a little noise); the prompts differ by sd 10, shared by both.
        var g = SplitMix64(seed: 14)
        var a: [String: Double] = [:], b: [String: Double] = [:], bElsewhere: [String: Double] = [:]
        for p in 0..<40 {
            let effect = 10 * g.gaussian()
            a["p\(p)"] = effect + 0.3 + 0.1 * g.gaussian()
            b["p\(p)"] = effect + 0.1 * g.gaussian()
            bElsewhere["other\(p)"] = b["p\(p)"]
        }
        let paired = Ranking.ranks([.init(name: "A", units: a), .init(name: "B", units: b)],
                                   higherIsBetter: true, settings: BootstrapSettings())
        XCTAssertEqual(paired["A"]!.rank, 1)
        XCTAssertEqual(paired["B"]!.rank, 2)
        // Renaming the models changes nothing.
        let renamed = Ranking.ranks([.init(name: "Z", units: a), .init(name: "Y", units: b)], higherIsBetter: true, settings: BootstrapSettings())
        XCTAssertEqual(renamed["Z"], paired["A"])
        // Models on different prompts are not compared unpaired: neither gets a rank.
        let apart = Ranking.ranks([.init(name: "A", units: a), .init(name: "B", units: bElsewhere)],
                                  higherIsBetter: true, settings: BootstrapSettings())
        XCTAssertNil(apart["A"]!.rank)
        XCTAssertNil(apart["B"]!.rank)
    }

    // MARK: - Determinism

    func testDeterministicForGivenSettings() {
        var g = SplitMix64(seed: 16)
        let values = (0..<40).map { _ in g.gaussian() }
        let settings = BootstrapSettings()
        let first = Bootstrap.mean(values, settings: settings, stream: 5)!
        XCTAssertEqual(Bootstrap.mean(values, settings: settings, stream: 5), first)
        let otherSeed = Bootstrap.mean(values, settings: BootstrapSettings(seed: settings.seed + 1), stream: 5)!
        XCTAssertNotEqual(otherSeed, first)
        XCTAssertEqual(otherSeed.low, first.low, accuracy: 0.1 * (first.high - first.low))
        XCTAssertEqual(otherSeed.high, first.high, accuracy: 0.1 * (first.high - first.low))
        XCTAssertNotEqual(Bootstrap.mean(values, settings: settings, stream: 6), first)
        let clusters = stride(from: 0, to: 40, by: 4).map { Array(values[$0..<$0 + 4]) }
        XCTAssertEqual(Bootstrap.clusteredMean(clusters, settings: settings, stream: 5),
                       Bootstrap.clusteredMean(clusters, settings: settings, stream: 5))
    }

    func testStreamIsFNV1a() {
        XCTAssertEqual(Bootstrap.stream(), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(Bootstrap.stream("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(Bootstrap.stream("wan", "flicker_index"), Bootstrap.stream("wan", "flicker_index"))
        XCTAssertNotEqual(Bootstrap.stream("ab", "c"), Bootstrap.stream("a", "bc"))
        XCTAssertNotEqual(Bootstrap.stream("a", "b"), Bootstrap.stream("b", "a"))
        XCTAssertEqual(Bootstrap.stream(["wan", "flicker_index"]), Bootstrap.stream("wan", "flicker_index"))
    }

    // MARK: - Edge cases

    func testEdgeCases() {
        let settings = BootstrapSettings()
        XCTAssertNil(Bootstrap.mean([], settings: settings, stream: 0))
        XCTAssertNil(Bootstrap.mean([1], settings: settings, stream: 0))
        XCTAssertNil(Bootstrap.clusteredMean([], settings: settings, stream: 0))
        XCTAssertNil(Bootstrap.clusteredMean([[1, 2, 3]], settings: settings, stream: 0))
        XCTAssertNil(Bootstrap.clusteredMean([[1, 2], []], settings: settings, stream: 0))
        XCTAssertEqual(Bootstrap.mean([0.1, 0.1, 0.1], settings: settings, stream: 0), Interval(low: 0.1, high: 0.1))
        XCTAssertEqual(Bootstrap.clusteredMean([[2, 2], [2]], settings: settings, stream: 0), Interval(low: 2, high: 2))
        // Two values: an interval inside their range.
        let two = Bootstrap.mean([1, 3], settings: settings, stream: 0)!
        XCTAssertTrue(two.low >= 1 && two.high <= 3 && two.contains(2))
        // Sparse values (most resamples have no spread): finite and inside the data's range.
        let sparse = Bootstrap.mean([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], settings: settings, stream: 0)!
        XCTAssertTrue(sparse.low >= 0 && sparse.high <= 1 && sparse.contains(0.1), "\(sparse)")
        // A single entry with enough units ranks first; with fewer, or with no units, it has no rank.
        let eight = Dictionary(uniqueKeysWithValues: (0..<Bootstrap.minimumUnits).map { ("p\($0)", Double($0)) })
        let single = Ranking.ranks([.init(name: "only", units: eight)], higherIsBetter: true, settings: settings)
        XCTAssertEqual(single, ["only": Ranking.Result(rank: 1, mean: 3.5)])
        XCTAssertEqual(Ranking.ranks([.init(name: "few", units: ["p": 0.5])], higherIsBetter: true, settings: settings),
                       ["few": Ranking.Result(rank: nil, mean: 0.5)])
        let withEmpty = Ranking.ranks([.init(name: "a", units: eight), .init(name: "b", units: [:])],
                                      higherIsBetter: true, settings: settings)
        XCTAssertEqual(withEmpty["a"]!.rank, 1)
        XCTAssertNil(withEmpty["b"]!.rank)
        XCTAssertTrue(withEmpty["b"]!.mean.isNaN)
        XCTAssertTrue(Ranking.ranks([], higherIsBetter: true, settings: settings).isEmpty)
        XCTAssertTrue(Interval(low: 0.1, high: 2).excludesZero)
        XCTAssertTrue(Interval(low: -2, high: -0.1).excludesZero)
        XCTAssertFalse(Interval(low: -0.1, high: 2).excludesZero)
    }
}
