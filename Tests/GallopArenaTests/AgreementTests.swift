import Foundation
import GallopArena
import GallopCore
import GallopResults
import XCTest

/// A planted metric (the clips' hidden quality, measured with a little noise) that drives the votes is
/// found; a random metric is not; a lower-is-better copy of the planted one agrees as much.
final class AgreementTests: XCTestCase {
    static let effects = ["m1": 1.0, "m2": 0.6, "m3": 0.3, "m4": 0.0, "m5": -0.4, "m6": -0.8]
    static let prompts = (1...12).map { "p\($0)" }

    /// Rows of six models × 12 prompts × 2 seeds (plus `loner`, which nobody voted on), and 3000 votes
    /// (plus one on `ghost`, which has no results, and one naming a seed nobody scored).
    static func make(seed: UInt64 = 99) -> (summary: ResultsSummary, votes: VotesFile) {
        var g = SplitMix64(seed: seed)
        var quality: [String: Double] = [:]
        var rows: [ClipResult] = []
        let promptEffect = Dictionary(uniqueKeysWithValues: prompts.map { ($0, 0.5 * g.gaussian()) })
        for model in effects.keys.sorted() + ["loner"] {
            for p in prompts {
                for seed in 1...2 {
                    let q = (effects[model] ?? 0) + promptEffect[p]! + 0.5 * g.gaussian()
                    quality["\(model)/\(p)/\(seed)"] = q
                    var row = ClipResult(path: "\(model)/\(p)-\(seed).mp4", name: ClipName(model: model, prompt: p, seed: seed), status: .ok)
                    let measured = q + 0.1 * g.gaussian()
                    row.metrics = [("planted", measured), ("planted_lower", -measured), ("random", g.gaussian()), ("level", g.gaussian())]
                    row.config = .object([("fingerprint", .string("fp"))])
                    row.fingerprint = "fp"
                    rows.append(row)
                }
            }
        }
        let known = [ValueDescriptor(name: "planted", direction: .higher, group: "quality"),
                     ValueDescriptor(name: "planted_lower", direction: .lower, group: "quality"),
                     ValueDescriptor(name: "random", direction: .higher, group: "quality"),
                     ValueDescriptor(name: "level", direction: .none, group: "quality")]
        let summary = try! Aggregation.summarize(rows, known: known)
        var lines = ["model_a,model_b,winner,prompt,seed_a,seed_b"]
        let names = effects.keys.sorted()
        for _ in 0..<3000 {
            let i = Int(g.next() % 6)
            var j = Int(g.next() % 5)
            if j >= i { j += 1 }
            let p = prompts[Int(g.next() % 12)], sa = 1 + Int(g.next() % 2), sb = 1 + Int(g.next() % 2)
            let d = quality["\(names[i])/\(p)/\(sa)"]! - quality["\(names[j])/\(p)/\(sb)"]!
            let s = 1 / (1 + exp(-2 * d))
            let q = 0.3 * 4 * s * (1 - s), u = g.uniform()
            let winner = u < s - q / 2 ? "model_a" : (u < s + q / 2 ? "tie" : "model_b")
            lines.append("\(names[i]),\(names[j]),\(winner),\(p),\(sa),\(sb)")
        }
        lines.append("ghost,m1,model_b,p1,1,1")
        lines.append("m1,m2,model_a,p1,7,1")
        return (summary, try! VotesFile.parse(lines.joined(separator: "\n") + "\n", file: "votes.csv"))
    }

    func testFindsThePlantedMetricAndNotARandomOne() throws {
        let (summary, votes) = AgreementTests.make()
        let boards = Agreement.compute(votes, summary: summary, settings: BootstrapSettings(resamples: 300, seed: 1))
        XCTAssertEqual(boards.count, 1)
        let b = boards[0]
        XCTAssertEqual(b.models, ["m1", "m2", "m3", "m4", "m5", "m6"])
        XCTAssertEqual(b.onlyInVotes, ["ghost"])
        XCTAssertEqual(b.onlyInResults, ["loner"])
        XCTAssertEqual(b.unmatched.map(\.line), [3002, 3003])
        XCTAssertEqual(b.clipVotes, 3002)
        let by = Dictionary(uniqueKeysWithValues: b.metrics.map { ($0.name, $0) })
        let planted = by["planted"]!, lower = by["planted_lower"]!, random = by["random"]!, level = by["level"]!
        for m in [planted, lower, random, level] {
            print("AgreementTests: \(m.name): ρ \(m.spearman!) \(m.spearmanInterval.map { "[\($0.low), \($0.high)]" } ?? "-"), τ \(m.kendall!), "
                  + "share \(String(format: "%.3f", m.share!)) [\(String(format: "%.3f", m.shareInterval!.low)), \(String(format: "%.3f", m.shareInterval!.high))] of \(m.clipVotes)")
        }
        // The planted metric orders the models as the votes do and prefers the clip people preferred.
        XCTAssertEqual(planted.spearman!, 1, accuracy: 1e-12)
        XCTAssertEqual(planted.kendall!, 1, accuracy: 1e-12)
        XCTAssertGreaterThan(planted.spearmanInterval!.low, 0.7)
        XCTAssertGreaterThan(planted.share!, 0.7)
        XCTAssertGreaterThan(planted.shareInterval!.low, 0.65)
        // Its lower-is-better mirror agrees exactly as much: direction is respected.
        XCTAssertEqual(lower.spearman, planted.spearman)
        XCTAssertEqual(lower.share, planted.share)
        XCTAssertEqual(lower.shareInterval, planted.shareInterval)
        // The random metric: a coin on clips, and no model-level agreement it can claim.
        XCTAssertEqual(random.share!, 0.5, accuracy: 0.04)
        XCTAssertTrue(random.shareInterval!.contains(0.5))
        XCTAssertLessThan(random.spearmanInterval!.low, 0)
        XCTAssertEqual(b.metrics.map(\.name), ["planted", "planted_lower", "random", "level"], "ranked by agreement, the side-less metric last")
        XCTAssertFalse(level.ranked)
        XCTAssertEqual(planted.clipVotes, 3000 - b.tiedClipVotes)

        let md = Agreement.markdown(boards, votesFile: "votes.csv")
        XCTAssertTrue(md.contains("| planted | ↑ | 6 | 1.00 |"), md)
        XCTAssertTrue(md.contains("No better side (not ranked"), md)
        XCTAssertTrue(md.contains("in the votes, not in the results: ghost"), md)
        XCTAssertTrue(md.contains("in the results, not in the votes: loner"), md)
        XCTAssertTrue(md.contains("2 of 3002 votes naming clips name one the results do not have or could not score (lines 3002, 3003)"), md)
        let json = Agreement.json(boards, votesFile: "votes.csv")
        XCTAssertEqual(json["boards"]?.arrayValue?.first?["metrics"]?.arrayValue?.first?["metric"]?.stringValue, "planted")
        // Deterministic for a seed.
        let again = Agreement.compute(votes, summary: summary, settings: BootstrapSettings(resamples: 300, seed: 1))
        XCTAssertEqual(again[0].metrics.map(\.spearmanInterval), b.metrics.map(\.spearmanInterval))
    }

    func testVotesWithoutClipsGiveCorrelationsOnly() throws {
        let (summary, _) = AgreementTests.make()
        let truth = Dictionary(uniqueKeysWithValues: AgreementTests.effects.map { ($0.key, 1000 + 300 * $0.value) })
        let votes = VoteSimulation.votes(truth, count: 2000, tieRate: 0.2, seed: 4)
        let file = VotesFile(file: "v.csv", votes: votes, hasCategory: false, namesClips: false)
        let b = Agreement.compute(file, summary: summary, settings: BootstrapSettings(resamples: 200, seed: 2))[0]
        let planted = b.metrics.first { $0.name == "planted" }!
        XCTAssertEqual(planted.spearman!, 1, accuracy: 1e-12)
        XCTAssertNil(planted.share)
        XCTAssertEqual(planted.clipVotes, 0)
        XCTAssertTrue(Agreement.markdown([b], votesFile: "v.csv").contains("no vote names its clips"))
    }

    /// With a category column: the pooled board first (every vote), then each category's, as `gallop arena`
    /// rates them. Category "text" votes as the planted quality goes, "audio" against it (the models' order
    /// reversed): the planted metric agrees fully on "text" (ρ 1), fully against on "audio" (ρ −1); pooled,
    /// with three times as many "text" votes, it still agrees (ρ 1: the pooled ratings keep the planted order,
    /// flattened). The categories' votes add up to the pooled board's; the outputs name each board.
    func testPooledAndPerCategoryBoards() throws {
        let (summary, _) = AgreementTests.make()
        let truth = Dictionary(uniqueKeysWithValues: AgreementTests.effects.map { ($0.key, 1000 + 300 * $0.value) })
        let reversed = Dictionary(uniqueKeysWithValues: AgreementTests.effects.map { ($0.key, 1000 - 300 * $0.value) })
        let votes = VoteSimulation.votes(truth, count: 1500, tieRate: 0.2, seed: 5, category: "text")
            + VoteSimulation.votes(reversed, count: 500, tieRate: 0.2, seed: 6, category: "audio")
        let file = VotesFile(file: "v.csv", votes: votes, hasCategory: true, namesClips: false)
        let boards = Agreement.compute(file, summary: summary, settings: BootstrapSettings(resamples: 200, seed: 3))
        XCTAssertEqual(boards.map(\.board.category), [nil, "text", "audio"])
        XCTAssertEqual(boards.map(\.board.pooled), [true, false, false])
        XCTAssertEqual(boards.map(\.board.votes), [2000, 1500, 500])
        func rho(_ b: BoardAgreement) -> Double? { b.metrics.first { $0.name == "planted" }?.spearman }
        XCTAssertEqual(rho(boards[1]) ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(rho(boards[2]) ?? 0, -1, accuracy: 1e-12)
        XCTAssertEqual(rho(boards[0]) ?? 0, 1, accuracy: 1e-12)
        // The pooled board's ratings are its own fit, not a category's: flatter than "text"'s.
        let spread = { (b: BoardAgreement) in b.board.model("m1")!.rating - b.board.model("m6")!.rating }
        XCTAssertLessThan(spread(boards[0]), spread(boards[1]))
        let md = Agreement.markdown(boards, votesFile: "v.csv")
        XCTAssertTrue(md.contains("## Agreement (all categories)\n"), md)
        XCTAssertTrue(md.contains("## Agreement: text\n"), md)
        XCTAssertTrue(md.contains("## Agreement: audio\n"), md)
        let json = Agreement.json(boards, votesFile: "v.csv")["boards"]?.arrayValue ?? []
        XCTAssertEqual(json.map { $0["pooled"] }, [.bool(true), .bool(false), .bool(false)])
        XCTAssertEqual(json.map { $0["category"]?.stringValue }, [nil, "text", "audio"])
        // Without the column there is one board, and its JSON says nothing of pooling, as before.
        let plain = VotesFile(file: "v.csv", votes: votes.map { var v = $0; v.category = nil; return v }, hasCategory: false, namesClips: false)
        let one = Agreement.compute(plain, summary: summary, settings: BootstrapSettings(resamples: 50, seed: 3))
        XCTAssertEqual(one.count, 1)
        XCTAssertNil(Agreement.json(one, votesFile: "v.csv")["boards"]?.arrayValue?.first?["pooled"])
    }

    /// With no agreement at all (random metrics), how often the intervals hold "none": 100 simulated
    /// sets (12 prompts, 3000 votes each) take about 20 s, so this runs with GALLOP_LONG_SIMULATIONS=1.
    func testIntervalsHoldNoAgreementForRandomMetrics() throws {
        guard ProcessInfo.processInfo.environment["GALLOP_LONG_SIMULATIONS"] == "1" else {
            throw XCTSkip("a 20 s simulation: run with GALLOP_LONG_SIMULATIONS=1")
        }
        var shareHits = 0, rhoHits = 0, n = 0
        for k in 0..<100 {
            let (summary, votes) = AgreementTests.make(seed: 1000 + UInt64(k))
            let b = Agreement.compute(votes, summary: summary, settings: BootstrapSettings(resamples: 200, seed: UInt64(k)))[0]
            for name in ["random", "level"] {
                let m = b.metrics.first { $0.name == name }!
                n += 1
                if m.shareInterval!.contains(0.5) { shareHits += 1 }
                if m.spearmanInterval!.contains(0) { rhoHits += 1 }
            }
        }
        print("AgreementTests: random metrics, 95% intervals: the clip share's holds 50% in \(shareHits) of \(n), Spearman's holds 0 in \(rhoHits) of \(n)")
        XCTAssertGreaterThan(Double(shareHits) / Double(n), 0.88)
        XCTAssertGreaterThan(Double(rhoHits) / Double(n), 0.88)
    }

    func testRankCorrelations() {
        XCTAssertEqual(Correlation.spearman([1, 2, 3, 4], [10, 20, 30, 40])!, 1, accuracy: 1e-12)
        XCTAssertEqual(Correlation.kendall([1, 2, 3, 4], [40, 30, 20, 10])!, -1, accuracy: 1e-12)
        // Known values (scipy.stats): x = [1, 2, 3, 4, 5], y = [2, 1, 4, 3, 5]: ρ = 0.8, τ = 0.6.
        XCTAssertEqual(Correlation.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])!, 0.8, accuracy: 1e-12)
        XCTAssertEqual(Correlation.kendall([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])!, 0.6, accuracy: 1e-12)
        // With ties: τ-b of [1, 1, 2, 3] and [1, 2, 3, 4] is 5 / √(5·6).
        XCTAssertEqual(Correlation.kendall([1, 1, 2, 3], [1, 2, 3, 4])!, 5 / (30.0).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(Correlation.ranks([3, 1, 3, 2]), [3.5, 1, 3.5, 2])
        XCTAssertNil(Correlation.spearman([1, 1, 1], [1, 2, 3]))
        XCTAssertNil(Correlation.kendall([1, 2], [1, 2]))
    }
}
