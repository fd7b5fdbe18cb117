import Foundation
import GallopConfig
import GallopCore
import GallopHarness
import GallopMetrics
import GallopReport
import GallopResults
import GallopSynth
import GallopTestSupport
import GallopVideo
import XCTest

final class NamingTests: XCTestCase {
    func testConvention() {
        XCTAssertEqual(ClipName.parse(relativePath: "wan/a-cat-42.mp4"), ClipName(model: "wan", prompt: "a-cat", seed: 42))
        XCTAssertEqual(ClipName.parse(relativePath: "wan/a-cat.mp4"), ClipName(model: "wan", prompt: "a-cat", seed: nil))
        XCTAssertEqual(ClipName.parse(relativePath: "wan/cat-v2.mp4"), ClipName(model: "wan", prompt: "cat-v2", seed: nil))
        XCTAssertEqual(ClipName.parse(relativePath: "wan/animals/cat-3.mkv"), ClipName(model: "wan", prompt: "animals/cat", seed: 3))
        XCTAssertEqual(ClipName.parse(relativePath: "cat-7.mp4"), ClipName(model: "default", prompt: "cat", seed: 7))
        XCTAssertEqual(ClipName.parse(relativePath: "cat-7.mp4", model: "veo"), ClipName(model: "veo", prompt: "cat", seed: 7))
        XCTAssertEqual(ClipName.parse(relativePath: "sora/-5.mp4"), ClipName(model: "sora", prompt: "-5", seed: nil))
        XCTAssertEqual(ClipName.parse(relativePath: "sora/2024.mp4"), ClipName(model: "sora", prompt: "2024", seed: nil))
    }

    func testDiscoveryIsRecursiveSortedAndSkipsOthers() throws {
        let dir = TempDir()
        for f in ["b/x.mp4", "a/y.MKV", "a/deep/z.webm", "a/notes.txt", ".hidden/h.mp4", "a/.h.mp4"] {
            FileManager.default.createFile(atPath: dir.file(f), contents: Data([1]))
        }
        XCTAssertEqual(try Discovery.clips(in: dir.path), ["a/deep/z.webm", "a/y.MKV", "b/x.mp4"])
        XCTAssertThrowsError(try Discovery.clips(in: dir.path + "/missing"))
    }

    func testDiscoveryFollowsLinkedFoldersWithoutLooping() throws {
        let real = TempDir(), root = TempDir()
        FileManager.default.createFile(atPath: real.file("wan/cat-1.mp4"), contents: Data([1]))
        // A model folder linked in, a link back up the tree (a loop), and a dangling link.
        try FileManager.default.createSymbolicLink(atPath: root.file("wan"), withDestinationPath: real.path + "/wan")
        try FileManager.default.createSymbolicLink(atPath: real.file("wan/loop"), withDestinationPath: root.path)
        try FileManager.default.createSymbolicLink(atPath: root.file("gone"), withDestinationPath: root.path + "/nowhere")
        XCTAssertEqual(try Discovery.clips(in: root.path), ["wan/cat-1.mp4"])
        // A linked root.
        let holder = TempDir()
        let link = holder.path + "/clips"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: root.path)
        XCTAssertEqual(try Discovery.clips(in: link), ["wan/cat-1.mp4"])
    }

    // Issue 22: a relative link to an ancestor looped until the system's link limit (each clip 41 times), and a
    // clip linked in under a second name was scored twice. Folders and files are keyed by device and inode.
    func testALinkLoopAndAClipReachedTwiceAreWalkedOnce() throws {
        let root = TempDir()
        for f in ["m/a-1.mp4", "m/b-1.mp4"] { FileManager.default.createFile(atPath: root.file(f), contents: Data([1])) }
        try FileManager.default.createSymbolicLink(atPath: root.file("m/up"), withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: root.file("m/z-1.mp4"), withDestinationPath: "a-1.mp4")
        try FileManager.default.createSymbolicLink(atPath: root.file("zz"), withDestinationPath: "m")
        XCTAssertEqual(try Discovery.clips(in: root.path), ["m/a-1.mp4", "m/b-1.mp4"])
        let scan = try Discovery.scan(root.path)
        XCTAssertEqual(scan.unreadable, [])
        XCTAssertEqual(scan.notes, [
            "\(root.path)/m/up is the folder \(root.path), already searched: not searched again",
            "\(root.path)/zz is the folder \(root.path)/m, already searched: not searched again",
            "\(root.path)/m/z-1.mp4 is the same file as \(root.path)/m/a-1.mp4: scored once, as m/a-1.mp4",
        ])
        // A clip is scored under its own name rather than a link's, even one that sorts first; reached only
        // through links, under the first in sorted order.
        try FileManager.default.createSymbolicLink(atPath: root.file("m/0-1.mp4"), withDestinationPath: "b-1.mp4")
        let outside = TempDir()
        FileManager.default.createFile(atPath: outside.file("c.mp4"), contents: Data([1]))
        for name in ["n/y-1.mp4", "n/x-1.mp4"] { try FileManager.default.createSymbolicLink(atPath: root.file(name), withDestinationPath: outside.file("c.mp4")) }
        let again = try Discovery.scan(root.path)
        XCTAssertEqual(again.clips, ["m/a-1.mp4", "m/b-1.mp4", "n/x-1.mp4"])
        XCTAssertTrue(again.notes.contains("\(root.path)/m/0-1.mp4 is the same file as \(root.path)/m/b-1.mp4: scored once, as m/b-1.mp4"), "\(again.notes)")
        XCTAssertTrue(again.notes.contains("\(root.path)/n/y-1.mp4 is the same file as \(root.path)/n/x-1.mp4: scored once, as n/x-1.mp4"), "\(again.notes)")
        // Hard links are names of their own (a `cp -al` snapshot of one model's clips as another's): each is a clip.
        XCTAssertEqual(link(root.file("m/a-1.mp4"), root.file("snapshot/a-1.mp4")), 0)
        XCTAssertEqual(try Discovery.clips(in: root.path), ["m/a-1.mp4", "m/b-1.mp4", "n/x-1.mp4", "snapshot/a-1.mp4"])
    }

    // Issue 22: a dangling link and a name that is not UTF-8 were left out without a word. They are listed with
    // their cause (gallop score makes them error rows); a dangling link not named like a clip is named in a note.
    func testDanglingLinksAndNamesNotUTF8AreListedWithTheirCause() throws {
        let root = TempDir()
        FileManager.default.createFile(atPath: root.file("m/good-1.mp4"), contents: Data([1]))
        try FileManager.default.createSymbolicLink(atPath: root.file("m/gone-2.mp4"), withDestinationPath: "renamed-2.mp4")
        try FileManager.default.createSymbolicLink(atPath: root.file("old"), withDestinationPath: "/nonexistent/folder")
        let latin1 = Array(root.file("m/caf").utf8) + [0xE9] + Array("-3.mp4".utf8)
        FileManager.default.createFile(atPath: root.file("made"), contents: Data([1]))
        XCTAssertEqual(RawNames.rename(root.file("made"), to: latin1), 0)
        let folder = Array(root.file("x").utf8) + [0xFF]
        XCTAssertEqual(RawNames.mkdir(folder), 0)
        FileManager.default.createFile(atPath: root.file("made"), contents: Data([1]))
        XCTAssertEqual(RawNames.rename(root.file("made"), to: folder + Array("/a-1.mp4".utf8)), 0)
        defer { RawNames.remove([latin1, folder + Array("/a-1.mp4".utf8), folder]) }

        XCTAssertEqual(try Discovery.clips(in: root.path), ["m/good-1.mp4"])
        let scan = try Discovery.scan(root.path)
        XCTAssertEqual(scan.unreadable, [
            Discovery.Unreadable(relativePath: "m/caf\\xE9-3.mp4", cause: "the file name is not valid UTF-8 (each byte that is not is shown here as \\xNN); rename it to score it"),
            Discovery.Unreadable(relativePath: "m/gone-2.mp4", cause: "dangling symbolic link to renamed-2.mp4"),
            Discovery.Unreadable(relativePath: "x\\xFF/a-1.mp4", cause: "the name of a folder on its path is not valid UTF-8 (each byte that is not is shown here as \\xNN); rename it to score it"),
        ])
        XCTAssertEqual(scan.notes, ["\(root.path)/old: dangling symbolic link to /nonexistent/folder; not named like a clip, so not searched"])
        XCTAssertEqual(Discovery.shown([0x61, 0xC3, 0xA9, 0xFF, 0xE2, 0x82, 0x62]), "aé\\xFF\\xE2\\x82b")
    }

    // Issue 22: a FIFO named like a clip is never opened by discovery, nor by the content key (whose open waited
    // for a writer); a regular file's key is the one earlier runs wrote (FNV-1a of the start, middle and end blocks).
    func testAFIFOIsListedUnopenedAndHasNoContentKey() throws {
        let root = TempDir()
        FileManager.default.createFile(atPath: root.file("m/good-1.mp4"), contents: Data([1]))
        XCTAssertEqual(mkfifo(root.file("m/pipe-2.mp4"), 0o644), 0)
        XCTAssertEqual(try Discovery.scan(root.path).unreadable, [Discovery.Unreadable(relativePath: "m/pipe-2.mp4", cause: "not a regular file (a FIFO)")])
        XCTAssertEqual(try Discovery.clips(in: root.path), ["m/good-1.mp4"])
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var key: String?
        let fifo = root.file("m/pipe-2.mp4")
        DispatchQueue.global().async {
            key = ContentKey.of(fifo)
            done.signal()
        }
        if done.wait(timeout: .now() + 10) == .timedOut {
            // Let the blocked open go before failing.
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
            done.wait()
            XCTFail("ContentKey.of blocked on a FIFO")
        }
        XCTAssertEqual(key, "")
        FileManager.default.createFile(atPath: root.file("abc"), contents: Data("abc".utf8))
        XCTAssertEqual(ContentKey.of(root.file("abc")), "size:3:e71fa2190541574b")
        FileManager.default.createFile(atPath: root.file("big"), contents: Data((0..<200_000).map { UInt8(($0 * 7 + 3) % 251) }))
        XCTAssertEqual(ContentKey.of(root.file("big")), "size:200000:a13a0be58310e868")
        FileManager.default.createFile(atPath: root.file("empty"), contents: Data())
        XCTAssertEqual(ContentKey.of(root.file("empty")), "")
    }
}

/// A whole run over clips made by the writer, good and bad together.
final class RunTests: XCTestCase {
    func makeSet(_ dir: TempDir) throws {
        for seed in 1...2 {
            try Clips.write(dir.file("clean/scene-\(seed).mkv"), (0..<12).map { Planes.texture(64, 48, dx: Double($0 * seed)) })
            try Clips.write(dir.file("stutter/scene-\(seed).mp4"), (0..<12).map { Planes.texture(64, 48, dx: Double(($0 / 2) * 2 * seed)) }, codec: .h264(crf: 20))
        }
        FileManager.default.createFile(atPath: dir.file("broken/zero-1.mp4"), contents: Data())
        FileManager.default.createFile(atPath: dir.file("broken/text-2.mp4"), contents: Data("not a video".utf8))
        Clips.writeWAV(dir.file("broken/audio-3.mkv"))
        try Clips.write(dir.file("broken/truncated-4.mkv"), (0..<24).map { Planes.texture(64, 48, dx: Double($0)) })
        let t = dir.file("broken/truncated-4.mkv")
        let size = try FileManager.default.attributesOfItem(atPath: t)[.size] as! Int
        Clips.truncate(t, to: size / 2)
    }

    func runAll(_ root: String, jobs: Int, out: String) throws -> [ClipResult] {
        let clips = try Discovery.clips(in: root).map {
            Runner.Clip(path: root + "/" + $0, relativePath: $0, name: ClipName.parse(relativePath: $0))
        }
        let file = try ResultsFile(path: out)
        let rows = try Runner(scorer: Scorer(config: RunConfig(metrics: [])), jobs: jobs).run(clips) { row, _ in try file.append(row) }
        file.close()
        return rows
    }

    func testBadClipsAreErrorRowsAndGoodClipsAreScored() throws {
        let dir = TempDir(), out = TempDir()
        try makeSet(dir)
        let rows = try runAll(dir.path, jobs: 2, out: out.file("clips.jsonl"))
        XCTAssertEqual(rows.count, 8)
        let byPath = Dictionary(uniqueKeysWithValues: rows.map { ($0.path, $0) })
        for bad in ["broken/zero-1.mp4", "broken/text-2.mp4", "broken/audio-3.mkv"] {
            let row = byPath[bad]!
            XCTAssertEqual(row.status, .error, bad)
            XCTAssertTrue(row.error!.contains(bad), row.error!)
        }
        XCTAssertTrue(byPath["broken/zero-1.mp4"]!.error!.contains("empty"))
        XCTAssertTrue(byPath["broken/audio-3.mkv"]!.error!.contains("no video stream"))
        let truncated = byPath["broken/truncated-4.mkv"]!
        XCTAssertEqual(truncated.status, .ok)
        XCTAssertTrue(truncated.warnings.contains { $0.contains("s of the declared 1.00 s decoded") }, "\(truncated.warnings)")
        // With --strict, a clip that decoded less than 90% of its declared duration is an error row.
        let strict = try Scorer(config: RunConfig(metrics: ["frame_diff"]), strict: true)
            .score(path: dir.file("broken/truncated-4.mkv"), relativePath: "broken/truncated-4.mkv", name: truncated.name)
        XCTAssertEqual(strict.status, .error)
        XCTAssertTrue(strict.error!.hasSuffix("; --strict makes this an error"), strict.error!)
        for good in ["clean/scene-1.mkv", "clean/scene-2.mkv", "stutter/scene-1.mp4", "stutter/scene-2.mp4"] {
            XCTAssertEqual(byPath[good]!.status, .ok, good)
            XCTAssertEqual(byPath[good]!.frames, 12)
        }
        XCTAssertEqual(byPath["clean/scene-1.mkv"]!.value("freeze_ratio"), 0)
        XCTAssertGreaterThanOrEqual(byPath["stutter/scene-1.mp4"]!.value("freeze_ratio")!, 5.0 / 12)

        // Every row reached the file, and reads back.
        let fromFile = try ResultsFile.read(out.file("clips.jsonl"))
        XCTAssertEqual(Set(fromFile.rows.map(\.path)), Set(rows.map(\.path)))
        XCTAssertEqual(fromFile.problems, [])

        let card = try ReportWriter(out: out.path).write(fromFile.rows).scorecard
        XCTAssertTrue(card.contains("| broken | 4 | 3 |"), card)
        XCTAssertTrue(card.contains("| clean | 2 | 0 |"), card)
        XCTAssertTrue(card.contains("flicker_index ↓"))
        XCTAssertTrue(card.contains("## Failed clips"))
        for file in ["scorecard.md", "summary.json", "clips.csv"] { XCTAssertTrue(FileManager.default.fileExists(atPath: out.file(file)), file) }
    }

    func testRowsDoNotDependOnJobs() throws {
        let dir = TempDir(), out = TempDir()
        try makeSet(dir)
        let one = try runAll(dir.path, jobs: 1, out: out.file("1.jsonl")).map { $0.comparableJSON.serialized() }
        let three = try runAll(dir.path, jobs: 3, out: out.file("3.jsonl")).map { $0.comparableJSON.serialized() }
        XCTAssertEqual(one, three)
        let context = ReportContext(created: "fixed", command: [])
        func card(_ file: String) throws -> String {
            Scorecard.markdown(try Aggregation.summarize(try ResultsFile.read(out.file(file)).rows, known: ValueCatalog.known, settings: ValueCatalog.report), context: context)
        }
        XCTAssertEqual(try card("1.jsonl"), try card("3.jsonl"))
    }

    func testFingerprintFollowsSettings() throws {
        let a = try Scorer(config: RunConfig(metrics: [])).config
        let b = try Scorer(config: RunConfig(metrics: [], maxSide: 256)).config
        let c = try Scorer(config: RunConfig(metrics: ["sharpness"])).config
        XCTAssertNotEqual(a.fingerprint, b.fingerprint)
        XCTAssertNotEqual(a.fingerprint, c.fingerprint)
        XCTAssertEqual(a.fingerprint, try Scorer(config: RunConfig(metrics: [])).config.fingerprint)
        XCTAssertEqual(a.fingerprint.count, 16)
        // Every metric option is covered: changing any one changes the fingerprint.
        for option in MetricSettings.options {
            var options = MetricSettings()
            // One up, else one down, else halfway to the top (options whose range is 0...1).
            let moved = [option.defaultValue + 1, option.defaultValue - 1].first(where: option.range.contains)
                ?? (option.defaultValue + option.range.upperBound) / 2
            try option.assign(moved, to: &options)
            XCTAssertNotEqual(RunConfig(metrics: [], options: options).fingerprint, a.fingerprint, "\(option.section).\(option.key)")
        }
    }

    func testOptionsReachTheMetrics() throws {
        let dir = TempDir()
        let path = dir.file("clean.mp4")
        try SyntheticScene(seed: 3, width: 96, height: 64).write(to: path, frames: 16, defect: .none)
        let name = ClipName(model: "m", prompt: "p", seed: nil)
        let strict = try Scorer(config: RunConfig(metrics: ["freeze_ratio"])).score(path: path, relativePath: "c.mp4", name: name)
        var options = MetricSettings()
        options.freeze.blockTolerance = 255
        options.freeze.meanTolerance = 255
        let lax = try Scorer(config: RunConfig(metrics: ["freeze_ratio"], options: options)).score(path: path, relativePath: "c.mp4", name: name)
        XCTAssertEqual(strict.value("freeze_ratio"), 0)
        XCTAssertEqual(lax.value("freeze_ratio"), 15.0 / 16, "every frame within the tolerances repeats its predecessor")
        XCTAssertNotEqual(strict.fingerprint, lax.fingerprint)
        XCTAssertEqual(lax.config["options"]?["freeze_ratio"]?["block_tolerance"], JSONValue.number(255))
    }

    func testSyntheticDemoDefectsAreVisible() throws {
        let dir = TempDir()
        var values: [SyntheticScene.Defect: ClipResult] = [:]
        let scorer = try Scorer(config: RunConfig(metrics: []))
        for defect in SyntheticScene.Defect.allCases {
            let path = dir.file("\(defect.rawValue).mp4")
            try SyntheticScene(seed: 3, width: 96, height: 64).write(to: path, frames: 16, defect: defect)
            values[defect] = scorer.score(path: path, relativePath: "\(defect.rawValue).mp4", name: ClipName(model: defect.rawValue, prompt: "p", seed: nil))
        }
        let clean = values[.none]!
        XCTAssertGreaterThan(values[.flicker]!.value("flicker_index")!, 3 * clean.value("flicker_index")!)
        XCTAssertGreaterThan(values[.stutter]!.value("freeze_ratio")!, 0.3)
        XCTAssertLessThan(values[.blur]!.value("sharpness")!, 0.5 * clean.value("sharpness")!)
        XCTAssertEqual(clean.value("scene_cuts"), 0)
    }
}

/// Every metric option reaches the numbers: set to an end of its range, it changes the row.
final class OptionsReachTheRowsTests: XCTestCase {
    func testEachOptionChangesTheRow() throws {
        // A clip with every behaviour the options govern: a pan with brightness flicker, then a cut to
        // another scene whose frames are held.
        let dir = TempDir()
        let a = SyntheticScene(seed: 5, width: 96, height: 64, pan: 2), b = SyntheticScene(seed: 77, width: 96, height: 64, pan: 1)
        var frames = (0..<14).map { a.frame($0, defect: .flicker) } + (0..<14).map { b.frame($0, defect: .stutter) }
        // Then a still frame shown again with one 8×8 patch brightened: a block changes (by 5 levels on
        // average over its 16×16 block) while the frame hardly does (0.2 levels).
        let still = b.frame(40, defect: .none)
        let touched = still.withPlane { PlaneBuffer(copying: $0) }
        touched.withMutableSamples { s in for y in 24..<32 { for x in 40..<48 { for c in 0..<3 { s[(y * 96 + x) * 3 + c] &+= 20 } } } }
        // And shown with its top quarter 2 levels brighter: every block changes a little (2 levels at most),
        // the frame by 0.5 on average, so only the mean tolerance decides.
        let lifted = still.withPlane { PlaneBuffer(copying: $0) }
        lifted.withMutableSamples { s in for i in 0..<(16 * 96 * 3) { s[i] &+= 2 } }
        frames += [still, lifted, still, touched, touched]
        // With a sound track (a steady tone), so that the audio metrics' options reach the row too.
        let path = dir.file("clip.mkv")
        let writer = try VideoWriter(path: path, width: 96, height: 64, fps: 24, audio: .init(sampleRate: 48000, channels: 1))
        try writer.appendAudio(SyntheticAudio.tone(frequency: 440, amplitude: 0.3, seconds: Double(frames.count) / 24, rate: 48000))
        for f in frames { try writer.append(rgb: f) }
        try writer.finish()
        func row(_ options: MetricSettings) throws -> String {
            let r = try Scorer(config: RunConfig(metrics: [], options: options)).score(path: path, relativePath: "c.mkv", name: ClipName(model: "m", prompt: "p", seed: nil))
            XCTAssertEqual(r.status, .ok)
            return JSONValue.object([("metrics", r.json["metrics"]!), ("extras", r.json["extras"]!)]).serialized()
        }
        let base = try row(MetricSettings())
        XCTAssertFalse(base.contains("\"scene_cuts\":0"), "the clip has cuts at default settings")
        // The cut detector's neighbour window matters only on borderline pairs: CutDetectorTests covers it.
        // av_offset_ms needs events seen and heard over 2 s plus the search range, which this 1.4 s clip has not:
        // SyncTests.testOptionsReachTheMetric covers its two options.
        for option in MetricSettings.options where !(option.section == "scene_cuts" && option.key == "window") && option.section != "av_offset_ms" {
            // Either end of the range: the freeze tolerances act together, so one moved alone changes the
            // row at one end only.
            var changed = false
            for end in [option.range.lowerBound, option.range.upperBound] where !changed {
                var options = MetricSettings()
                try option.assign(option.kind == .int ? end.rounded(.down) : end, to: &options)
                changed = try row(options) != base
            }
            XCTAssertTrue(changed, "\(option.section).\(option.key) changed nothing at either end of its range")
        }
    }

    func testCutWindowDecidesBorderlinePairs() {
        // A jump of 20 in busy motion, quiet just around it: against the 6 pairs on each side (median 10:
        // 3·10 + 4 = 34) it is no cut; against the one pair on each side (median 1: 3·1 + 4 = 7) it is.
        let scores: [Double?] = [nil, 10, 10, 10, 10, 10, 1, 20, 1, 10, 10, 10, 10, 10, 10]
        var o = MetricSettings().cuts
        XCTAssertEqual(CutDetector.cuts(in: scores, o), [])
        o.window = 1
        XCTAssertEqual(CutDetector.cuts(in: scores, o), [7])
    }
}

final class TinyClipTests: XCTestCase {
    func testATinyClipSaysWhichMetricsMeanNothing() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("tiny.mkv"), (0..<6).map { Planes.texture(8, 8, dx: Double($0)) })
        let row = try Scorer(config: RunConfig(metrics: ["exposure", "sharpness", "freeze_ratio"])).score(path: path, relativePath: "tiny.mkv", name: ClipName(model: "m", prompt: "p", seed: nil))
        XCTAssertEqual(row.status, .ok)
        XCTAssertTrue(row.warnings.contains("the clip is 8x8, smaller than 16 px on a side: freeze_ratio, sharpness mean nothing at this size and are left out (null)"), "\(row.warnings)")
    }

    // Issue 22: an 8×8 clip's spatial values still fed the means and the worst moments. They are null (the metric
    // keys kept), with no series or extras; the other metrics are scored as before.
    func testATinyClipsMeaninglessValuesLeaveTheMeansAndTheMoments() throws {
        let dir = TempDir()
        // A flat 8×8 clip: sharpness 0, the blurriest frame of its model until its values are left out.
        let tiny = try Clips.write(dir.file("m/tiny-1.mkv"), (0..<6).map { _ in Planes.constant(8, 8, 128) })
        let big = try Clips.write(dir.file("m/big-1.mkv"), (0..<6).map { Planes.texture(64, 48, dx: Double($0)) })
        let scorer = try Scorer(config: RunConfig(metrics: ["exposure", "sharpness", "freeze_ratio"]))
        let rows = [(tiny, "m/tiny-1.mkv"), (big, "m/big-1.mkv")].map { path, rel in
            scorer.score(path: path, relativePath: rel, name: ClipName.parse(relativePath: rel))
        }
        let small = rows[0]
        XCTAssertEqual(small.status, .ok)
        XCTAssertEqual(small.metrics.map(\.0), rows[1].metrics.map(\.0), "the same keys, null where meaningless")
        for key in small.metrics.map(\.0) where key.hasPrefix("sharpness") || key.hasPrefix("freeze_ratio") {
            XCTAssertNil(small.value(key), key)
        }
        XCTAssertNotNil(small.value("exposure"))
        XCTAssertEqual(small.extras.map(\.0), ["exposure"])
        XCTAssertFalse(small.warnings.contains { $0.contains("undefined") }, "\(small.warnings)")
        let back = try ClipResult(json: JSONParser.parse(small.json.serialized()))
        XCTAssertNil(back.value("sharpness"))

        let summary = try Aggregation.summarize(rows, known: ValueCatalog.known)
        let sharpness = try XCTUnwrap(summary.models.first?.all.values["sharpness"])
        XCTAssertEqual(sharpness.n, 1)
        XCTAssertEqual(sharpness.mean, try XCTUnwrap(rows[1].value("sharpness")), accuracy: 1e-9)
        let moments = WorstMoments.find(summary)
        XCTAssertEqual(moments.first?.moments.first { $0.kind == .blur }?.path, "m/big-1.mkv")
    }
}

final class LimitTests: XCTestCase {
    func testClipsBeyondTheLimitsAreNamedErrors() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("clip.mkv"), (0..<6).map { Planes.texture(32, 16, dx: Double($0)) })
        let name = ClipName(model: "m", prompt: "p", seed: nil)
        var limits = Scorer.Limits()
        limits.pixels = 500
        let big = try Scorer(config: RunConfig(metrics: ["frame_diff"]), limits: limits).score(path: path, relativePath: "clip.mkv", name: name)
        XCTAssertEqual(big.status, .error)
        XCTAssertEqual(big.error, "\(path): frames of 32x16 are over the limit of 500 pixels a frame")
        limits = Scorer.Limits()
        limits.frames = 4
        let long = try Scorer(config: RunConfig(metrics: ["frame_diff"]), limits: limits).score(path: path, relativePath: "clip.mkv", name: name)
        XCTAssertEqual(long.error, "\(path): more than 4 frames, the limit a clip")
        XCTAssertEqual(try Scorer(config: RunConfig(metrics: ["frame_diff"])).score(path: path, relativePath: "clip.mkv", name: name).status, .ok)
    }
}

final class ProgressTests: XCTestCase {
    func testProgressLine() {
        XCTAssertEqual(Progress.describe(done: 0, total: 100, failures: 0, elapsed: 0), "[0/100]")
        XCTAssertEqual(Progress.describe(done: 10, total: 100, failures: 1, elapsed: 60), "[10/100] 10.0 clips/min, about 9 min left, 1 failed")
        XCTAssertEqual(Progress.describe(done: 99, total: 100, failures: 0, elapsed: 60), "[99/100] 99.0 clips/min, under a minute left")
        XCTAssertEqual(Progress.describe(done: 100, total: 100, failures: 0, elapsed: 30), "[100/100] 200.0 clips/min")
    }
}

final class DemoSetTests: XCTestCase {
    func testDemoSuiteListsTheDemoPromptsWithTheirCameraMoves() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let suite = try PromptSuiteFile.load(root.appendingPathComponent("prompts/demo.yaml").path)
        XCTAssertEqual(suite.prompts.map(\.id), DemoSet.prompts.map(\.id))
        for (prompt, scene) in zip(suite.prompts, DemoSet.prompts) {
            // Still scenes ask for a static camera; scenes that pan fast enough ask for a pan to the right.
            if scene.pan == 0 { XCTAssertEqual(prompt.camera, "static", prompt.id) }
            if prompt.camera == "pan_right" { XCTAssertGreaterThanOrEqual(scene.pan, 1, prompt.id) }
        }
    }

    /// `DemoSet.write` gives `late` its soundtrack, and none with `sound: false` (`gallop synth --silent`); `stutter`
    /// is silent either way. One clip of each is scored for its row's `audio`.
    func testDemoSetWritesSoundOnlyWhereAsked() throws {
        let dir = TempDir()
        let scorer = try Scorer(config: RunConfig(metrics: ["loudness_lufs"]), threads: 1)
        for (sound, model, expected) in [(true, "late", true), (false, "late", false), (true, "stutter", false)] {
            let folder = dir.file("\(sound)-\(model)")
            XCTAssertEqual(try DemoSet.write(to: folder, seeds: 1, frames: 3, models: [model], sound: sound), DemoSet.prompts.count)
            let rel = "\(model)/\(DemoSet.prompts[0].id)-1.mp4"
            let row = scorer.score(path: folder + "/" + rel, relativePath: rel, name: ClipName.parse(relativePath: rel))
            XCTAssertEqual(row.status, .ok, row.error ?? "")
            XCTAssertEqual(row.audio, expected, "\(model), sound: \(sound)")
        }
    }

    /// The demo's sound models, written as `gallop synth` writes them (bouncing ball, H.264 + 48 kHz AAC in MP4) at
    /// half size and 3.5 s: `steady`'s sound reads in sync and `late`'s 200 ms late, each within one frame (41.7 ms
    /// at 24 fps) and with av_offset_ms's default confidence; the silent `soft` has no sound track (`audio: false`).
    func testDemoSoundModelsReadTheirOffsets() throws {
        let dir = TempDir()
        let scorer = try Scorer(config: RunConfig(metrics: ["av_offset_ms"]), threads: 1)
        for (name, defect, soundLag) in DemoSet.models where ["steady", "late", "soft"].contains(name) {
            var scene = SyntheticScene(seed: 12_001, width: 128, height: 72, pan: 0.6)
            scene.bounces = true
            let path = dir.file("\(name).mp4")
            try scene.write(to: path, frames: 84, defect: defect, soundLag: soundLag)
            let row = scorer.score(path: path, relativePath: "\(name).mp4", name: ClipName.parse(relativePath: "\(name).mp4"))
            XCTAssertEqual(row.status, .ok, row.error ?? "")
            guard let soundLag else {
                XCTAssertEqual(row.audio, false, name)
                continue
            }
            XCTAssertEqual(row.audio, true, name)
            XCTAssertEqual(row.value("av_offset_ms") ?? .nan, soundLag * 1000, accuracy: 1000.0 / 24, "\(name): \(row.warnings)")
            XCTAssertGreaterThanOrEqual(row.value("av_sync_confidence") ?? 0, 0.15, name)
            XCTAssertEqual(row.warnings, [], name)
            print("\(name): av_offset_ms \(row.value("av_offset_ms").map { String(format: "%.1f", $0) } ?? "null"), confidence \(row.value("av_sync_confidence").map { String(format: "%.3f", $0) } ?? "null")")
        }
    }
}

