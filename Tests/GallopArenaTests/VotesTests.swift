import GallopArena
import XCTest

final class VotesTests: XCTestCase {
    func testReadsColumnsInAnyOrderWithQuotesBOMAndCRLF() throws {
        let text = "\u{FEFF}Winner, model_b ,model_a,prompt,seed_a,seed_b,judge\r\n"
            + "model_a,b,a,cat,1,2,x\r\n"
            + "\r\n"
            + "tie,b,a,\"a cat,\nrunning\",,,y\r\n"
            + "tie (bothbad),a,b,,,,z\r\n"
            + "BOTH_BAD,a,b,,,,z\r\n"
        let file = try VotesFile.parse(text, file: "v.csv")
        XCTAssertEqual(file.votes, [
            Vote(modelA: "a", modelB: "b", winner: .modelA, prompt: "cat", seedA: 1, seedB: 2, line: 2),
            Vote(modelA: "a", modelB: "b", winner: .tie, prompt: "a cat,\nrunning", line: 4),
            Vote(modelA: "b", modelB: "a", winner: .tie, bothBad: true, line: 6),
            Vote(modelA: "b", modelB: "a", winner: .tie, bothBad: true, line: 7),
        ])
        XCTAssertTrue(file.namesClips)
        XCTAssertFalse(file.hasCategory)
        XCTAssertEqual(file.categories, [nil])
    }

    /// Every bad file: one sentence naming the file and the line (the CLI tests pin the same through the binary).
    func testBadFilesNameTheLine() {
        let cases: [(String, String)] = [
            ("", "v.csv: the votes file is empty (no header line)"),
            ("\n\n", "v.csv: the votes file is empty (no header line)"),
            ("model_a,model_b,winner\n", "v.csv:1: the header is not followed by any vote"),
            ("model_a,model_b\na,b\n", "v.csv:1: the header has no `winner` column (it needs model_a, model_b and winner; it has model_a, model_b)"),
            ("model_a,model_b,winner,model_a\n", "v.csv:1: the header has two `model_a` columns"),
            ("model_a,model_b,winner,seed_a\n", "v.csv:1: the header has seed columns but no `prompt` column; a clip is named by its prompt and seed"),
            ("model_a,model_b,winner\na,b,model_a\na,b,a\n", "v.csv:3: winner `a` is not model_a, model_b, tie or both_bad"),
            ("model_a,model_b,winner\na,b,model_a\n\nc,c,tie\n", "v.csv:4: `c` is voted against itself"),
            ("model_a,model_b,winner\na,b\n", "v.csv:2: 2 fields where the header has 3"),
            ("model_a,model_b,winner,prompt\na,b,tie,\"a cat\nrunning\"\na,b,model_a,p,extra\n", "v.csv:4: 5 fields where the header has 4"),
            ("model_a,model_b,winner\na,\"b,tie\nc,d,tie\n", "v.csv:2: 2 fields where the header has 3 (a quote left open?)"),
            ("model_a,model_b,winner\na,b,\"tie\nmodel_a,b\n", "v.csv:2: winner runs over several lines (a quote left open?)"),
            ("model_a,model_b,winner\n,b,tie\n", "v.csv:2: model_a is empty"),
            ("model_a,model_b,winner\na, ,tie\n", "v.csv:2: model_b is empty"),
            ("model_a,model_b,winner,prompt,seed_a,seed_b\na,b,tie,p,1,x\n", "v.csv:2: seed_b `x` is not a whole number"),
            ("model_a,model_b,winner,category\na,b,tie,t2v\na,b,tie,\n", "v.csv:3: the category is empty (with a category column every vote needs one)"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try VotesFile.parse(text, file: "v.csv"), text) { error in
                XCTAssertEqual((error as? VotesError)?.message, message, text)
            }
        }
        XCTAssertThrowsError(try VotesFile.read("/nonexistent/votes.csv")) { error in
            XCTAssertEqual("\(error)", "/nonexistent/votes.csv: cannot read the votes file (no such file?)")
        }
    }
}
