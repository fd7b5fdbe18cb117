import Foundation
import GallopCore
import GallopResults
import GallopTestSupport
import XCTest

/// The learned metrics from the command line: without weights, with weights that cannot be used.
extension CLITests {
    func testAScoreWithoutWeightsListsTheLearnedMetricsAndScoresTheRest() throws {
        let dir = TempDir(), out = TempDir()
        try Clips.write(dir.file("m/a-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        let r = try gallop(["score", dir.path, "--out", out.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = "gallop: not computed: subject_consistency (needs models.dino_vitb16; see `gallop metrics`)\n"
        XCTAssertEqual(r.stderr.components(separatedBy: line).count, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("gallop: not computed: aesthetic_quality (needs models.clip_vitl14 and models.laion_aesthetic; see `gallop metrics`)\n"), r.stderr)
        let row = try JSONParser.parse(String(contentsOfFile: out.file("clips.jsonl"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(row["status"]?.stringValue, "ok")
        XCTAssertNotNil(row["metrics"]?["sharpness"]?.doubleValue)
        XCTAssertNil(row["metrics"]?["subject_consistency"])
        XCTAssertNil(row["config"]?["models"])
        // The fingerprint is the one `gallop config` prints (no learned metric: no model in it).
        let config = try gallop(["config"]).stdout
        XCTAssertTrue(config.contains("without --reference): \(row["config"]!["fingerprint"]!.stringValue!)\n"))
        let summary = try JSONParser.parse(String(contentsOfFile: out.file("summary.json"), encoding: .utf8))
        XCTAssertEqual(summary["not_computed"]?["clip_score"]?["needs"], .array([.string("models.clip_vitb32")]))
        // Named explicitly: the same line, every other named metric scored, exit 0.
        let named = try gallop(["score", dir.path, "--out", dir.file("o2"), "--quiet", "--metrics", "sharpness,subject_consistency"])
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertTrue(named.stderr.contains(line), named.stderr)
        XCTAssertFalse(named.stderr.contains("clip_score"), named.stderr)
        // Named alone: an error, never the default set in their place.
        let alone = try gallop(["score", dir.path, "--out", dir.file("o3"), "--quiet", "--metrics", "subject_consistency,clip_score"])
        XCTAssertEqual(alone.status, 2, alone.stderr)
        XCTAssertEqual(alone.stderr, "gallop: none of the metrics named can run without weights: subject_consistency (needs models.dino_vitb16; see `gallop metrics`); clip_score (needs models.clip_vitb32; see `gallop metrics`)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("o3/clips.jsonl")))
        // `gallop metrics` says how to get them.
        let metrics = try gallop(["metrics"]).stdout
        XCTAssertTrue(metrics.contains("needs weights: models.dino_vitb16"), metrics)
        XCTAssertTrue(metrics.contains("huggingface-cli download timm/vit_base_patch16_224.dino"), metrics)
    }

    func testWeightsThatCannotBeUsedAreAOneSentenceError() throws {
        let dir = TempDir()
        try Clips.write(dir.file("clips/m/a-1.mkv"), (0..<3).map { Planes.texture(48, 32, dx: Double($0)) })
        // A file that is not safetensors.
        try FileManager.default.createDirectory(atPath: dir.file("w/dino_vitb16"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.file("w/dino_vitb16/model.safetensors"), contents: Data("not weights".utf8)))
        let r = try gallop(["score", dir.file("clips"), "--out", dir.file("o"), "--quiet", "--weights", dir.file("w")])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("gallop: \(dir.file("w/dino_vitb16/model.safetensors")): "), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        // Weights of another architecture (the tiny test DINO): refused, naming the file and what it must be.
        let tiny = URL(fileURLWithPath: CLITests.root).appendingPathComponent("Tests/GallopLearnedTests/Fixtures/learned/dino-timm").path
        try FileManager.default.removeItem(atPath: dir.file("w/dino_vitb16"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("w/dino_vitb16"), withDestinationPath: tiny)
        let wrong = try gallop(["score", dir.file("clips"), "--out", dir.file("o"), "--quiet", "--weights", dir.file("w")])
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.hasPrefix("gallop: \(dir.file("w/dino_vitb16"))/model.safetensors: models.dino_vitb16 must be DINO ViT-B/16"), wrong.stderr)
        // A config key that names no model, and a path that is not there: file, line and key.
        try "models:\n  dino: x\n".write(toFile: dir.file("c.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try gallop(["config", "--config", dir.file("c.yaml")]).stderr,
                       "gallop: \(dir.file("c.yaml")):2: models.dino: unknown key; known keys here: dino_vitb16, clip_vitb32, clip_vitl14, laion_aesthetic\n")
        try "models:\n  clip_vitb32: nowhere\n".write(toFile: dir.file("c.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try gallop(["config", "--config", dir.file("c.yaml")]).stderr,
                       "gallop: \(dir.file("c.yaml")):2: models.clip_vitb32: no such folder or file: \(dir.file("nowhere"))\n")
    }
}
