import Foundation
import GallopArena
import GallopCore
import GallopResults
import XCTest

/// Categories (`category` column): each its own board, all votes together on a pooled first board, the
/// counts of each in arena.md and arena.json, and a file without the column unchanged.
final class ArenaCategoryTests: XCTestCase {
    let quick = BootstrapSettings(resamples: 200, seed: 7)

    /// `n` votes of `a` against `b` in `category`, `a` winning `aWins` of them.
    func lines(_ a: String, _ b: String, _ category: String, _ n: Int, aWins: Int) -> [String] {
        (0..<n).map { "\(a),\(b),\($0 < aWins ? "model_a" : "model_b"),\(category)" }
    }

    /// A leads the silent board and B the with-audio one; C is voted on with sound only.
    func testEachCategoryHasItsOwnLeaderAndTheCounts() throws {
        let text = (["model_a,model_b,winner,category"]
            + lines("A", "B", "text-to-video", 40, aWins: 30)
            + lines("A", "B", "with-audio", 40, aWins: 10)
            + lines("B", "C", "with-audio", 20, aWins: 14)).joined(separator: "\n") + "\n"
        let file = try VotesFile.parse(text, file: "v.csv")
        let boards = Arena.boards(file, settings: quick, minimumVotes: 1)
        XCTAssertEqual(boards.map(\.title), ["Arena (all categories)", "Arena: text-to-video", "Arena: with-audio"])
        XCTAssertEqual(boards.map(\.pooled), [true, false, false])
        XCTAssertEqual(boards.map(\.category), [nil, "text-to-video", "with-audio"])
        XCTAssertEqual(boards.map(\.votes), [100, 40, 60])
        XCTAssertEqual(boards.map(\.models.count), [3, 2, 3])
        XCTAssertEqual(boards[1].models.first?.name, "A")
        XCTAssertEqual(boards[2].models.first?.name, "B")
        XCTAssertEqual(boards[1].model("A")!.votes, 40)
        XCTAssertEqual(boards[2].model("A")!.votes, 40)
        XCTAssertEqual(boards[0].model("A")!.votes, 80)
        XCTAssertGreaterThan(boards[1].model("A")!.rating, boards[1].model("B")!.rating + 100)
        XCTAssertGreaterThan(boards[2].model("B")!.rating, boards[2].model("A")!.rating + 100)
        // The pooled board is the board the same votes give without the column, resamples and all.
        let plain = try VotesFile.parse(text.replacingOccurrences(of: ",category\n", with: "\n")
            .replacingOccurrences(of: ",text-to-video\n", with: "\n").replacingOccurrences(of: ",with-audio\n", with: "\n"), file: "v.csv")
        XCTAssertFalse(plain.hasCategory)
        let alone = Arena.boards(plain, settings: quick, minimumVotes: 1)
        XCTAssertEqual(alone.count, 1)
        XCTAssertEqual(alone[0].models, boards[0].models)

        let markdown = Arena.markdown(boards, votesFile: "v.csv")
        XCTAssertTrue(markdown.contains("""
            | board | votes | models | ties | both bad |
            |---|---:|---:|---:|---:|
            | Arena (all categories) | 100 | 3 | 0 | 0 |
            | Arena: text-to-video | 40 | 2 | 0 | 0 |
            | Arena: with-audio | 60 | 3 | 0 | 0 |

            ## Arena (all categories)
            """), markdown)
        XCTAssertTrue(markdown.contains("\n## Arena: text-to-video\n\n40 votes (0 ties, 0 both bad) on 2 models.\n"), markdown)
        let json = Arena.json(boards, votesFile: "v.csv").serialized()
        XCTAssertTrue(json.contains(#""categories":[{"category":null,"pooled":true,"votes":100,"models":3},{"category":"text-to-video","pooled":false,"votes":40,"models":2},{"category":"with-audio","pooled":false,"votes":60,"models":3}]"#), json)
        XCTAssertTrue(json.contains(#""boards":[{"category":null,"pooled":true,"votes":100,"#), json)
        XCTAssertTrue(json.contains(#"{"category":"with-audio","pooled":false,"votes":60,"#), json)
    }

    /// Values are kept verbatim (after the CSV's trimming): one named like the pooled board, a long one,
    /// non-ASCII ones (canonically equal spellings are one), a `|`, a case variant, each its own board.
    func testHostileCategoryValuesAreTheirOwnBoards() throws {
        let long = String(repeating: "x", count: 5000)
        let composed = "vid\u{E9}o sonore", decomposed = "vide\u{301}o sonore"
        let text = (["model_a,model_b,winner,category"]
            + lines("A", "B", "all", 3, aWins: 3)
            + lines("A", "B", "(all categories)", 2, aWins: 0)
            + lines("A", "B", long, 4, aWins: 1)
            + lines("A", "B", composed, 1, aWins: 1) + lines("A", "B", decomposed, 1, aWins: 0)
            + lines("A", "B", "a|b", 2, aWins: 2)
            + lines("A", "B", "  ALL ", 5, aWins: 5)).joined(separator: "\n") + "\n"
        let boards = Arena.boards(try VotesFile.parse(text, file: "v.csv"), settings: quick, minimumVotes: 1)
        XCTAssertEqual(boards.map(\.category), [nil, "all", "(all categories)", long, composed, "a|b", "ALL"])
        XCTAssertEqual(boards.map(\.votes), [18, 3, 2, 4, 2, 2, 5])
        XCTAssertEqual(Set(boards.map(\.title)).count, boards.count, "no category takes the pooled board's title")
        XCTAssertEqual(boards.filter(\.pooled).count, 1)
        XCTAssertEqual(boards[1].model("A")!.wins, 3)
        let markdown = Arena.markdown(boards, votesFile: "v.csv")
        XCTAssertTrue(markdown.contains("| Arena: all | 3 | 2 | 0 | 0 |\n| Arena: (all categories) | 2 | 2 | 0 | 0 |\n"), markdown)
        XCTAssertTrue(markdown.contains("| Arena: a\\|b | 2 | 2 | 0 | 0 |\n"), markdown)
        XCTAssertTrue(markdown.contains("\n## Arena: \(long)\n"))
        XCTAssertTrue(markdown.contains("| Arena: \(composed) | 2 | 2 | 0 | 0 |\n"), markdown)
        let json = Arena.json(boards, votesFile: "v.csv").serialized()
        XCTAssertTrue(json.contains("{\"category\":\"\(long)\",\"pooled\":false,\"votes\":4,\"models\":2}"))
        // An empty category is refused (VotesTests pins the sentence): it would be in no category's board.
        XCTAssertThrowsError(try VotesFile.parse("model_a,model_b,winner,category\nA,B,tie, \n", file: "v.csv"))
    }

    /// A file without the column: arena.md and arena.json exactly as before categories were pooled
    /// (captured from `gallop arena pin.csv --bootstrap 100 --seed 7 --min-votes 1 --out out` at main 6355a9f).
    func testAFileWithoutCategoriesGivesTheSameOutputs() throws {
        let file = try VotesFile.parse(#"""
model_a,model_b,winner
a,b,model_a
a,b,model_a
b,a,tie
a,c,model_a
c,a,model_b
b,c,model_a
c,b,both_bad
b,c,model_b
a,c,tie
b,a,model_a

"""#, file: "pin.csv")
        let boards = Arena.boards(file, settings: BootstrapSettings(resamples: 100, seed: 7), minimumVotes: 1)
        XCTAssertEqual(Arena.markdown(boards, votesFile: "pin.csv"), #"""
# Arena ratings

Votes: `pin.csv`. Bradley–Terry ratings by maximum likelihood (a tie, both-bad ties included, counts half a win to each side) on the 400·log10-odds scale, mean 1000 on each board; 95% intervals: at each end the wider of the percentile of 100 bootstrap resamples of the votes (seed 7) and the rating ± 1.96 standard errors from the fit's curvature (so a model with few votes never gets a narrow interval); rank = 1 + the number of ranked models whose lower bound is above this model's upper bound.

## Arena

10 votes (2 ties, 1 both bad) on 3 models.

| rank | model | rating | 95% interval | votes | wins | losses | ties | both bad |
|---:|---|---:|---|---:|---:|---:|---:|---:|
| 1 | a | 1098 | 919–1276 | 7 | 4 | 1 | 2 | 0 |
| 1 | b | 976 | 805–1146 | 7 | 2 | 3 | 1 | 1 |
| 1 | c | 926 | 740–1113 | 6 | 1 | 3 | 1 | 1 |

"""#)
        XCTAssertEqual(Arena.json(boards, votesFile: "pin.csv").pretty() + "\n", #"""
{
  "votes_file": "pin.csv",
  "method": "Bradley–Terry ratings by maximum likelihood (a tie, both-bad ties included, counts half a win to each side) on the 400·log10-odds scale, mean 1000 on each board; 95% intervals: at each end the wider of the percentile of 100 bootstrap resamples of the votes (seed 7) and the rating ± 1.96 standard errors from the fit's curvature (so a model with few votes never gets a narrow interval); rank = 1 + the number of ranked models whose lower bound is above this model's upper bound.",
  "scale": {
    "scale": 400,
    "base": 10,
    "center": 1000,
    "prior_ties": 1
  },
  "bootstrap": {
    "resamples": 100,
    "seed": 7,
    "level": 0.95
  },
  "boards": [
    {
      "category": null,
      "votes": 10,
      "ties": 2,
      "both_bad": 1,
      "min_votes": 1,
      "groups": [
        ["a","b","c"]
      ],
      "notes": [],
      "models": [
        {
          "model": "a",
          "ranked": true,
          "rank": 1,
          "rating": 1097.94,
          "low": 919.49,
          "high": 1276.39,
          "bootstrap_low": 971.37,
          "bootstrap_high": 1252.31,
          "standard_error": 91.05,
          "votes": 7,
          "wins": 4,
          "losses": 1,
          "ties": 2,
          "both_bad": 0,
          "unbounded": false
        },
        {
          "model": "b",
          "ranked": true,
          "rank": 1,
          "rating": 975.61,
          "low": 805.41,
          "high": 1145.81,
          "bootstrap_low": 831.42,
          "bootstrap_high": 1096.83,
          "standard_error": 86.84,
          "votes": 7,
          "wins": 2,
          "losses": 3,
          "ties": 1,
          "both_bad": 1,
          "unbounded": false
        },
        {
          "model": "c",
          "ranked": true,
          "rank": 1,
          "rating": 926.45,
          "low": 740.13,
          "high": 1112.78,
          "bootstrap_low": 769.39,
          "bootstrap_high": 1042.85,
          "standard_error": 95.07,
          "votes": 6,
          "wins": 1,
          "losses": 3,
          "ties": 1,
          "both_bad": 1,
          "unbounded": false
        }
      ]
    }
  ]
}

"""#)
    }
}
