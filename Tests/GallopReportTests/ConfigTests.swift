import Foundation
import GallopConfig
import GallopLearned
import GallopMetrics
import GallopResults
import XCTest

final class ConfigTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func error(_ yaml: String) -> String {
        do {
            _ = try Configuration.parse(yaml, file: "c.yaml")
            return "no error"
        } catch { return error.description }
    }

    func testDefaultFileIsTheBuiltInDefaults() throws {
        let file = try Configuration.load(ConfigTests.root.appendingPathComponent("configs/default.yaml").path)
        XCTAssertEqual(file, Configuration())
        // What `gallop config` prints reads back to the same config.
        var custom = Configuration()
        custom.metrics = ["sharpness", "freeze_ratio"]
        custom.maxSide = 640
        custom.options.freeze.blockTolerance = 2.5
        custom.options.cuts.window = 9
        custom.report.bootstrap.resamples = 500
        custom.report.restrict = []
        custom.gate.tolerances["sharpness"] = .init(kind: .absolute, value: 3)
        custom.gate.fallback = .init(kind: .relative, value: 0.1)
        XCTAssertEqual(try Configuration.parse(custom.yaml(comment: "x"), file: "x"), custom)
    }

    func testRestrictAndCompositeMergePerKey() throws {
        let c = try Configuration.parse("report:\n  restrict:\n    temporal_flickering: []\n  composite:\n    quality: {}\n    extra:\n      psnr: {worst: 20, best: 40}\n", file: "c.yaml")
        XCTAssertEqual(c.report.restrict.map(\.metric), ["flicker_index"])
        XCTAssertEqual(c.report.composite.map(\.name), ["temporal", "motion", "audio", "extra"])
        XCTAssertEqual(c.report.composite.map(\.inOverall), [true, true, false, true])
        XCTAssertEqual(try Configuration.parse(c.yaml(comment: "x"), file: "x"), c)
    }

    func testPartialFileKeepsDefaultsAndChangesTheFingerprint() throws {
        let c = try Configuration.parse("options:\n  freeze_ratio:\n    block_tolerance: 2\n", file: "c.yaml")
        XCTAssertEqual(c.options.freeze.blockTolerance, 2)
        XCTAssertEqual(c.options.freeze.meanTolerance, 0.4)
        XCTAssertNotEqual(c.run().fingerprint, Configuration().run().fingerprint)
        XCTAssertEqual(try Configuration.parse("", file: "empty.yaml"), Configuration())
    }

    func testErrorsNameFileLineAndKey() {
        XCTAssertEqual(error("analysis:\n  every: 1\n  evry: 2\n"),
                       "c.yaml:3: analysis.evry: unknown key; known keys here: max_side, every, max_frames, motion_side")
        XCTAssertEqual(error("options:\n  freeze_ratio:\n    block_tolerance: high\n"),
                       "c.yaml:3: options.freeze_ratio.block_tolerance: must be a number, got 'high'")
        XCTAssertEqual(error("options:\n  scene_cuts:\n    window: 2.5\n"),
                       "c.yaml:3: options.scene_cuts.window: must be a whole number (got '2.5')")
        XCTAssertEqual(error("options:\n  freeze_ratio:\n    mean_tolerance: -1\n"),
                       "c.yaml:3: options.freeze_ratio.mean_tolerance: must be in 0.0...255.0 (got '-1')")
        XCTAssertEqual(error("analysis:\n  every: 0\n"), "c.yaml:2: analysis.every: must be in 1...100000 (got 0)")
        XCTAssertTrue(error("metrics: [sharpness, sharpnes]\n").hasPrefix("c.yaml:1: metrics: unknown metric 'sharpnes'; known metrics: temporal_flickering"))
        XCTAssertEqual(error("report:\n  composite:\n    temporal:\n      flicker_index: {weight: 1, worst: 0, best: 5}\n"),
                       "c.yaml:4: report.composite.temporal.flicker_index: flicker_index is better lower: best must be below worst")
        // Equal bounds would divide by zero (every model scored 1.000): refused, whichever the metric's direction.
        XCTAssertEqual(error("report:\n  composite:\n    temporal:\n      freeze_ratio: {worst: 1, best: 0}\n      flicker_index: {worst: 0, best: 0}\n"),
                       "c.yaml:5: report.composite.temporal.flicker_index: worst and best are both 0: a term needs two different values to map to 0 and 1")
        XCTAssertEqual(error("report:\n  composite:\n    quality:\n      sharpness: {weight: 2, worst: 50, best: 50}\n"),
                       "c.yaml:4: report.composite.quality.sharpness: worst and best are both 50: a term needs two different values to map to 0 and 1")
        XCTAssertEqual(error("report:\n  composite:\n    motion:\n      motion_magnitude: {worst: 0, best: 5}\n"),
                       "c.yaml:4: report.composite.motion.motion_magnitude: motion_magnitude has no better side, so it cannot be scored in a composite")
        XCTAssertEqual(error("analysis: [1, 2]\n"), "c.yaml:1: analysis: must be a mapping (key: value), got a list")
        XCTAssertTrue(error("analysis:\n  every: [\n").hasPrefix("c.yaml:3: not valid YAML"), error("analysis:\n  every: [\n"))
        XCTAssertEqual(error("gate:\n  tolerances:\n    sharpness: {absolute: 1, relative: 0.1}\n"),
                       "c.yaml:3: gate.tolerances.sharpness: give one of absolute or relative")
        XCTAssertEqual(error("gate:\n  tolerances:\n    exposure: {absolute: 1}\n"),
                       "c.yaml:3: gate.tolerances.exposure: exposure has no better side, so it is never gated")
        // A secondary value has a better side of its own: a tolerance for it makes the check gate it.
        XCTAssertEqual(error("gate:\n  tolerances:\n    psnr_u: {absolute: 1}\n"), "no error")
        XCTAssertEqual(try Configuration.parse("gate:\n  tolerances:\n    psnr_u: {absolute: 1}\n", file: "c.yaml").gate.tolerances["psnr_u"], .absolute(1))
        // … and can be a composite term.
        XCTAssertEqual(error("report:\n  composite:\n    reference:\n      psnr_u: {worst: 30, best: 50}\n"), "no error")
        XCTAssertEqual(error("report:\n  restrict:\n    flicker_index: [static]\n    bogus_metric: [static]\n"),
                       "c.yaml:4: report.restrict.bogus_metric: unknown metric")
        XCTAssertEqual(error("report:\n  composite:\n    temporal:\n      freeze_ratio: {worst: 1, best: 0}\n      nope: {worst: 1, best: 0}\n"),
                       "c.yaml:5: report.composite.temporal.nope: unknown metric")
        XCTAssertTrue(error("report:\n  composite:\n    overall:\n      freeze_ratio: {worst: 1, best: 0}\n").hasPrefix("c.yaml:4: report.composite.overall: 'overall' is the mean"))
        XCTAssertEqual(error("metrics: []\n"), "c.yaml:1: metrics: list at least one metric, or write 'all'")
        XCTAssertEqual(error("metrics: [sharpness, sharpness]\n"), "c.yaml:1: metrics: 'sharpness' is listed twice")
        XCTAssertEqual(error("bogus: 1\n"), "c.yaml:1: bogus: unknown key; known keys here: metrics, analysis, options, models, report, gate")
        XCTAssertEqual(error("models:\n  dino: w\n"),
                       "c.yaml:2: models.dino: unknown key; known keys here: dino_vitb16, clip_vitb32, clip_vitl14, laion_aesthetic")
        XCTAssertEqual(error("models:\n  dino_vitb16: /no/such/weights\n"), "c.yaml:2: models.dino_vitb16: no such folder or file: /no/such/weights")
        XCTAssertEqual(error("models:\n  dino_vitb16: [a]\n"), "c.yaml:2: models.dino_vitb16: must be text, got a list")
    }

    func testModelPathsAreRelativeToTheConfigFileAndWeightsOverride() throws {
        let dir = NSTemporaryDirectory() + "gallop-config-models-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for folder in ["w/dino", "other/dino_vitb16", "other/clip_vitb32"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + folder, withIntermediateDirectories: true)
        }
        try "models:\n  dino_vitb16: w/dino\n".write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        var c = try Configuration.load(dir + "/c.yaml")
        XCTAssertEqual(c.models, [.dinoViTB16: dir + "/w/dino"])
        // What `gallop config` prints reads back to the same models.
        XCTAssertEqual(try Configuration.parse(c.yaml(comment: "x"), file: "x").models, c.models)
        // --weights DIR: each DIR/<key> that exists, over the config's.
        c.applyWeights(folder: dir + "/other")
        XCTAssertEqual(c.models, [.dinoViTB16: dir + "/other/dino_vitb16", .clipViTB32: dir + "/other/clip_vitb32"])
    }

    /// A ViT-B/32 folder without CLIP's tokenizer files stops a run that selects clip_score when the models are
    /// resolved, naming the folder; without clip_score the same folder is fine (background_consistency needs no text).
    func testAMissingTokenizerStopsAClipScoreRunAtTheStart() throws {
        let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("GallopLearnedTests/Fixtures/learned/clip-openai").path
        ModelStore.acceptsAnyArchitecture = true
        defer { ModelStore.acceptsAnyArchitecture = false }
        var c = Configuration()
        c.models = [.clipViTB32: tiny]
        c.metrics = ["clip_score"]
        XCTAssertThrowsError(try c.resolveModels()) {
            XCTAssertEqual("\($0)", "\(tiny): no CLIP tokenizer vocabulary (merges.txt or bpe_simple_vocab_16e6.txt) in the folder.")
        }
        c.metrics = ["background_consistency"]
        XCTAssertEqual(try c.resolveModels().keys.sorted(), [.clipViTB32])
    }

    /// A model's identity (what the fingerprint records) covers every file the model reads: the weights, the
    /// configs beside them and, for ViT-B/32, CLIP's tokenizer files. A changed config.json (another layer-norm
    /// ε) or merges.txt is another model; a file the model does not read (a README) is not. The row lists each
    /// file read with its hash.
    func testEveryFileAModelReadsIsInItsIdentity() throws {
        let fixtures = ConfigTests.root.appendingPathComponent("Tests/GallopLearnedTests/Fixtures")
        let fm = FileManager.default
        let dir = NSTemporaryDirectory() + "gallop-model-identity-\(getpid())"
        defer { try? fm.removeItem(atPath: dir) }
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fm.copyItem(atPath: fixtures.appendingPathComponent("learned/clip-hf").path, toPath: dir + "/clip")
        try fm.copyItem(atPath: fixtures.appendingPathComponent("tiny_merges.txt").path, toPath: dir + "/clip/merges.txt")
        try fm.copyItem(atPath: fixtures.appendingPathComponent("learned/clip-openai").path, toPath: dir + "/openclip")
        ModelStore.acceptsAnyArchitecture = true
        defer { ModelStore.acceptsAnyArchitecture = false }
        func sha(_ path: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { SHA256.hex($0) } }

        let clip = try ModelRef.resolve(.clipViTB32, path: dir + "/clip")
        XCTAssertEqual(clip.files.map(\.name), ["model.safetensors", "config.json", "merges.txt"])
        for f in clip.files { XCTAssertEqual(f.sha256, try sha(dir + "/clip/" + f.name), f.name) }
        XCTAssertEqual(clip.identity, ModelRef.identity(of: clip.files))
        XCTAssertNotEqual(clip.identity, try sha(dir + "/clip/model.safetensors"))
        var c = Configuration()
        c.models = [.clipViTB32: dir + "/clip"]
        let run = c.run(models: [.clipViTB32: clip])
        XCTAssertEqual(run.json["models"]?["clip_vitb32"]?["identity"]?.stringValue, clip.identity)
        XCTAssertEqual(run.json["models"]?["clip_vitb32"]?["files"]?.arrayValue?.compactMap { $0["name"]?.stringValue },
                       ["model.safetensors", "config.json", "merges.txt"])
        XCTAssertEqual(run.json["models"]?["clip_vitb32"]?["files"]?.arrayValue?[2]["sha256"]?.stringValue, try sha(dir + "/clip/merges.txt"))
        // The rows' record reads back to the same fingerprint.
        XCTAssertEqual(c.run(reference: nil, recordedModels: run.json["models"]).fingerprint, run.fingerprint)

        // A file the model does not read: the same identity.
        try "notes".write(toFile: dir + "/clip/README.md", atomically: true, encoding: .utf8)
        XCTAssertEqual(try ModelRef.resolve(.clipViTB32, path: dir + "/clip").identity, clip.identity)
        // Another layer-norm ε in config.json: another model, another fingerprint.
        let config = try String(contentsOfFile: dir + "/clip/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"layer_norm_eps\": 1e-05"), config)
        try config.replacingOccurrences(of: "\"layer_norm_eps\": 1e-05", with: "\"layer_norm_eps\": 1e-06")
            .write(toFile: dir + "/clip/config.json", atomically: true, encoding: .utf8)
        let eps = try ModelRef.resolve(.clipViTB32, path: dir + "/clip")
        XCTAssertNotEqual(eps.identity, clip.identity)
        XCTAssertNotEqual(c.run(models: [.clipViTB32: eps]).fingerprint, run.fingerprint)
        // Another tokenizer vocabulary (merges.txt edited): another model.
        try (String(contentsOfFile: dir + "/clip/merges.txt", encoding: .utf8) + "\n")
            .write(toFile: dir + "/clip/merges.txt", atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try ModelRef.resolve(.clipViTB32, path: dir + "/clip").identity, eps.identity)
        // The same folder as DINO's weights: the tokenizer is not DINO's, so not in its identity.
        XCTAssertEqual(try ModelRef.resolve(.dinoViTB16, path: dir + "/clip").files.map(\.name), ["model.safetensors", "config.json"])

        // open_clip's layout: its config is read, so listed.
        let open = try ModelRef.resolve(.clipViTL14, path: dir + "/openclip")
        XCTAssertEqual(open.files.map(\.name), ["open_clip_model.safetensors", "open_clip_config.json"])
        let before = open.identity
        let oc = try String(contentsOfFile: dir + "/openclip/open_clip_config.json", encoding: .utf8)
        try (oc + "\n").write(toFile: dir + "/openclip/open_clip_config.json", atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try ModelRef.resolve(.clipViTL14, path: dir + "/openclip").identity, before)
    }

    /// `gallop report --config` compares the config with rows scored with weights through the rows' own record of
    /// the models (no second hash): the same settings give the rows' fingerprint; without the record they would not.
    func testConfigComparesWithRowsScoredWithWeights() throws {
        var c = Configuration()
        c.models = [.dinoViTB16: "w/dino"]
        let dino = ModelRef(key: "dino_vitb16", path: "w/dino", file: "w/dino/model.safetensors", identity: "ab12", layout: "dinoTimm", architecture: "")
        let scored = c.run(models: [.dinoViTB16: dino])
        XCTAssertTrue(scored.metrics.contains("subject_consistency"))
        XCTAssertEqual(c.run(reference: nil, recordedModels: scored.json["models"]).fingerprint, scored.fingerprint)
        XCTAssertNotEqual(c.run(reference: nil).fingerprint, scored.fingerprint)
    }

    /// Rows scored with `--weights DIR` and a config without a `models:` section (or one naming other models): the
    /// models the config does not name are taken from the rows, so `gallop report --config` does not warn that
    /// the config scores with other settings. The settings the config does give still count.
    func testAConfigWithoutModelsTakesTheRowsModels() throws {
        let dino = ModelRef(key: "dino_vitb16", path: "w/dino_vitb16", file: "w/dino_vitb16/model.safetensors", identity: "ab12",
                            files: [ModelFileHash(name: "model.safetensors", sha256: "cd34")], layout: "dinoTimm", architecture: "")
        let clip = ModelRef(key: "clip_vitb32", path: "w/clip_vitb32", file: "w/clip_vitb32/open_clip_model.safetensors", identity: "ef56",
                            layout: "openCLIP", architecture: "")
        let scored = Configuration().run(models: [.dinoViTB16: dino, .clipViTB32: clip])
        XCTAssertTrue(scored.metrics.contains("subject_consistency") && scored.metrics.contains("clip_score"), "\(scored.metrics)")
        let plain = try Configuration.parse("report:\n  bootstrap:\n    seed: 7\n", file: "c.yaml")
        XCTAssertTrue(plain.models.isEmpty)
        let compared = plain.run(reference: nil, recordedModels: scored.json["models"])
        XCTAssertEqual(compared.fingerprint, scored.fingerprint)
        XCTAssertEqual(ConfigDifference.between(scored.json, compared.json), [])
        // A config naming one model: the other is taken from the rows.
        var one = Configuration()
        one.models = [.dinoViTB16: "elsewhere/dino"]
        XCTAssertEqual(one.run(reference: nil, recordedModels: scored.json["models"]).fingerprint, scored.fingerprint)
        // Settings the config changes still differ.
        var other = plain
        other.every = 2
        XCTAssertNotEqual(other.run(reference: nil, recordedModels: scored.json["models"]).fingerprint, scored.fingerprint)
        // Rows without learned models: the config's run is the plain one.
        XCTAssertEqual(plain.run(reference: nil, recordedModels: nil).fingerprint, Configuration().run().fingerprint)
    }

    /// The learned models' hashes enter the fingerprint only for the selected metrics that run them: a run
    /// without learned metrics keeps the fingerprint it had without them (pinned: configs/default.yaml's).
    func testFingerprintHoldsModelHashesOnlyForTheMetricsThatRunThem() throws {
        XCTAssertEqual(Configuration().run().fingerprint, "c893d78c86dc16b8")
        let dino = ModelRef(key: "dino_vitb16", path: "w/dino", file: "w/dino/model.safetensors", identity: "ab12", layout: "dinoTimm", architecture: "")
        // Configured but not selected (another metric named): the same fingerprint and row config as without.
        var named = Configuration()
        named.metrics = ["sharpness", "frame_diff"]
        XCTAssertEqual(named.run(models: [.dinoViTB16: dino]).fingerprint, named.run().fingerprint)
        XCTAssertNil(named.run(models: [.dinoViTB16: dino]).json["models"])
        // Selected (by default, now that its weights are there): the hash is in, the path is not.
        let run = Configuration().run(models: [.dinoViTB16: dino])
        XCTAssertTrue(run.metrics.contains("subject_consistency"))
        XCTAssertFalse(run.metrics.contains("background_consistency"))
        XCTAssertTrue(run.canonical.hasSuffix(";models=dino_vitb16:ab12"), run.canonical)
        XCTAssertNotEqual(run.fingerprint, Configuration().run().fingerprint)
        var moved = dino
        moved.path = "elsewhere"
        XCTAssertEqual(Configuration().run(models: [.dinoViTB16: moved]).canonical, run.canonical)
        XCTAssertEqual(run.json["models"]?["dino_vitb16"]?["identity"]?.stringValue, "ab12")
        XCTAssertEqual(run.json["models"]?["dino_vitb16"]?["layout"]?.stringValue, "dinoTimm")
    }

    func testShippedSuitesParseAndCoverTheCameraMoves() throws {
        let core = try PromptSuiteFile.load(ConfigTests.root.appendingPathComponent("prompts/gallop-core.yaml").path)
        XCTAssertGreaterThanOrEqual(core.prompts.count, 100)
        for move in CameraMotion.classes {
            XCTAssertGreaterThanOrEqual(core.prompts.filter { $0.camera == move }.count, 6, move)
        }
        for tag in ["static", "people", "animals", "vehicles", "fast-motion", "fluids", "lighting", "text"] {
            XCTAssertGreaterThanOrEqual(core.prompts.filter { $0.tags.contains(tag) }.count, 6, tag)
        }
        let demo = try PromptSuiteFile.load(ConfigTests.root.appendingPathComponent("prompts/demo.yaml").path)
        XCTAssertEqual(demo.name, "gallop-demo")
    }

    func testSuiteErrors() {
        func suiteError(_ yaml: String) -> String {
            do { _ = try PromptSuiteFile.parse(yaml, file: "s.yaml"); return "no error" } catch { return error.description }
        }
        XCTAssertEqual(suiteError("prompts:\n  - id: cat-42\n    text: a cat\n"),
                       "s.yaml:2: prompts[].id: 'cat-42' cannot be a clip's prompt id (a trailing -digits part is read as the seed)")
        XCTAssertEqual(suiteError("prompts:\n  - id: a\n  - id: a\n"), "s.yaml:3: prompts[].id: 'a' is given twice")
        XCTAssertTrue(suiteError("prompts:\n  - id: a\n    camera: dolly\n").hasPrefix("s.yaml:3: prompts[].camera: unknown camera move 'dolly'"))
    }
}
