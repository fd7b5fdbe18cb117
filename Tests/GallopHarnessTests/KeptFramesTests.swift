import Foundation
import GallopConfig
import GallopCore
@testable import GallopHarness
import GallopMetrics
import GallopReport
import GallopResults
import GallopTestSupport
import GallopVideo
import XCTest

/// The thumbnails kept while scoring (``FrameKeeper``): the same bytes as the grabber's second decode, on
/// real x264 output with each moment kind; misses fall back to the clip; memory stays bounded.
final class KeptFramesTests: XCTestCase {
    static let metrics = ["flicker_index", "freeze_ratio", "scene_cuts", "sharpness", "warping_error", "frame_diff"]

    /// 64 frames of 160 × 96 through libx264: a pan, a flicker burst (gains alternating ±15%), a freeze
    /// (8 frames held), a soft stretch (low contrast: the blurriest frames), then a hard cut to another scene.
    static func story(_ path: String, seed: Double = 0) throws {
        try Clips.writeMoments(path, width: 160, height: 96, frames: 64, step: 1.5, flicker: 16..<24, freeze: 24..<32, soft: 32..<40,
                               cut: 40, seed: seed)
    }

    func testKeptThumbnailsAreTheGrabbersBytes() throws {
        let dir = TempDir(), refs = TempDir()
        try KeptFramesTests.story(dir.file("m/story-1.mp4"))
        // A reference of other noise, for the lowest-VMAF moment.
        try KeptFramesTests.story(refs.file("m/story-1.mp4"), seed: 1)
        let scorer = try Scorer(config: RunConfig(metrics: KeptFramesTests.metrics + ["vmaf"], reference: refs.path), threads: 1)
        let row = scorer.score(path: dir.file("m/story-1.mp4"), relativePath: "m/story-1.mp4", name: ClipName(model: "m", prompt: "story", seed: 1))
        XCTAssertEqual(row.status, .ok, row.error ?? "")
        let moments = WorstMoments.moments(of: row)
        XCTAssertEqual(Set(moments.map(\.kind)), Set(Moment.Kind.allCases), "every kind has a moment: \(moments.map(\.kind))")
        XCTAssertGreaterThanOrEqual(row.value("scene_cuts") ?? 0, 1)
        let kept = try XCTUnwrap(row.keptFrames)
        XCTAssertEqual(kept.missing, [], "the pools hold every moment frame of this clip")
        XCTAssertEqual(kept.contentKey, row.contentKey)
        XCTAssertEqual(Set(kept.images.map(\.frame)), Set(moments.flatMap(\.frames)))
        let grabber = try FrameGrabber(path: dir.file("m/story-1.mp4"))
        for image in kept.images.sorted(by: { $0.time < $1.time }) {
            XCTAssertEqual(image.time, row.frameTimes[image.frame])
            let again = try grabber.image(at: image.time)
            XCTAssertTrue(image.bytes == again.bytes, "frame \(image.frame) at \(image.time) s: not the grabber's bytes")
            XCTAssertEqual([image.width, image.height], [again.width, again.height])
        }
        // Through the report: the stored source gives the same images as the second decode, and asks the clip for none.
        let stored = TempDir()
        try ResultsFile(path: stored.file(KeptFrames.fileName), startingWithLines: [kept.json.serialized()]).close()
        let source = StoredThumbnails(file: stored.file(KeptFrames.fileName), fallback: ClipThumbnails(folder: nil))
        let times = kept.images.map(\.time)
        let got = source.thumbnails(of: row, at: times, maxWidth: HTMLReport.maxThumbnailWidth)
        let decoded = ClipThumbnails(folder: dir.path).thumbnails(of: row, at: times, maxWidth: HTMLReport.maxThumbnailWidth)
        XCTAssertNil(got.problem)
        XCTAssertTrue(got.images.map { $0?.bytes } == decoded.images.map { $0?.bytes }, "not the second decode's images")
        XCTAssertEqual(source.counts.kept, times.count)
        XCTAssertEqual(source.counts.decodedAgain, 0)
    }

    /// With empty pools every frame but the last few (still held when the clip ends) is a miss: the report
    /// decodes exactly those from the clip, names how many, and shows the same images.
    func testMissesFallBackToTheClip() throws {
        let dir = TempDir()
        try KeptFramesTests.story(dir.file("m/story-1.mp4"))
        var scorer = try Scorer(config: RunConfig(metrics: KeptFramesTests.metrics), threads: 1)
        // Empty pools keep nothing but the window's last frames; with the blur pool alone, the blurriest frame.
        scorer.keeperCapacity = .none
        let path = dir.file("m/story-1.mp4"), name = ClipName(model: "m", prompt: "story", seed: 1)
        let empty = try XCTUnwrap(scorer.score(path: path, relativePath: "m/story-1.mp4", name: name).keptFrames)
        XCTAssertTrue(empty.images.allSatisfy { $0.frame >= 60 }, "only the window's frames: \(empty.images.map(\.frame))")
        scorer.keeperCapacity.blur = 1
        let row = scorer.score(path: path, relativePath: "m/story-1.mp4", name: name)
        let kept = try XCTUnwrap(row.keptFrames)
        XCTAssertFalse(kept.missing.isEmpty)
        let blur = try XCTUnwrap(WorstMoments.moments(of: row).first { $0.kind == .blur })
        XCTAssertEqual(kept.images.map(\.frame), blur.frames)
        let stored = TempDir()
        try ResultsFile(path: stored.file(KeptFrames.fileName), startingWithLines: [kept.json.serialized()]).close()
        let source = StoredThumbnails(file: stored.file(KeptFrames.fileName), fallback: ClipThumbnails(folder: dir.path))
        let times = WorstMoments.moments(of: row).flatMap(\.times).sorted()
        let unique = Array(Set(times)).sorted()
        let got = source.thumbnails(of: row, at: unique, maxWidth: 320)
        let decoded = ClipThumbnails(folder: dir.path).thumbnails(of: row, at: unique, maxWidth: 320)
        XCTAssertNil(got.problem)
        XCTAssertTrue(got.images.map { $0?.bytes } == decoded.images.map { $0?.bytes }, "not the second decode's images")
        XCTAssertTrue(got.images.allSatisfy { $0 != nil })
        XCTAssertEqual(source.counts.decodedAgain, kept.missing.count)
        XCTAssertEqual(source.counts.kept, unique.count - kept.missing.count)
        XCTAssertTrue(source.provenance?.contains("\(kept.missing.count) decoded again from the clips under") == true, source.provenance ?? "")

        // A line of other content (the clip changed and was scored again) is never used: every frame from the clip.
        var changed = row
        changed.contentKey = "size:1:0"
        let stale = StoredThumbnails(file: stored.file(KeptFrames.fileName), fallback: ClipThumbnails(folder: nil))
        let none = stale.thumbnails(of: changed, at: unique, maxWidth: 320)
        XCTAssertTrue(none.images.allSatisfy { $0 == nil })
        XCTAssertEqual(stale.counts.kept, 0)
        // No file at all: all from the clip.
        let absent = StoredThumbnails(file: stored.file("none.jsonl"), fallback: ClipThumbnails(folder: dir.path))
        XCTAssertTrue(absent.thumbnails(of: row, at: unique, maxWidth: 320).images.map { $0?.bytes } == decoded.images.map { $0?.bytes })
        XCTAssertEqual(absent.counts.decodedAgain, unique.count)
    }

    /// A long clip whose sharpness falls every frame (each frame a new blur candidate) and which flickers
    /// throughout: the keeper holds at most its window, its queue and its pools' images, however long the clip;
    /// the queue is bounded by bytes (two 4K frames).
    func testMemoryStaysBounded() throws {
        let dir = TempDir()
        let frames = (0..<160).map { i in
            Planes.offset(Planes.scaled(Planes.texture(96, 64, dx: Double(i)), gain: (1 - Double(i) / 200) * (i % 2 == 0 ? 1.1 : 0.9)), i / 4)
        }
        try Clips.write(dir.file("long.mp4"), frames, codec: .h264(crf: 20))
        let types = try MetricRegistry.select(KeptFramesTests.metrics, reference: false)
        let engine = MetricEngine(types: types, flowThreads: 1)
        let reader = try VideoReader(path: dir.file("long.mp4"), options: ReadOptions(threads: 1, motionSide: engine.needsMotion ? 256 : nil))
        let capacity = FrameKeeper.Capacity()
        let keeper = FrameKeeper(encoder: try reader.thumbnailEncoder(maxWidth: 320), capacity: capacity, hasFreeze: true, cutFloor: 12,
                                 frameBytes: 96 * 64 * 3 / 2)
        while let frame = try reader.next() {
            engine.consume(frame)
            keeper.observe(engine.frameCount - 1, reader: reader, engine: engine, times: engine.times)
        }
        XCTAssertEqual(engine.frameCount, 160)
        XCTAssertEqual(keeper.graceFrames, 16)
        XCTAssertLessThanOrEqual(keeper.peakHeld, 5 + 16, "the current, previous and two distinct frames, the one arriving, and the queue")
        XCTAssertLessThanOrEqual(keeper.peakImages, capacity.images)
        XCTAssertLessThan(keeper.encoded, 40, "candidates are encoded when they leave the queue, not every record")
        let big = FrameKeeper(encoder: try reader.thumbnailEncoder(maxWidth: 320), capacity: capacity, hasFreeze: true, cutFloor: 12,
                              frameBytes: 3840 * 2160 * 3 / 2)
        XCTAssertEqual(big.graceFrames, 2)
    }
}
