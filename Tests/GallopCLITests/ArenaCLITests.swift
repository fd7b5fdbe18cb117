import Foundation
import GallopCore
import GallopResults
import GallopTestSupport
import XCTest

/// `gallop arena` and `gallop agree` through the binary: every bad votes file exits 2 with one
/// sentence naming the file and line; good ones write their markdown and JSON.
extension CLITests {
    static let badVotes: [(name: String, text: String, error: String)] = [
        ("empty", "", "the votes file is empty (no header line)"),
        ("header-only", "model_a,model_b,winner\n", "1: the header is not followed by any vote"),
        ("missing-column", "model_a,winner\na,model_a\n",
         "1: the header has no `model_b` column (it needs model_a, model_b and winner; it has model_a, winner)"),
        ("unknown-winner", "model_a,model_b,winner\na,b,model_a\na,b,A\n", "3: winner `A` is not model_a, model_b, tie or both_bad"),
        ("self", "model_a,model_b,winner\na,b,tie\nb,b,model_b\n", "3: `b` is voted against itself"),
        ("fields", "model_a,model_b,winner\na,b,tie,1\n", "2: 4 fields where the header has 3"),
        ("empty-model", "model_a,model_b,winner\na,,tie\n", "2: model_b is empty"),
        ("seed", "model_a,model_b,winner,prompt,seed_a,seed_b\na,b,tie,cat,one,2\n", "2: seed_a `one` is not a whole number"),
        ("category", "model_a,model_b,winner,category\na,b,tie,t2v\na,b,tie,\n",
         "3: the category is empty (with a category column every vote needs one)"),
        ("open-quote", "model_a,model_b,winner\na,b,\"tie\na,b,tie\n", "2: winner runs over several lines (a quote left open?)"),
    ]

    func testBadVotesFilesExitTwoNamingTheLine() throws {
        let dir = TempDir()
        for bad in CLITests.badVotes {
            let path = dir.file("\(bad.name).csv")
            try bad.text.write(toFile: path, atomically: true, encoding: .utf8)
            let expected = "gallop: \(path)\(bad.error.first!.isNumber ? ":" : ": ")\(bad.error)\n"
            for args in [["arena", path], ["agree", path, dir.path]] {
                let r = try gallop(args)
                XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
                XCTAssertEqual(r.stderr, expected, "\(args)")
                XCTAssertEqual(r.stdout, "")
            }
        }
        let missing = try gallop(["arena", dir.file("nothing.csv")])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.stderr, "gallop: \(dir.file("nothing.csv")): cannot read the votes file (no such file?)\n")
        let few = try gallop(["arena", dir.file("self.csv"), "--bootstrap", "10"])
        XCTAssertEqual(few.status, 64)
        XCTAssertTrue(few.stderr.hasPrefix("Error: --bootstrap must be at least 100"), few.stderr)
        let none = try gallop(["arena", dir.file("self.csv"), "--min-votes", "0"])
        XCTAssertEqual(none.status, 64)
        XCTAssertTrue(none.stderr.hasPrefix("Error: --min-votes must be at least 1 (1 ranks every model)."), none.stderr)
    }

    func testArenaWritesItsBoardsAndAgreeItsTable() throws {
        let dir = TempDir()
        // Three models, eight prompts, one seed: people prefer the sharper clip, most of the time.
        var rows: [String] = []
        var sharpness: [String: Double] = [:]
        var g = SplitMix64(seed: 5)
        for (model, level) in [("hi", 30.0), ("mid", 20.0), ("lo", 10.0)] {
            for p in 1...8 {
                var row = ClipResult(path: "\(model)/p\(p)-1.mp4", name: ClipName(model: model, prompt: "p\(p)", seed: 1), status: .ok)
                let s = level + 4 * g.gaussian()
                sharpness["\(model)/p\(p)"] = s
                row.metrics = [("sharpness", s), ("exposure", 100 + g.gaussian())]
                row.config = .object([("fingerprint", .string("fp"))])
                row.fingerprint = "fp"
                rows.append(row.json.serialized())
            }
        }
        try FileManager.default.createDirectory(atPath: dir.file("results"), withIntermediateDirectories: true)
        try (rows.joined(separator: "\n") + "\n").write(toFile: dir.file("results/clips.jsonl"), atomically: true, encoding: .utf8)
        var votes = ["model_a,model_b,winner,prompt,seed_a,seed_b"]
        let models = ["hi", "mid", "lo"]
        for k in 0..<300 {
            let a = models[k % 3], b = models[(k + 1 + k / 3 % 2) % 3], p = "p\(1 + k % 8)"
            let aBetter = sharpness["\(a)/\(p)"]! > sharpness["\(b)/\(p)"]!
            let winner = k % 10 == 0 ? "tie" : (aBetter == (k % 7 != 0) ? "model_a" : "model_b")
            votes.append("\(a),\(b),\(winner),\(p),1,1")
        }
        votes.append("ghost,hi,model_b,p1,1,1")
        try (votes.joined(separator: "\n") + "\n").write(toFile: dir.file("votes.csv"), atomically: true, encoding: .utf8)

        let arena = try gallop(["arena", dir.file("votes.csv"), "--out", dir.file("out"), "--bootstrap", "200", "--seed", "3"])
        XCTAssertEqual(arena.status, 0, arena.stderr)
        XCTAssertTrue(arena.stdout.contains("| rank | model | rating | 95% interval | votes | wins | losses | ties |"), arena.stdout)
        XCTAssertTrue(arena.stdout.contains("200 bootstrap resamples of the votes (seed 3)"), arena.stdout)
        XCTAssertEqual(try String(contentsOfFile: dir.file("out/arena.md"), encoding: .utf8), arena.stdout)
        let json = try JSONParser.parse(String(contentsOfFile: dir.file("out/arena.json"), encoding: .utf8))
        let ranked = json["boards"]?.arrayValue?.first?["models"]?.arrayValue?.compactMap { $0["model"]?.stringValue }
        XCTAssertEqual(ranked?.first, "hi")
        XCTAssertTrue(ranked?.contains("ghost") == true)

        let agree = try gallop(["agree", dir.file("votes.csv"), dir.file("results"), "--out", dir.file("out"), "--bootstrap", "200"])
        XCTAssertEqual(agree.status, 0, agree.stderr)
        XCTAssertTrue(agree.stdout.contains("| sharpness | ↑ | 3 | 1.00 |"), agree.stdout)
        XCTAssertTrue(agree.stdout.contains("| exposure | · | 3 |"), agree.stdout)
        XCTAssertTrue(agree.stdout.contains("- in the votes, not in the results: ghost."), agree.stdout)
        XCTAssertTrue(agree.stdout.contains("1 of 301 votes naming clips name one the results do not have or could not score (line 302)"), agree.stdout)
        XCTAssertEqual(try String(contentsOfFile: dir.file("out/agree.md"), encoding: .utf8), agree.stdout)
        let agreeJSON = try JSONParser.parse(String(contentsOfFile: dir.file("out/agree.json"), encoding: .utf8))
        let first = agreeJSON["boards"]?.arrayValue?.first?["metrics"]?.arrayValue?.first
        XCTAssertEqual(first?["metric"]?.stringValue, "sharpness")
        XCTAssertGreaterThan(first?["clip_share"]?.doubleValue ?? 0, 0.7)

        // The same table in report.html when `gallop report` is given the votes; a bad votes file is refused.
        let report = try gallop(["report", dir.file("results"), "--votes", dir.file("votes.csv"), "--quiet"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let html = try String(contentsOfFile: dir.file("results/report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<section id=\"agreement\"><h2>Agreement with human votes</h2>"), html)
        XCTAssertTrue(html.contains("<tr><td>sharpness</td><td>↑</td><td>3</td><td>1.00</td>"), html)
        XCTAssertTrue(html.contains("<li>in the votes, not in the results: ghost</li>"), html)
        try "model_a,model_b\na,b\n".write(toFile: dir.file("bad.csv"), atomically: true, encoding: .utf8)
        let bad = try gallop(["report", dir.file("results"), "--votes", dir.file("bad.csv"), "--quiet"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.hasPrefix("gallop: \(dir.file("bad.csv")):1:"), bad.stderr)
    }

    /// A votes file with categories: the pooled board first, then each category, with the counts in
    /// arena.md (the printed table) and arena.json; the help says so.
    func testArenaRatesEachCategoryAndAllTogether() throws {
        let dir = TempDir()
        // A leads without sound (25 of 40), B with it (30 of 40) and overall (45 of 80).
        var votes = ["model_a,model_b,winner,category"]
        for k in 0..<40 { votes.append("A,B,\(k < 25 ? "model_a" : "model_b"),text-to-video") }
        for k in 0..<40 { votes.append("A,B,\(k < 10 ? "model_a" : "model_b"),with-audio") }
        try (votes.joined(separator: "\n") + "\n").write(toFile: dir.file("votes.csv"), atomically: true, encoding: .utf8)
        let arena = try gallop(["arena", dir.file("votes.csv"), "--out", dir.file("out"), "--bootstrap", "100", "--min-votes", "1"])
        XCTAssertEqual(arena.status, 0, arena.stderr)
        XCTAssertTrue(arena.stdout.contains("| Arena (all categories) | 80 | 2 | 0 | 0 |\n| Arena: text-to-video | 40 | 2 | 0 | 0 |\n| Arena: with-audio | 40 | 2 | 0 | 0 |\n"), arena.stdout)
        XCTAssertTrue(arena.stdout.contains("## Arena: text-to-video\n\n40 votes (0 ties, 0 both bad) on 2 models.\n\n| rank | model | rating | 95% interval | votes | wins | losses | ties | both bad |\n|---:|---|---:|---|---:|---:|---:|---:|---:|\n| 1 | A |"), arena.stdout)
        XCTAssertTrue(arena.stdout.contains("## Arena: with-audio\n\n40 votes (0 ties, 0 both bad) on 2 models.\n\n| rank | model | rating | 95% interval | votes | wins | losses | ties | both bad |\n|---:|---|---:|---|---:|---:|---:|---:|---:|\n| 1 | B |"), arena.stdout)
        XCTAssertEqual(try String(contentsOfFile: dir.file("out/arena.md"), encoding: .utf8), arena.stdout)
        let json = try JSONParser.parse(String(contentsOfFile: dir.file("out/arena.json"), encoding: .utf8))
        XCTAssertEqual(json["categories"]?.arrayValue?.map { $0["category"]?.stringValue ?? "(pooled)" }, ["(pooled)", "text-to-video", "with-audio"])
        XCTAssertEqual(json["categories"]?.arrayValue?.compactMap { $0["votes"]?.intValue }, [80, 40, 40])
        XCTAssertEqual(json["boards"]?.arrayValue?.compactMap { $0["models"]?.arrayValue?.first?["model"]?.stringValue }, ["B", "A", "B"])
        let help = try gallop(["arena", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(help.contains("optionally category (any values, e.g. text-to-video, image-to-video, with-audio: each category is rated on its own board and all the votes together on a first board, \"Arena (all categories)\", with the vote and model counts of each; every vote needs a category, kept verbatim)"), help)
    }
}
