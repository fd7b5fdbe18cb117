import Foundation
import GallopCore
import GallopTestSupport
@testable import GallopVideo
import XCTest

/// The grabber finds the scored frame by its time (out of order, across
/// keyframes, with B-frames, at a variable rate) and encodes it as a small image.
final class FrameGrabberTests: XCTestCase {
    /// Frame i is a flat grey of 30 + 5i: which frame an image shows can be read back from its mean.
    func greys(_ n: Int, w: Int = 64, h: Int = 48) -> [PlaneBuffer] {
        (0..<n).map { Planes.constant(w, h, UInt8(30 + 5 * $0)) }
    }

    /// Frame times as the scorer records them.
    func times(_ path: String) throws -> [Double] {
        var times: [Double] = []
        try VideoReader(path: path).forEachFrame { times.append($0.time) }
        return times
    }

    /// The grey an image of frame i shows: limited-range luma 30 + 5i expanded to full-range RGB.
    func grey(_ i: Int) -> Double { (Double(30 + 5 * i) - 16) * 255 / 219 }

    /// The mean luma of an encoded image, read back through FFmpeg (an RGB image reads as full range).
    func meanLuma(_ image: FrameGrabber.Image, dir: TempDir) throws -> Double {
        let path = dir.file("image-\(UUID().uuidString.prefix(6)).\(image.format == .png ? "png" : "jpg")")
        FileManager.default.createFile(atPath: path, contents: Data(image.bytes))
        var mean = 0.0
        try VideoReader(path: path).forEachFrame { f in
            var sum = 0
            for y in 0..<f.luma.height { for x in 0..<f.luma.width { sum += Int(f.luma[x, y]) } }
            mean = Double(sum) / Double(f.luma.width * f.luma.height)
        }
        return mean
    }

    func check(_ codec: VideoWriter.Codec, ext: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("clip.\(ext)"), greys(40), fps: 24, codec: codec)
        let times = try times(path)
        XCTAssertEqual(times.count, 40, file: file, line: line)
        let grabber = try FrameGrabber(path: path, maxWidth: 320, format: .png)
        // Out of order, repeated, across the MPEG-4 keyframes (every 12 frames), the last frame.
        for i in [17, 3, 3, 30, 31, 0, 39, 12, 11] {
            let image = try grabber.image(at: times[i])
            XCTAssertEqual(Array(image.bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47], file: file, line: line)
            XCTAssertEqual(image.time, times[i], accuracy: 1e-6, "frame \(i)", file: file, line: line)
            XCTAssertEqual(try meanLuma(image, dir: dir), grey(i), accuracy: 1.5, "frame \(i)", file: file, line: line)
        }
        XCTAssertThrowsError(try grabber.image(at: times[39] + 1), file: file, line: line) { error in
            XCTAssertTrue("\(error)".hasPrefix(path + ": no frame at or after"), "\(error)", file: file, line: line)
        }
    }

    func testFindsEachFrameByTimeLossless() throws { try check(.ffv1, ext: "mkv") }
    func testFindsEachFrameByTimeAcrossKeyframes() throws { try check(.mpeg4(q: 2), ext: "mp4") }
    func testFindsEachFrameByTimeWithBFrames() throws { try check(.h264(crf: 12), ext: "mp4") }

    /// The savings (no seek back into frames already read; H.264 non-reference frames before the
    /// time not decoded) give the same images as decoding every frame and seeking beyond a second:
    /// x264 veryfast's B-frames (three, pyramid: the middle one a reference), a hard cut, keyframes
    /// every 12 frames and only at the start and the cut, times in the report's order then out of it.
    func testSavingsGiveTheSameImages() throws {
        let dir = TempDir()
        let frames = (0..<96).map { Planes.texture(160, 96, dx: 1.5 * Double($0), dy: 0.5 * Double($0), seed: $0 < 50 ? 0 : 2.5) }
        for gop in [12, 250] {
            let path = try Clips.write(dir.file("b\(gop).mp4"), frames, fps: 24, codec: .h264(crf: 20), keyframeInterval: gop)
            let times = try times(path)
            XCTAssertEqual(times.count, 96)
            // Pairs (cut, flicker, warping), over a second apart (21 -> 48, 50 -> 80), then backwards.
            let picks = [5, 6, 20, 21, 48, 49, 50, 80, 81, 95, 30, 2, 30]
            for (format, side) in [(FrameGrabber.ImageFormat.png, 320), (.jpeg, 96)] {
                // PNG at full size: the decoded pixels themselves (RGB); JPEG: the report's bytes.
                let thrifty = try FrameGrabber(path: path, maxWidth: side, format: format)
                let plain = try FrameGrabber(path: path, maxWidth: side, format: format, thrifty: false)
                XCTAssertTrue(thrifty.thrifty)
                for i in picks {
                    let a = try thrifty.image(at: times[i]), b = try plain.image(at: times[i])
                    XCTAssertEqual(a.time, times[i], accuracy: 1e-6, "frame \(i), keyframes every \(gop)")
                    XCTAssertEqual(a.time, b.time, "frame \(i), keyframes every \(gop)")
                    XCTAssertTrue(a.bytes == b.bytes, "frame \(i), keyframes every \(gop), \(format)")
                }
                // Both savings happened: non-reference frames skipped, and (one keyframe before the cut) seeks saved.
                XCTAssertLessThan(thrifty.framesDecoded, plain.framesDecoded, "keyframes every \(gop)")
                if gop == 250 { XCTAssertLessThan(thrifty.seeks, plain.seeks) }
            }
        }
    }

    /// With an open GOP, the B-frames shown just before a keyframe are decoded after it and refer to the group
    /// before: a seek that lands on that keyframe cannot give them, and the grabber must seek further back
    /// rather than show the keyframe. Skipping non-reference frames on the way must not hide that.
    func testOpenGOPGivesTheFrameAskedFor() throws {
        let dir = TempDir()
        let frames = (0..<72).map { Planes.texture(160, 96, dx: 1.5 * Double($0), dy: 0.5 * Double($0)) }
        let path = try Clips.write(dir.file("open.mp4"), frames, fps: 24, codec: .h264(crf: 20), keyframeInterval: 12, openGOP: true)
        let times = try times(path)
        XCTAssertEqual(times.count, 72)
        // Backwards, so that each time sends the grabber to a keyframe again; and each frame once.
        let picks = Array((0..<72).reversed())
        let thrifty = try FrameGrabber(path: path, maxWidth: 96, format: .jpeg)
        let plain = try FrameGrabber(path: path, maxWidth: 96, format: .jpeg, thrifty: false)
        for i in picks {
            let a = try thrifty.image(at: times[i]), b = try plain.image(at: times[i])
            XCTAssertEqual(a.time, times[i], accuracy: 1e-6, "frame \(i)")
            XCTAssertEqual(b.time, times[i], accuracy: 1e-6, "frame \(i) (plain)")
            XCTAssertTrue(a.bytes == b.bytes, "frame \(i)")
        }
    }

    func testVariableFrameRate() throws {
        let dir = TempDir()
        let written = [0.0, 0.04, 0.2, 0.25, 0.5, 0.52, 0.9]
        let path = try Clips.write(dir.file("vfr.mkv"), greys(written.count), fps: 24, times: written)
        let times = try times(path)
        let grabber = try FrameGrabber(path: path, format: .png)
        for i in [5, 2, 6, 0] {
            let image = try grabber.image(at: times[i])
            XCTAssertEqual(image.time, times[i], accuracy: 1e-6)
            XCTAssertEqual(try meanLuma(image, dir: dir), grey(i), accuracy: 1.5, "frame \(i)")
        }
        // Between two frames: the next one.
        XCTAssertEqual(try grabber.image(at: (times[2] + times[3]) / 2).time, times[3], accuracy: 1e-6)
    }

    func testJPEGAtMostMaxWidthWithTheAspectKept() throws {
        let dir = TempDir()
        let wide = try Clips.writeRGB(dir.file("wide.mkv"), (0..<3).map { _ in Planes.random(640, 360, seed: 1, channels: 3) })
        let grabber = try FrameGrabber(path: wide, maxWidth: 320, format: .jpeg)
        let image = try grabber.image(at: 0)
        XCTAssertEqual(Array(image.bytes.prefix(3)), [0xFF, 0xD8, 0xFF], "JPEG start of image")
        XCTAssertEqual(Array(image.bytes.suffix(2)), [0xFF, 0xD9], "JPEG end of image")
        XCTAssertEqual([image.width, image.height], [320, 180])
        // Small clips are not enlarged; odd sizes round down to even.
        XCTAssertEqual(try FrameGrabber(path: try Clips.write(dir.file("small.mkv"), greys(2, w: 64, h: 48))).imageWidth, 64)
        XCTAssertTrue(FrameGrabber.imageSize(displayWidth: 101, height: 75, maxSide: 320) == (100, 74))
        XCTAssertTrue(FrameGrabber.imageSize(displayWidth: 1920, height: 1080, maxSide: 320) == (320, 180))
        // Portrait fits the square too; an anamorphic 720x576 at 16:9 is shown 1024 wide.
        XCTAssertTrue(FrameGrabber.imageSize(displayWidth: 1080, height: 1920, maxSide: 320) == (180, 320))
        XCTAssertTrue(FrameGrabber.imageSize(displayWidth: 1024, height: 576, maxSide: 320) == (320, 180))
    }

    func testMissingAndBrokenFilesAreNamed() {
        XCTAssertThrowsError(try FrameGrabber(path: "/nonexistent/clip.mp4")) { error in
            XCTAssertEqual("\(error)", "/nonexistent/clip.mp4: no such file")
        }
        let dir = TempDir()
        FileManager.default.createFile(atPath: dir.file("bad.mp4"), contents: Data("garbage".utf8))
        XCTAssertThrowsError(try FrameGrabber(path: dir.file("bad.mp4"))) { error in
            XCTAssertTrue("\(error)".hasPrefix(dir.file("bad.mp4") + ": "), "\(error)")
        }
    }

    /// The grabber opens a clip as the reader does, so it refuses a file in the
    /// reader's words: the same ``VideoError`` for a missing, empty, garbage or
    /// audio-only file, a folder and a FIFO (refused before any open, which would
    /// block). A time past the end or not a time is a ``VideoError`` too.
    func testRefusesFilesAsTheReaderDoes() throws {
        let dir = TempDir()
        FileManager.default.createFile(atPath: dir.file("empty.mp4"), contents: Data())
        FileManager.default.createFile(atPath: dir.file("garbage.mp4"), contents: Data("garbage".utf8))
        Clips.writeWAV(dir.file("sound.wav"))
        XCTAssertEqual(mkfifo(dir.file("fifo.mp4"), 0o600), 0)
        for path in ["/nonexistent/clip.mp4", dir.file("empty.mp4"), dir.file("garbage.mp4"), dir.file("sound.wav"),
                     dir.path, dir.file("fifo.mp4")] {
            var fromReader: VideoError?, fromGrabber: VideoError?
            do { _ = try VideoReader(path: path) } catch { fromReader = error }
            do { _ = try FrameGrabber(path: path) } catch { fromGrabber = error }
            XCTAssertNotNil(fromReader, path)
            XCTAssertEqual(fromGrabber, fromReader, path)
        }
        let path = try Clips.write(dir.file("clip.mkv"), greys(3), fps: 25)
        let grabber = try FrameGrabber(path: path, maxWidth: 32, format: .png)
        XCTAssertThrowsError(try grabber.image(at: 1)) { error in
            XCTAssertEqual((error as? VideoError)?.path, path)
            XCTAssertEqual("\(error)", path + ": no frame at or after 1.000 s (the last frame is at 0.080 s)")
        }
        XCTAssertThrowsError(try grabber.image(at: -1)) { error in
            XCTAssertEqual("\(error)", path + ": no frame at -1.000 s")
        }
    }
}
