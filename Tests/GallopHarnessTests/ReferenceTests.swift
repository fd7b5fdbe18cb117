import Foundation
import GallopCore
import GallopConfig
import GallopHarness
import GallopMetrics
import GallopVideo
import GallopResults
import GallopTestSupport
import XCTest

/// `--reference`: pairing, alignment, scaling and missing references.
final class ReferenceTests: XCTestCase {
    let metrics = ["psnr", "ssim_fast"]

    func frames(_ n: Int, w: Int = 64, h: Int = 48) -> [PlaneBuffer] {
        (0..<n).map { Planes.texture(w, h, dx: Double($0) * 2) }
    }

    func testPairsBySameRelativePathThenByPromptAndSeed() throws {
        let clips = TempDir(), refs = TempDir()
        let f = frames(6)
        try Clips.write(clips.file("m/cat-1.mkv"), f.map { Planes.offset($0, 4) })
        try Clips.write(clips.file("m/dog-2.mkv"), f)
        try Clips.write(clips.file("m/owl.mkv"), f)
        try Clips.write(refs.file("m/cat-1.mkv"), f)               // same relative path
        try Clips.write(refs.file("golden/dog-2.mkv"), f)          // same prompt and seed elsewhere
        let scorer = try Scorer(config: RunConfig(metrics: metrics, reference: refs.path))
        let cat = scorer.score(path: clips.file("m/cat-1.mkv"), relativePath: "m/cat-1.mkv", name: ClipName.parse(relativePath: "m/cat-1.mkv"))
        XCTAssertEqual(cat.status, .ok, cat.error ?? "")
        XCTAssertEqual(cat.value("psnr")!, 10 * log10(255.0 * 255 / 16), accuracy: 1e-9)
        let dog = scorer.score(path: clips.file("m/dog-2.mkv"), relativePath: "m/dog-2.mkv", name: ClipName.parse(relativePath: "m/dog-2.mkv"))
        XCTAssertEqual(dog.status, .ok, dog.error ?? "")
        XCTAssertEqual(dog.value("psnr"), 60, "identical: PSNR at libvmaf's 8-bit cap")
        XCTAssertEqual(dog.value("psnr_avg"), 60)
        XCTAssertEqual(dog.value("ssim_fast")!, 1, accuracy: 1e-7)
        let owl = scorer.score(path: clips.file("m/owl.mkv"), relativePath: "m/owl.mkv", name: ClipName.parse(relativePath: "m/owl.mkv"))
        XCTAssertEqual(owl.status, .error)
        XCTAssertTrue(owl.error!.contains("no reference clip"), owl.error!)
        XCTAssertTrue(owl.error!.contains("owl"), owl.error!)
    }

    func testReferenceOfAnotherSizeIsScaledWithAWarning() throws {
        let clips = TempDir(), refs = TempDir()
        try Clips.write(clips.file("a.mkv"), (0..<4).map { _ in Planes.constant(64, 48, 100) })
        try Clips.write(refs.file("a.mkv"), (0..<4).map { _ in Planes.constant(128, 96, 100) })
        let row = try Scorer(config: RunConfig(metrics: metrics, reference: refs.path))
            .score(path: clips.file("a.mkv"), relativePath: "a.mkv", name: ClipName.parse(relativePath: "a.mkv"))
        XCTAssertEqual(row.status, .ok, row.error ?? "")
        XCTAssertTrue(row.warnings.contains { $0.contains("scaled to the clip's 64x48") }, "\(row.warnings)")
        XCTAssertEqual(row.value("psnr"), 60, "same level after scaling: identical luma")
        XCTAssertNil(row.value("psnr_u"), "no chroma PSNR across sizes")
    }

    /// vmaf with a reference of another size: the clip scaled to the reference's size (bicubic), as libvmaf's
    /// users run it, while PSNR still compares at the clip's size; the row says both. The value equals VMAF
    /// of the planes the reader gives for that pair (the clip's bicubic luma at 128x96, the reference's own).
    func testVMAFComparesTheClipScaledToTheReferencesSize() throws {
        let clips = TempDir(), refs = TempDir()
        let ref = (0..<5).map { Planes.texture(128, 96, dx: Double($0) * 3) }
        let clip = (0..<5).map { Planes.texture(64, 48, dx: Double($0) * 1.5) }
        try Clips.write(clips.file("a.mkv"), clip)
        try Clips.write(refs.file("a.mkv"), ref)
        let row = try Scorer(config: RunConfig(metrics: ["psnr", "vmaf"], reference: refs.path))
            .score(path: clips.file("a.mkv"), relativePath: "a.mkv", name: ClipName.parse(relativePath: "a.mkv"))
        XCTAssertEqual(row.status, .ok, row.error ?? "")
        XCTAssertTrue(row.warnings.contains { $0.contains("vmaf compared the clip scaled to it (bicubic") && $0.contains("the clip's 64x48 (area filter") },
                      "\(row.warnings)")
        XCTAssertEqual(row.extras.first { $0.0 == "vmaf" }?.1["compared_at"]?.stringValue, "128x96, the reference's size")
        // The same pair through the engine directly.
        let engine = MetricEngine(types: [VMAF.self])
        let scaled = try VideoReader(path: clips.file("a.mkv"), options: ReadOptions(scaledLuma: ScaledLuma(size: FrameSize(width: 128, height: 96), filter: .bicubic)))
        let own = try VideoReader(path: refs.file("a.mkv"))
        while let f = try scaled.next(), let r = try own.next() {
            XCTAssertEqual([f.scaledLuma?.width, f.scaledLuma?.height], [128, 96])
            engine.consume(Frame(index: f.index, time: f.time, duration: f.duration, luma: f.scaledLuma!), reference: r)
        }
        let direct = try XCTUnwrap(engine.finish().first?.1.values.first { $0.0 == "vmaf" }?.1)
        XCTAssertEqual(try XCTUnwrap(row.value("vmaf")), direct, accuracy: 1e-6)
        // PSNR still at the clip's size, and without vmaf the reference is simply scaled (the old warning).
        XCTAssertNotNil(row.value("psnr"))
        let psnrOnly = try Scorer(config: RunConfig(metrics: ["psnr"], reference: refs.path))
            .score(path: clips.file("a.mkv"), relativePath: "a.mkv", name: ClipName.parse(relativePath: "a.mkv"))
        XCTAssertEqual(psnrOnly.value("psnr"), row.value("psnr"), "the reference read at its size and scaled gives the same PSNR")
        XCTAssertTrue(psnrOnly.warnings.contains { $0.hasPrefix("the reference is 128x96; it was scaled to the clip's 64x48") }, "\(psnrOnly.warnings)")
        // vmaf alone: the warning speaks of no other metric.
        let vmafOnly = try Scorer(config: RunConfig(metrics: ["vmaf"], reference: refs.path))
            .score(path: clips.file("a.mkv"), relativePath: "a.mkv", name: ClipName.parse(relativePath: "a.mkv"))
        XCTAssertTrue(vmafOnly.warnings.contains("the reference is 128x96; vmaf compared the clip scaled to it (bicubic, as FFmpeg's scale filter)"),
                      "\(vmafOnly.warnings)")
        XCTAssertEqual(vmafOnly.value("vmaf"), row.value("vmaf"))
    }

    /// `--max-side` never changes vmaf's pair: the clip still meets the reference at the reference's size,
    /// whether the analysis size happens to equal the reference's or the reference equals the clip.
    func testMaxSideLeavesVMAFsPairAlone() throws {
        let clips = TempDir(), refs = TempDir(), same = TempDir()
        try Clips.write(clips.file("a.mkv"), (0..<5).map { Planes.texture(128, 96, dx: Double($0) * 3) })
        try Clips.write(refs.file("a.mkv"), (0..<5).map { Planes.texture(64, 48, dx: Double($0) * 1.4, seed: 1) })
        try Clips.write(same.file("a.mkv"), (0..<5).map { Planes.offset(Planes.texture(128, 96, dx: Double($0) * 3), 3) })
        func score(_ ref: TempDir, maxSide: Int?) throws -> ClipResult {
            try Scorer(config: RunConfig(metrics: ["psnr", "vmaf"], maxSide: maxSide, reference: ref.path))
                .score(path: clips.file("a.mkv"), relativePath: "a.mkv", name: ClipName.parse(relativePath: "a.mkv"))
        }
        // The analysis size (64x48) equals the reference's: the clip is still scaled to it by bicubic, not area.
        let plain = try score(refs, maxSide: nil), capped = try score(refs, maxSide: 64)
        XCTAssertEqual(capped.status, .ok, capped.error ?? "")
        XCTAssertEqual(try XCTUnwrap(capped.value("vmaf")), try XCTUnwrap(plain.value("vmaf")), accuracy: 1e-9)
        XCTAssertTrue(capped.warnings.contains { $0.hasPrefix("the reference is 64x48; vmaf compared the clip scaled to it (bicubic") }, "\(capped.warnings)")
        // A reference of the clip's own size under --max-side: vmaf at native size, and no claim of scaling the clip.
        let native = try score(same, maxSide: nil), small = try score(same, maxSide: 64)
        XCTAssertEqual(try XCTUnwrap(small.value("vmaf")), try XCTUnwrap(native.value("vmaf")), accuracy: 1e-9)
        XCTAssertFalse(small.warnings.contains { $0.contains("compared the clip scaled") }, "\(small.warnings)")
        XCTAssertTrue(small.warnings.contains { $0.hasPrefix("the reference was scaled to the clip's analysis size 64x48") }, "\(small.warnings)")
        XCTAssertFalse(native.warnings.contains { $0.contains("reference") && $0.contains("scaled") }, "\(native.warnings)")
    }

    /// What the reference's reader met reaches the row (here its 10-bit input).
    func testTheReferencesReaderWarningsReachTheRow() throws {
        let clips = TempDir(), refs = TempDir()
        try Clips.write(clips.file("a.mkv"), frames(3))
        try Clips.write(refs.file("a.mkv"), frames(3), bitDepth: 10)
        let row = try Scorer(config: RunConfig(metrics: ["psnr"], reference: refs.path))
            .score(path: clips.file("a.mkv"), relativePath: "a.mkv", name: ClipName.parse(relativePath: "a.mkv"))
        XCTAssertEqual(row.status, .ok, row.error ?? "")
        XCTAssertTrue(row.warnings.contains { $0.hasPrefix("the reference: 10-bit") }, "\(row.warnings)")
    }

    func testFramesAlignByTimestampWhenRatesDiffer() throws {
        // Clip at 12 fps, reference at 24 fps: clip frame i must meet reference frame 2i.
        let clips = TempDir(), refs = TempDir()
        let ref = (0..<16).map { Planes.constant(64, 48, UInt8(40 + 8 * $0)) }
        let clip = (0..<8).map { ref[2 * $0] }
        try Clips.write(clips.file("a.mkv"), clip, fps: 12)
        try Clips.write(refs.file("a.mkv"), ref, fps: 24)
        let row = try Scorer(config: RunConfig(metrics: ["psnr"], reference: refs.path))
            .score(path: clips.file("a.mkv"), relativePath: "a.mkv", name: ClipName.parse(relativePath: "a.mkv"))
        XCTAssertEqual(row.status, .ok, row.error ?? "")
        XCTAssertEqual(row.value("psnr"), 60, "every clip frame met its identical reference frame")
    }

    func testShorterReferenceIsAWarningNotACrash() throws {
        let clips = TempDir(), refs = TempDir()
        try Clips.write(clips.file("a.mkv"), frames(8))
        try Clips.write(refs.file("a.mkv"), Array(frames(8).prefix(4)))
        let row = try Scorer(config: RunConfig(metrics: metrics, reference: refs.path))
            .score(path: clips.file("a.mkv"), relativePath: "a.mkv", name: ClipName.parse(relativePath: "a.mkv"))
        XCTAssertEqual(row.status, .ok)
        XCTAssertTrue(row.warnings.contains { $0.contains("reference ends before the clip") }, "\(row.warnings)")
        // Frame 4, one frame past the reference's last, is not compared with it.
        let series = try XCTUnwrap(row.extras.first { $0.0 == "psnr" }?.1["series"]?.arrayValue)
        XCTAssertEqual(series.map { $0 == .null }, [false, false, false, false, true, true, true, true])
    }
}
