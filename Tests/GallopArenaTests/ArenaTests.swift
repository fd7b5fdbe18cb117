import Foundation
import GallopArena
import GallopCore
import GallopResults
import XCTest

final class ArenaTests: XCTestCase {
    let quick = BootstrapSettings(resamples: 200, seed: 7)

    func testTwoModelsGiveTheLogOddsOfTheirScore() {
        // 300 of 400: 400·log10(3) = 190.85 points apart; 200 wins and 200 ties score the same.
        let expected = 400 * log10(3.0)
        for votes in [VoteSimulation.fixed("a", "b", aWins: 300, ties: 0, bWins: 100), VoteSimulation.fixed("a", "b", aWins: 200, ties: 200, bWins: 0)] {
            let board = Arena.board(votes, category: nil, settings: quick)
            let a = board.model("a")!, b = board.model("b")!
            // The prior (one virtual tie each) pulls the gap in by under 1%.
            XCTAssertEqual(a.rating - b.rating, expected, accuracy: 0.01 * expected)
            XCTAssertLessThan(a.rating - b.rating, expected)
            XCTAssertEqual((a.rating + b.rating) / 2, 1000, accuracy: 1e-9)
            XCTAssertFalse(a.unbounded || b.unbounded)
        }
        // Without the prior (a vanishing one), the maximum of the likelihood itself.
        let data = VoteSimulation.fixed("a", "b", aWins: 300, ties: 0, bWins: 100)
        let pairs = BradleyTerry.Pairs(models: 2, first: [0], second: [1], score: [300], count: [400])
        let theta = BradleyTerry.fit(pairs, prior: 1e-9)
        XCTAssertEqual(BradleyTerry.rating(theta[0]) - BradleyTerry.rating(theta[1]), expected, accuracy: 1e-4)
        XCTAssertEqual(data.count, 400)
    }

    func testRecoversRatingsAndOrderFromSimulatedVotesWithTies() {
        let truth = ["m1": 1230.0, "m2": 1140, "m3": 1060, "m4": 970, "m5": 880, "m6": 720]
        let mean = truth.values.reduce(0, +) / 6
        let votes = VoteSimulation.votes(truth, count: 6000, tieRate: 0.3, seed: 11)
        XCTAssertGreaterThan(votes.filter { $0.winner == .tie }.count, 1000, "ties are part of the simulation")
        let board = Arena.board(votes, category: nil, settings: quick)
        XCTAssertEqual(board.models.map(\.name), ["m1", "m2", "m3", "m4", "m5", "m6"])
        XCTAssertEqual(board.models.map(\.rank), [1, 2, 3, 4, 5, 6])
        var worst = 0.0
        for m in board.models {
            let t = truth[m.name]! - mean + 1000
            worst = max(worst, abs(m.rating - t))
            XCTAssertTrue(m.interval.contains(m.rating))
        }
        print("ArenaTests: 6 models, 6000 votes (30% ties between equals): largest rating error \(String(format: "%.1f", worst)) points")
        XCTAssertLessThan(worst, 30)
        XCTAssertTrue(board.notes.isEmpty, board.notes.joined(separator: "\n"))
    }

    func testEqualModelsShareARank() {
        let truth = ["top": 1200.0, "twin1": 1000, "twin2": 1000, "last": 800]
        let board = Arena.board(VoteSimulation.votes(truth, count: 4000, tieRate: 0.3, seed: 5), category: nil, settings: quick)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: board.models.map { ($0.name, $0.rank) }), ["top": 1, "twin1": 2, "twin2": 2, "last": 4])
    }

    /// Percentile intervals over resampled votes, 200 simulated boards of 5 models and 600 votes.
    func testIntervalsCoverTheTrueRatingsNearTheirRate() {
        let rate = coverage(votes: 600)
        XCTAssertGreaterThan(rate, 0.92)
        XCTAssertLessThan(rate, 0.98)
    }

    /// The same on 1000 small boards (150 votes, 60 a model): about 8 s, run with GALLOP_LONG_SIMULATIONS=1.
    func testIntervalsOnSmallBoards() throws {
        guard ProcessInfo.processInfo.environment["GALLOP_LONG_SIMULATIONS"] == "1" else {
            throw XCTSkip("a long simulation: run with GALLOP_LONG_SIMULATIONS=1")
        }
        XCTAssertGreaterThan(coverage(votes: 150, boards: 1000), 0.9)
    }

    func coverage(votes count: Int, boards: Int = 200) -> Double {
        let truth = ["a": 1150.0, "b": 1060, "c": 1000, "d": 940, "e": 850]
        var covered = 0, total = 0, error = 0.0, orderRight = 0
        for k in 0..<boards {
            let votes = VoteSimulation.votes(truth, count: count, tieRate: 0.3, seed: 1000 + UInt64(k))
            let board = Arena.board(votes, category: nil, settings: BootstrapSettings(resamples: 400, seed: UInt64(k)))
            for m in board.models {
                total += 1
                if m.interval.contains(truth[m.name]!) { covered += 1 }
                error += abs(m.rating - truth[m.name]!)
            }
            if board.models.map(\.name) == ["a", "b", "c", "d", "e"] { orderRight += 1 }
        }
        let rate = Double(covered) / Double(total)
        print("ArenaTests: \(count) votes a board: 95% intervals covered \(covered) of \(total) true ratings (\(String(format: "%.1f", 100 * rate))%); "
              + "mean absolute error \(String(format: "%.1f", error / Double(total))) points; order exact on \(orderRight) of \(boards) boards")
        return rate
    }

    func testAModelThatNeverWinsIsFiniteAndNamed() {
        var votes = VoteSimulation.votes(["a": 1100, "b": 1000, "c": 900], count: 300, tieRate: 0.2, seed: 3)
        votes += (0..<20).map { Vote(modelA: "loser", modelB: ["a", "b", "c"][$0 % 3], winner: .modelB) }
        let board = Arena.board(votes, category: nil, settings: quick)
        let loser = board.model("loser")!
        XCTAssertTrue(loser.unbounded)
        XCTAssertTrue(loser.rating.isFinite && loser.interval.low.isFinite)
        XCTAssertEqual(board.models.last?.name, "loser")
        XCTAssertEqual(loser.rank, 4)
        XCTAssertTrue(board.notes.contains { $0.hasPrefix("`loser` never won nor tied in 20 votes") }, board.notes.joined(separator: "\n"))
        XCTAssertEqual(board.notes.count, 1, "the set note is not repeated for one unbounded model")
        // Two models that never lost to two others: the set is named.
        let split = VoteSimulation.fixed("a", "b", aWins: 10, ties: 5, bWins: 10) + VoteSimulation.fixed("c", "d", aWins: 10, ties: 0, bWins: 10)
            + VoteSimulation.fixed("a", "c", aWins: 10, ties: 0, bWins: 0) + VoteSimulation.fixed("b", "d", aWins: 10, ties: 0, bWins: 0)
        let top = Arena.board(split, category: nil, settings: quick)
        XCTAssertEqual(top.notes, ["{a, b} never lost nor tied against {c, d}: the distance between the two sets has no finite maximum and is set by the prior"])
    }

    func testSeparateGroupsAreRankedApart() {
        let votes = VoteSimulation.votes(["a": 1200, "b": 1000], count: 400, tieRate: 0.2, seed: 1)
            + VoteSimulation.votes(["c": 1000, "d": 800], count: 400, tieRate: 0.2, seed: 2)
        let board = Arena.board(votes, category: nil, settings: quick)
        XCTAssertEqual(board.groups, [["a", "b"], ["c", "d"]])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: board.models.map { ($0.name, $0.rank) }), ["a": 1, "b": 2, "c": 1, "d": 2])
        XCTAssertTrue(board.notes.first?.hasPrefix("the models fall into 2 groups never compared") == true)
    }

    func testCategoriesAreSeparateBoardsAndTheBootstrapIsSeeded() throws {
        let text = "model_a,model_b,winner,category\n" + (0..<40).map { i in
            i % 2 == 0 ? "x,y,\(i % 4 == 0 ? "model_a" : "tie"),t2v" : "x,y,\(i % 3 == 0 ? "model_b" : "model_a"),i2v"
        }.joined(separator: "\n")
        let file = try VotesFile.parse(text, file: "v.csv")
        let boards = Arena.boards(file, settings: quick)
        XCTAssertEqual(boards.map(\.category), ["t2v", "i2v"])
        XCTAssertEqual(boards.map(\.votes), [20, 20])
        XCTAssertEqual(boards[0].ties, 10)
        let again = Arena.boards(file, settings: quick)
        XCTAssertEqual(boards.map(\.models), again.map(\.models))
        let other = Arena.boards(file, settings: BootstrapSettings(resamples: 200, seed: 8))
        XCTAssertNotEqual(boards[0].model("x")!.interval, other[0].model("x")!.interval)
        let md = Arena.markdown(boards, votesFile: "v.csv")
        XCTAssertTrue(md.contains("## Arena: t2v") && md.contains("## Arena: i2v"), md)
        XCTAssertTrue(md.contains("200 bootstrap resamples of the votes (seed 7)"), md)
        let json = Arena.json(boards, votesFile: "v.csv")
        XCTAssertEqual(json["boards"]?.arrayValue?.count, 2)
        XCTAssertEqual(json["bootstrap"]?["resamples"]?.intValue, 200)
    }
}
