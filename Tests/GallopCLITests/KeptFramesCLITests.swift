import Foundation
import GallopCore
import GallopTestSupport
import XCTest

/// `gallop score` keeps report.html's frames while it scores (OUT/thumbnails.jsonl), through worker
/// processes: the report equals the one made by decoding the clips again, needs no clip, and the side
/// file follows resume, a changed clip, shards and merge.
extension CLITests {
    /// A pan, a flicker burst, a freeze, a soft stretch and a hard cut, through libx264.
    func story(_ path: String, seed: Double) throws {
        try Clips.writeMoments(path, width: 128, height: 80, frames: 52, step: 0.5, flicker: 12..<18, freeze: 18..<24, soft: 24..<30,
                               cut: 38, seed: seed)
    }

    func jpegs(_ html: String) -> [String] {
        html.components(separatedBy: "src=\"data:image/jpeg;base64,").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    /// report.html without its date and the sentence saying where its frames came from.
    func comparable(_ html: String) -> String {
        var text = html.replacingOccurrences(of: #" · written [^·<]*"#, with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: #"error\. Frames [^;]*;"#, with: "error. Frames;", options: .regularExpression)
        return text
    }

    func html(_ out: String) throws -> String { try String(contentsOfFile: out + "/report.html", encoding: .utf8) }
    func lines(_ file: String) throws -> [String] {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func testReportFramesKeptWhileScoring() throws {
        let base = TempDir(), out = TempDir()
        let fm = FileManager.default
        for command in ["score", "report", "merge"] {
            let help = try gallop([command, "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            XCTAssertTrue(help.contains("thumbnails.jsonl"), "\(command)'s help names the side file: \(help)")
        }
        try story(base.file("clips/m/a-1.mp4"), seed: 0)
        try story(base.file("clips/m/b-1.mp4"), seed: 1.3)
        let args = ["score", base.file("clips"), "--quiet", "--jobs", "2", "--metrics", "flicker_index,freeze_ratio,scene_cuts,sharpness,frame_diff"]
        let run = out.file("run"), side = out.file("run/thumbnails.jsonl")
        let scored = try gallop(args + ["--out", run])
        XCTAssertEqual(scored.status, 0, scored.stderr)
        XCTAssertEqual(try lines(side).count, 2, "one line a clip")
        let first = try html(run)
        XCTAssertTrue(first.contains("none decoded again from the clips"), "every frame was kept")
        XCTAssertGreaterThanOrEqual(jpegs(first).count, 7, "flicker, freeze, cut, blur: " + first.components(separatedBy: "class=\"note\"").dropFirst().map { String($0.prefix(300)) }.joined())

        // The same report from the second decode (no side file): only the date and the frames' origin differ.
        try fm.moveItem(atPath: side, toPath: out.file("aside.jsonl"))
        XCTAssertEqual(try gallop(["report", run, "--quiet"]).status, 0)
        let decoded = try html(run)
        XCTAssertTrue(decoded.contains("Frames are decoded again from the clips under"))
        XCTAssertEqual(jpegs(decoded), jpegs(first))
        XCTAssertEqual(comparable(decoded), comparable(first))
        try fm.moveItem(atPath: out.file("aside.jsonl"), toPath: side)

        // The clips gone: every frame still shown.
        try fm.moveItem(atPath: base.file("clips"), toPath: base.file("away"))
        XCTAssertEqual(try gallop(["report", run, "--quiet"]).status, 0)
        XCTAssertEqual(jpegs(try html(run)), jpegs(first))
        XCTAssertFalse(try html(run).contains("the clip is gone"))
        try fm.moveItem(atPath: base.file("away"), toPath: base.file("clips"))

        // Resumed: the kept rows keep their lines.
        let before = try lines(side)
        let resumed = try gallop(args + ["--out", run])
        XCTAssertTrue(resumed.stderr.contains("resuming: 2 of 2 clips"), resumed.stderr)
        XCTAssertEqual(Set(try lines(side)), Set(before))

        // A clip changed: scored again with new frames; its old line is never shown for the new row.
        try story(base.file("clips/m/b-1.mp4"), seed: 2.1)
        let again = try gallop(args + ["--out", run])
        XCTAssertTrue(again.stderr.contains("resuming: 1 of 2 clips"), again.stderr)
        let after = try lines(side)
        XCTAssertEqual(after.count, 2)
        XCTAssertEqual(after.filter { before.contains($0) }.count, 1, "a's line carried, b's made again")
        let fresh = try html(run)
        XCTAssertTrue(fresh.contains("none decoded again from the clips"))
        try Data(before.joined(separator: "\n").utf8 + [0x0A]).write(to: URL(fileURLWithPath: side))
        XCTAssertEqual(try gallop(["report", run, "--quiet"]).status, 0)
        let stale = try html(run)
        XCTAssertFalse(stale.contains("none decoded again"), "b's stale line is not used")
        XCTAssertEqual(jpegs(stale), jpegs(fresh), "b's frames come from the changed clip, not the old line")

        // Shards each keep their own; merge carries them, and its report needs no clip.
        for i in 0..<2 {
            let r = try gallop(args + ["--out", out.file("s\(i)"), "--shard", "\(i)/2"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(try (0..<2).map { try lines(out.file("s\($0)/thumbnails.jsonl")).count }.reduce(0, +), 2)
        try fm.moveItem(atPath: base.file("clips"), toPath: base.file("away"))
        let merged = try gallop(["merge", out.file("s0"), out.file("s1"), "--out", out.file("merged"), "--quiet"])
        XCTAssertEqual(merged.status, 0, merged.stderr)
        XCTAssertEqual(try lines(out.file("merged/thumbnails.jsonl")).count, 2)
        let joined = try html(out.file("merged"))
        XCTAssertTrue(joined.contains("none decoded again from the clips"))
        XCTAssertEqual(jpegs(joined), jpegs(fresh))
    }
}
