import Foundation
import GallopConfig
import GallopCore
@testable import GallopReport
import GallopResults
import XCTest

/// Rows with per-frame series whose worst moments are known: two models on ten
/// prompts, 12 frames at 24 fps; `bad` (a name that needs escaping) carries one
/// defect per metric in a known clip and frame.
enum MomentFixture {
    static let bad = "<b>&\"bad\""
    static let suite = PromptSuite(name: "moments", version: 1, prompts: (0..<10).map { i in
        .init(id: "p\(i)", text: "Prompt \(i).", tags: i == 9 ? ["static", "lighting"] : ["static"])
    })
    static let times = (0..<12).map { rounded(Double($0) / 24, 6) }

    static func row(_ model: String, _ prompt: Int, tweak: (inout [String: [Double?]], inout [(String, JSONValue)]) -> Void = { _, _ in }) -> ClipResult {
        var r = ClipResult(path: "\(model)/p\(prompt)-1.mp4", name: ClipName(model: model, prompt: "p\(prompt)", seed: 1), status: .ok)
        var series: [String: [Double?]] = [
            "flicker_index": [nil] + (1..<12).map { $0 % 2 == 0 ? 0.1 : -0.1 },
            "freeze_ratio": [nil] + Array(repeating: 0, count: 11),
            "scene_cuts": [nil] + Array(repeating: 1, count: 11),
            "sharpness": Array(repeating: 40 + Double(prompt), count: 12),
            "warping_error": [nil] + Array(repeating: 1, count: 11),
        ]
        var extras: [(String, JSONValue)] = [("freeze_ratio", .object([("spans", .array([]))])), ("scene_cuts", .object([("times", .array([]))]))]
        tweak(&series, &extras)
        r.metrics = [("flicker_index", 0.2 + 0.01 * Double(prompt)), ("freeze_ratio", 0), ("scene_cuts", 0),
                     ("sharpness", 40 + Double(prompt)), ("warping_error", 1 + 0.1 * Double(prompt))]
        if model == bad { r.metrics = r.metrics.map { ($0.0, $0.1.map { $0 * 2 }) } }
        r.extras = ["flicker_index", "freeze_ratio", "scene_cuts", "sharpness", "warping_error"].map { metric in
            var pairs: [(String, JSONValue)] = [("series", .array(series[metric]!.map { JSONValue.number($0) }))]
            pairs += extras.filter { $0.0 == metric }.flatMap { $0.1.objectValue ?? [] }
            return (metric, .object(pairs))
        }
        r.frames = 12
        r.fps = 24
        r.width = 640
        r.height = 360
        r.duration = 0.5
        r.frameTimes = times
        r.config = .object([("fingerprint", .string("feedfacecafebeef"))])
        r.fingerprint = "feedfacecafebeef"
        return r
    }

    static func cuts(_ at: [(Int, Double)]) -> (inout [String: [Double?]], inout [(String, JSONValue)]) -> Void {
        { series, extras in
            for (k, score) in at { series["scene_cuts"]![k] = score }
            extras = extras.filter { $0.0 != "scene_cuts" } + [("scene_cuts", .object([("times", .numbers(at.map { times[$0.0] }))]))]
        }
    }

    static var rows: [ClipResult] {
        var rows = (0..<10).map { row("clean", $0) }
        for p in 0..<10 {
            rows.append(row(bad, p) { series, extras in
                switch p {
                case 1: cuts([(3, 30), (9, 25)])(&series, &extras)
                case 2:
                    cuts([(5, 40)])(&series, &extras)
                    series["warping_error"]![5] = 50  // a cut: not a warping moment
                case 3: series["flicker_index"]![8] = -9
                case 4:
                    for i in 4...6 { series["freeze_ratio"]![i] = 1 }
                    extras = extras.filter { $0.0 != "freeze_ratio" }
                        + [("freeze_ratio", .object([("spans", .array([.numbers([times[3], times[7] - times[3]])]))]))]
                case 5: series["sharpness"]![2] = 1.5
                case 6: cuts([(2, 20), (6, 35), (10, 15)])(&series, &extras)
                case 7: series["warping_error"]![8] = 7
                case 9: series["flicker_index"]![3] = 20  // a lighting prompt: flicker is not read there
                default: break
                }
            })
        }
        return rows
    }

    static func summary() throws -> ResultsSummary {
        try Aggregation.summarize(rows, known: ValueCatalog.known, suite: suite, settings: ValueCatalog.report)
    }

    static let context = ReportContext(created: "2026-11-28T00:00:00Z", command: ["gallop", "report", "out"])
}

/// Hands out fake images (PNG magic, then the clip and time) and calls a set of clips gone.
struct FakeThumbnails: ThumbnailSource {
    var gone: Set<String> = []
    var clipsFolder: String? { "/clips" }

    func thumbnails(of clip: ClipResult, at times: [Double], maxWidth: Int) -> ThumbnailResult {
        if gone.contains(clip.path) { return .unavailable(times.count, "\(clip.path): the clip is gone (no file /clips/\(clip.path))") }
        return ThumbnailResult(images: times.map { t in
            Thumbnail(mimeType: "image/png", bytes: [0x89, 0x50, 0x4E, 0x47] + Array("\(clip.path)@\(t)".utf8), width: min(maxWidth, 320), height: 180, time: t)
        })
    }
}

final class HTMLReportTests: XCTestCase {
    let t = MomentFixture.times

    func testSeriesRulesGiveKnownFrames() {
        // Flicker: the largest |R| (first on ties); the pair runs from the last frame that is not a repeat.
        let peak = WorstMoments.flickerPeak([nil, 1, -3, 2, 3, nil], repeats: nil)!
        XCTAssertEqual(peak.index, 2)
        XCTAssertEqual(peak.pair, [1, 2])
        XCTAssertEqual(peak.value, -3)
        let held = WorstMoments.flickerPeak([nil, 0.5, nil, 4, nil, nil], repeats: [nil, 0, 1, 0, 1, 0])!
        XCTAssertEqual(held.pair, [1, 3], "frame 2 repeats frame 1, so the step into frame 3 starts at frame 1")
        XCTAssertNil(WorstMoments.flickerPeak([nil, nil], repeats: nil))
        // The larger luma step picks the pair: into frame 2 (1.0) or out of it (4.0, to frame 3).
        XCTAssertEqual(WorstMoments.flickerPeak([nil, 1, -3, 2, 3, nil], repeats: nil, frameDiff: [nil, 1, 1, 4, 1, 1])!.pair, [2, 3])
        XCTAssertEqual(WorstMoments.flickerPeak([nil, 1, -3, 2, 3, nil], repeats: nil, frameDiff: [nil, 1, 5, 4, 1, 1])!.pair, [1, 2])
        // Past a held frame: frame 4 repeats 3, so the step out of frame 3 reaches frame 5.
        XCTAssertEqual(WorstMoments.flickerPeak([nil, 0.5, nil, 4, nil, 1], repeats: [nil, 0, 0, 0, 1, 0], frameDiff: [nil, 1, 1, 1, 0, 6])!.pair, [3, 5])

        // Freeze from spans: the longest, its first frame and last held frame.
        let times = (0..<10).map { Double($0) / 10 }
        let spans = WorstMoments.longestFreeze(spans: [[0.1, 0.2], [0.5, 0.3]], series: [], times: times)!
        XCTAssertEqual(spans.first, 5)
        XCTAssertEqual(spans.last, 7)
        XCTAssertEqual(spans.length, 0.3, accuracy: 1e-12)
        // From the series alone (1 = repeats its predecessor): frames 1–3 beat frames 4–5.
        let runs = WorstMoments.longestFreeze(spans: nil, series: [nil, 0, 1, 1, 0, 1, 0], times: times)!
        XCTAssertEqual(runs.first, 1)
        XCTAssertEqual(runs.last, 3)
        XCTAssertEqual(runs.length, 0.3, accuracy: 1e-12)
        XCTAssertNil(WorstMoments.longestFreeze(spans: [], series: [nil, 0, 0], times: times))

        // A cut at 0.5 s starts the new shot at frame 5; pairs (4, 5) are shown.
        XCTAssertEqual(WorstMoments.cutIndices(cutTimes: [0.5, 0.3000001], times: times), [5, 3])
        XCTAssertEqual(WorstMoments.minimum([nil, 3, 1, 1, 2])!.index, 2)
        let warp = WorstMoments.maximum([nil, 1, 9, 2], excluding: [2])!
        XCTAssertEqual(warp.index, 3)
        XCTAssertEqual(warp.value, 2)
    }

    func testWorstMomentsOverAModelsClips() throws {
        let found = WorstMoments.find(try MomentFixture.summary())
        XCTAssertEqual(found.map(\.model), [MomentFixture.bad, "clean"].sorted())
        let bad = found.first { $0.model == MomentFixture.bad }!
        func only(_ kind: Moment.Kind) -> [Moment] { bad.moments.filter { $0.kind == kind } }
        let prefix = MomentFixture.bad + "/"

        let flicker = only(.flicker)
        XCTAssertEqual(flicker.count, 1)
        XCTAssertEqual(flicker[0].path, prefix + "p3-1.mp4", "the lighting prompt's larger peak is not read")
        XCTAssertEqual(flicker[0].frames, [7, 8])
        XCTAssertEqual(flicker[0].times, [t[7], t[8]])
        XCTAssertEqual(flicker[0].marks, [8])
        XCTAssertEqual(flicker[0].value, -9)

        let freeze = only(.freeze)
        XCTAssertEqual(freeze.map(\.path), [prefix + "p4-1.mp4"])
        XCTAssertEqual(freeze[0].frames, [3, 6])
        XCTAssertEqual(freeze[0].marks, [4, 5, 6])
        XCTAssertEqual(freeze[0].value, t[7] - t[3], accuracy: 1e-9)

        let cuts = only(.cut)
        XCTAssertEqual(cuts.count, WorstMoments.maxCuts)
        XCTAssertEqual(cuts.map(\.value), [40, 35, 30, 25])
        XCTAssertEqual(cuts.map(\.path), ["p2-1", "p6-1", "p1-1", "p1-1"].map { prefix + $0 + ".mp4" })
        XCTAssertEqual(cuts.map(\.frames), [[4, 5], [5, 6], [2, 3], [8, 9]])
        XCTAssertTrue(bad.notes.contains("2 more hard cuts in 1 clip, with smaller scores"), "\(bad.notes)")

        XCTAssertEqual(only(.blur).map(\.path), [prefix + "p5-1.mp4"])
        XCTAssertEqual(only(.blur)[0].frames, [2])
        XCTAssertEqual(only(.blur)[0].value, 1.5)

        let warping = only(.warping)
        XCTAssertEqual(warping.map(\.path), [prefix + "p7-1.mp4"], "the pair across p2's cut is left out")
        XCTAssertEqual(warping[0].frames, [7, 8])
        XCTAssertEqual(warping[0].value, 7)

        let clean = found.first { $0.model == "clean" }!
        XCTAssertEqual(Set(clean.moments.map(\.kind)), [.flicker, .blur, .warping])
        XCTAssertEqual(clean.notes, ["no freeze", "no hard cut"])
    }

    func testPageStructure() throws {
        let s = try MomentFixture.summary()
        let html = HTMLReport.make(s, context: MomentFixture.context, thumbnails: FakeThumbnails())
        XCTAssertTrue(html.hasPrefix("<!doctype html>"))
        XCTAssertTrue(html.hasSuffix("</html>\n"))
        // Charts: an interval panel per group score and headline, a distribution per headline, a curve per moment.
        let svgs = html.components(separatedBy: "<svg ").count - 1
        let moments = WorstMoments.find(s).flatMap(\.moments)
        XCTAssertEqual(moments.count, 11)
        XCTAssertGreaterThanOrEqual(svgs, 5 + 5 + moments.count)
        for section in ["id=\"overview\"", "id=\"scores\"", "id=\"clips\"", "id=\"moments\"", "id=\"notes\""] {
            XCTAssertTrue(html.contains(section), section)
        }
        XCTAssertTrue(html.contains("<path d=\"M"), "whiskers and dots are drawn")
        // One block of thumbnails per model, each moment a figure, each frame a data URI.
        XCTAssertEqual(html.components(separatedBy: "class=\"model-moments\"").count - 1, s.models.count)
        XCTAssertEqual(html.components(separatedBy: "<figure class=\"moment\"").count - 1, moments.count)
        XCTAssertEqual(html.components(separatedBy: "<img src=\"data:image/png;base64,iVBOR").count - 1, moments.map(\.frames.count).reduce(0, +))
        // Nothing external: every src and href is a data URI or a fragment, no script, no URL at all.
        XCTAssertFalse(html.lowercased().contains("<script"))
        XCTAssertFalse(html.contains("http:"))
        XCTAssertFalse(html.contains("https:"))
        let text = html.replacingOccurrences(of: "data:image/png;base64,[A-Za-z0-9+/=]*", with: "", options: .regularExpression)
        XCTAssertFalse(text.contains("//"), "no protocol-relative or absolute URL")
        let references = try NSRegularExpression(pattern: "(?:src|href)=\"([^\"]*)\"")
        let found = references.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { String(html[Range($0.range(at: 1), in: html)!]) }
        XCTAssertFalse(found.isEmpty)
        for url in found { XCTAssertTrue(url.hasPrefix("data:image/") || url.hasPrefix("#"), url) }
        // Text is escaped: the model name appears only in its escaped form.
        XCTAssertFalse(html.contains(MomentFixture.bad))
        XCTAssertTrue(html.contains("&lt;b&gt;&amp;&quot;bad&quot;"))
        // The clip's path, the time and the value are under each thumbnail.
        XCTAssertTrue(html.contains("&lt;b&gt;&amp;&quot;bad&quot;/p3-1.mp4"))
        XCTAssertTrue(html.contains("frame 8 · 0.333 s"))
        XCTAssertTrue(html.contains("R = -9.000 % brightness oscillation"))
    }

    func testAMissingClipIsNamedAndTheRestShown() throws {
        let s = try MomentFixture.summary()
        let gone = MomentFixture.bad + "/p4-1.mp4"
        let html = HTMLReport.make(s, context: MomentFixture.context, thumbnails: FakeThumbnails(gone: [gone]))
        let escaped = Charts.esc(gone)
        XCTAssertTrue(html.contains("\(escaped): the clip is gone (no file /clips/\(escaped))"))
        XCTAssertTrue(html.contains("no image"))
        let images = html.components(separatedBy: "<img ").count - 1
        let frames = WorstMoments.find(s).flatMap(\.moments).map(\.frames.count).reduce(0, +)
        XCTAssertEqual(images, frames - 2, "only the freeze's two frames are missing")
        // No source at all: every moment is named, without images.
        let none = HTMLReport.make(s, context: MomentFixture.context, thumbnails: nil)
        XCTAssertFalse(none.contains("<img "))
        XCTAssertTrue(none.contains("frames not decoded (no clip folder was given)"))
    }

    func testWriterWritesTheReportWithExtraSections() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gallop-html-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var writer = ReportWriter(out: dir, suite: MomentFixture.suite, context: MomentFixture.context, thumbnails: FakeThumbnails())
        writer.htmlSections = { _ in [HTMLReport.Section(id: "agreement", title: "Agreement with votes", html: "<table><tr><td>42</td></tr></table>")] }
        try writer.write(MomentFixture.rows)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<section id=\"agreement\"><h2>Agreement with votes</h2>\n<table><tr><td>42</td></tr></table>"))
        XCTAssertTrue(html.contains("<a href=\"#agreement\">"))
        // The same aggregates as the scorecard: the overview's cells are the scorecard's text.
        let card = try String(contentsOfFile: dir + "/scorecard.md", encoding: .utf8)
        let s = try MomentFixture.summary()
        let overall = s.model("clean")!.all.values[Aggregation.overall]!
        let cell = Scorecard.format(overall)
        XCTAssertTrue(card.contains(cell), cell)
        XCTAssertTrue(html.contains(cell), cell)
    }

    func testTicksAndNumbers() {
        XCTAssertEqual(Charts.ticks((0, 1)), [0, 0.5, 1])
        XCTAssertEqual(Charts.ticks((-0.3, 7.2)), [0, 2, 4, 6])
        XCTAssertEqual(Charts.n(12.34), "12.3")
        XCTAssertEqual(Charts.n(-0.04), "0")
        XCTAssertEqual(Charts.n(-1.25), "-1.3")
        XCTAssertEqual(Charts.thin([1, 2, 3, 4, 5], to: 3), [1, 3, 5])
        XCTAssertEqual(Charts.quantile([1, 2, 3, 4], 0.5), 2.5)
        XCTAssertEqual(Charts.esc("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;")
    }
}
