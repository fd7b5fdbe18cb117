import Foundation
import GallopConfig
import GallopCore
import GallopHarness
import GallopLearned
import GallopMetrics
import GallopResults
import GallopTestSupport
import XCTest

/// Resuming a run with learned metrics, through the tiny fixture models (Tests/GallopLearnedTests/Fixtures).
final class LearnedResumeTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("GallopLearnedTests/Fixtures")

    override func tearDown() { ModelStore.acceptsAnyArchitecture = false }

    /// clip_score depends on the prompt's text, which is in neither the fingerprint nor the clip's content key:
    /// the row records the text's hash (`extras.clip_score.prompt_sha256`), and a resumed run scores again a
    /// clip whose prompt text has changed (or is gone), keeping those whose text is the same.
    func testAClipScoreRowIsScoredAgainWhenItsPromptTextChanges() throws {
        let dir = TempDir(), fm = FileManager.default
        try fm.createDirectory(atPath: dir.file("w"), withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.fixtures.appendingPathComponent("learned/clip-openai").path, toPath: dir.file("w/clip_vitb32"))
        try fm.copyItem(atPath: Self.fixtures.appendingPathComponent("tiny_merges.txt").path, toPath: dir.file("w/clip_vitb32/merges.txt"))
        ModelStore.acceptsAnyArchitecture = true
        for rel in ["m/fox-1.mkv", "m/owl-1.mkv"] {
            try Clips.write(dir.file("clips/" + rel), (0..<3).map { Planes.texture(48, 32, dx: Double($0) * 3) })
        }
        let clips = ["m/fox-1.mkv", "m/owl-1.mkv"].map {
            Runner.Clip(path: dir.file("clips/" + $0), relativePath: $0, name: ClipName.parse(relativePath: $0))
        }
        var config = Configuration()
        config.metrics = ["clip_score"]
        config.models = [.clipViTB32: dir.file("w/clip_vitb32")]
        let models = try config.resolveModels()
        func scorer(_ texts: [String: String]) throws -> Scorer {
            var s = try Scorer(config: config.run(models: models))
            s.promptTexts = texts
            return s
        }
        let first = try scorer(["fox": "a red fox in the snow", "owl": "an owl at night"])
        let out = dir.file("clips.jsonl")
        let file = try ResultsFile(path: out)
        let rows = try Runner(scorer: first, jobs: 1).run(clips) { row, _ in try file.append(row) }
        file.close()
        for row in rows { XCTAssertEqual(row.status, .ok, row.error ?? "") }
        let recorded = rows[0].extras.first { $0.0 == "clip_score" }?.1["prompt_sha256"]?.stringValue
        // `printf 'a red fox in the snow' | sha256sum`
        XCTAssertEqual(recorded, "b9c4c4065f2dda3ff432a860d3d480b6a91dd5a1e0fbc223e962cafe95f01717")
        func plan(_ s: Scorer) throws -> ResumePlan {
            try ResumePlan.make(clips: clips, results: out, fingerprint: s.config.fingerprint, config: s.config.json, force: false,
                                promptHash: s.promptHash)
        }
        // The same texts: both rows kept.
        XCTAssertEqual(try plan(first).kept.map(\.path), ["m/fox-1.mkv", "m/owl-1.mkv"])
        // The fox's text edited: the fingerprint is the same, yet the fox is scored again (recording the new text's hash), the owl kept.
        let edited = try scorer(["fox": "a red fox in the snow at dawn", "owl": "an owl at night"])
        XCTAssertEqual(edited.config.fingerprint, first.config.fingerprint)
        let p = try plan(edited)
        XCTAssertEqual(p.kept.map(\.path), ["m/owl-1.mkv"])
        XCTAssertEqual(p.todo.map(\.relativePath), ["m/fox-1.mkv"])
        let again = edited.score(path: clips[0].path, relativePath: clips[0].relativePath, name: clips[0].name)
        XCTAssertEqual(again.extras.first { $0.0 == "clip_score" }?.1["prompt_sha256"]?.stringValue, CLIPScore.promptHash("a red fox in the snow at dawn"))
        XCTAssertNotEqual(CLIPScore.promptHash("a red fox in the snow at dawn"), recorded)
        // No text now for the owl (its value will be null): scored again too.
        XCTAssertEqual(try plan(try scorer(["fox": "a red fox in the snow"])).todo.map(\.relativePath), ["m/owl-1.mkv"])
    }
}
