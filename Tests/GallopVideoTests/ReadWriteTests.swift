import GallopCore
import GallopTestSupport
import GallopVideo
import XCTest

final class ReadWriteTests: XCTestCase {
    func frames(_ n: Int, w: Int = 64, h: Int = 48) -> [PlaneBuffer] {
        (0..<n).map { Planes.random(w, h, seed: UInt64($0), range: 16...235) }
    }

    func readAll(_ path: String, _ options: ReadOptions = ReadOptions()) throws -> (VideoReader, [PlaneBuffer], [Frame]) {
        let reader = try VideoReader(path: path, options: options)
        var planes: [PlaneBuffer] = []
        var meta: [Frame] = []
        try reader.forEachFrame { f in
            planes.append(PlaneBuffer(copying: f.luma))
            meta.append(f)
        }
        return (reader, planes, meta)
    }

    func testLosslessRoundTripIsExact() throws {
        let dir = TempDir()
        let written = frames(12)
        let path = try Clips.write(dir.file("a.mkv"), written, fps: 24)
        let (reader, read, meta) = try readAll(path)
        XCTAssertEqual(read.count, 12)
        for (a, b) in zip(written, read) { XCTAssertEqual(a.samples, b.samples) }
        XCTAssertEqual(reader.info.width, 64)
        XCTAssertEqual(reader.info.height, 48)
        XCTAssertEqual(reader.info.fps, 24, accuracy: 1e-9)
        XCTAssertEqual(reader.info.codec, "ffv1")
        XCTAssertEqual(reader.info.range, .limited)
        for (i, f) in meta.enumerated() {
            XCTAssertEqual(f.time, Double(i) / 24, accuracy: 0.0015)
            XCTAssertEqual(f.index, i)
        }
        XCTAssertTrue(reader.warnings.isEmpty, "\(reader.warnings)")
    }

    func testH264RoundTripIsClose() throws {
        let dir = TempDir()
        let written = (0..<12).map { Planes.texture(64, 48, dx: Double($0)) }
        let path = try Clips.write(dir.file("a.mp4"), written, codec: .h264(crf: 12))
        let (reader, read, _) = try readAll(path)
        XCTAssertEqual(reader.info.codec, "h264")
        XCTAssertEqual(read.count, 12)
        for (a, b) in zip(written, read) {
            let mad = zip(a.samples, b.samples).map { abs(Int($0) - Int($1)) }.reduce(0, +)
            XCTAssertLessThan(Double(mad) / Double(a.samples.count), 1.5)
        }
    }

    func testMPEG4Writes() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("a.mp4"), frames(6), codec: .mpeg4(q: 3))
        let (reader, read, _) = try readAll(path)
        XCTAssertEqual(reader.info.codec, "mpeg4")
        XCTAssertEqual(read.count, 6)
    }

    func testSamplingAndLimits() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("a.mkv"), frames(12))
        let (_, every3, meta) = try readAll(path, ReadOptions(every: 3))
        XCTAssertEqual(every3.count, 4)
        XCTAssertEqual(meta.map(\.sourceIndex), [0, 3, 6, 9])
        XCTAssertEqual(meta.map(\.index), [0, 1, 2, 3])
        let (_, first5, _) = try readAll(path, ReadOptions(maxFrames: 5))
        XCTAssertEqual(first5.count, 5)
    }

    func testMaxSideScalesKeepingLevelsAndAspect() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("a.mkv"), (0..<3).map { _ in Planes.constant(64, 48, 100) })
        let (reader, read, _) = try readAll(path, ReadOptions(maxSide: 32))
        XCTAssertEqual(reader.info.outputWidth, 32)
        XCTAssertEqual(reader.info.outputHeight, 24)
        XCTAssertEqual(read[0].width, 32)
        XCTAssertEqual(read[0].height, 24)
        // Luma is scaled as stored: a limited-range level is not stretched.
        XCTAssertTrue(read[0].samples.allSatisfy { $0 == 100 })
    }

    func testRGBConversionRecoversColours() throws {
        let dir = TempDir()
        let colour: [UInt8] = [200, 60, 30]
        let rgb = PlaneBuffer(width: 32, height: 32, channels: 3, samples: Array((0..<(32 * 32)).flatMap { _ in colour }))
        let path = try Clips.writeRGB(dir.file("c.mkv"), [rgb, rgb, rgb])
        let reader = try VideoReader(path: path, options: ReadOptions(rgb: true, rgbFromYUV: false))
        var seen = 0
        try reader.forEachFrame { f in
            let p = PlaneBuffer(copying: f.rgb!)
            XCTAssertEqual(p.channels, 4)
            for c in 0..<3 { XCTAssertEqual(Double(p[16, 16, c]), Double(colour[c]), accuracy: 3) }
            // The padding byte is the same everywhere, so RGB sums of absolute differences ignore it.
            XCTAssertTrue(stride(from: 3, to: p.samples.count, by: 4).allSatisfy { p.samples[$0] == 255 })
            seen += 1
        }
        XCTAssertEqual(seen, 3)
    }

    func testVariableFrameRateTimestampsAreKept() throws {
        let dir = TempDir()
        let times = [0, 0.04, 0.08, 1.08, 1.12]
        let path = try Clips.write(dir.file("v.mkv"), frames(5), fps: 25, times: times)
        let (_, _, meta) = try readAll(path)
        XCTAssertEqual(meta.count, 5)
        for (f, t) in zip(meta, times) { XCTAssertEqual(f.time, t, accuracy: 0.0015) }
    }

    /// Scaled RGB comes as RGB24 (RGB0 is kept to native-size 8-bit YUV, where
    /// its colours equal RGB24's byte for byte); both carry the same colour.
    func testScaledRGBIsPackedRGB24() throws {
        let dir = TempDir()
        let colour: [UInt8] = [40, 170, 220]
        let rgb = PlaneBuffer(width: 64, height: 48, channels: 3, samples: Array((0..<(64 * 48)).flatMap { _ in colour }))
        let path = try Clips.writeRGB(dir.file("c.mkv"), [rgb, rgb])
        for (options, channels) in [(ReadOptions(rgb: true, rgbFromYUV: false), 4), (ReadOptions(maxSide: 32, rgb: true), 3)] {
            let reader = try VideoReader(path: path, options: options)
            try reader.forEachFrame { f in
                let p = PlaneBuffer(copying: f.rgb!)
                XCTAssertEqual(p.channels, channels)
                for c in 0..<3 { XCTAssertEqual(Double(p[p.width / 2, p.height / 2, c]), Double(colour[c]), accuracy: 3) }
            }
        }
    }

    /// The reader promises a lent frame stays valid during the next call.
    func testPreviousFrameStaysValidForOneMoreCall() throws {
        let dir = TempDir()
        let written = frames(6)
        let path = try Clips.write(dir.file("a.mkv"), written)
        let reader = try VideoReader(path: path, options: ReadOptions(maxSide: 32, rgb: true))
        let (_, scaled, _) = try readAll(path, ReadOptions(maxSide: 32))
        var previous: Frame?
        try reader.forEachFrame { f in
            if let previous {
                XCTAssertEqual(PlaneBuffer(copying: previous.luma).samples, scaled[previous.index].samples)
            }
            previous = f
        }
    }

    func testBadInputsNameFileAndCause() throws {
        let dir = TempDir()
        XCTAssertThrowsError(try VideoReader(path: dir.file("missing.mp4"))) { e in
            XCTAssertEqual(e as? VideoError, .notFound(path: dir.file("missing.mp4")))
        }
        let empty = dir.file("empty.mp4")
        FileManager.default.createFile(atPath: empty, contents: Data())
        XCTAssertThrowsError(try VideoReader(path: empty)) { e in
            XCTAssertEqual(e as? VideoError, .emptyFile(path: empty))
            XCTAssertTrue("\(e)".contains("empty.mp4"))
        }
        let text = dir.file("notes.mp4")
        FileManager.default.createFile(atPath: text, contents: Data("this is not a video, just some text\n".utf8))
        XCTAssertThrowsError(try VideoReader(path: text)) { e in
            guard case .cannotOpen(let p, _)? = e as? VideoError else { return XCTFail("\(e)") }
            XCTAssertEqual(p, text)
        }
        let audio = dir.file("audio-only.mkv")
        Clips.writeWAV(audio)
        XCTAssertThrowsError(try VideoReader(path: audio)) { e in
            guard case .noVideoStream(_, let streams)? = e as? VideoError else { return XCTFail("\(e)") }
            XCTAssertTrue(streams.contains("audio"), streams)
        }
    }

    /// A video stream whose codec this FFmpeg cannot decode: here FFV1 in Matroska with its
    /// four-character tag overwritten, so the demuxer finds a video stream of an unknown codec.
    func testUnknownCodecIsNamedWithItsTag() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("odd.mkv"), frames(3))
        let data = FileManager.default.contents(atPath: path)!
        let tag = Data("FFV1".utf8)
        let at = try XCTUnwrap(data.range(of: tag), "FFV1 in Matroska carries its fourcc")
        var patched = data
        patched.replaceSubrange(at, with: Data("QQZ9".utf8))
        FileManager.default.createFile(atPath: path, contents: patched)
        XCTAssertThrowsError(try VideoReader(path: path)) { e in
            XCTAssertEqual(e as? VideoError, .noDecoder(path: path, codec: "unknown (tag QQZ9)"))
            XCTAssertEqual("\(e)", "\(path): no decoder for codec 'unknown (tag QQZ9)' in this FFmpeg build")
        }
    }

    /// A write error at the very end (a full disk) is thrown by `finish()`, not lost in `deinit`.
    func testFullDiskIsAWriteError() throws {
        let dir = TempDir()
        let path = dir.file("full.mkv")
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/full")
        XCTAssertThrowsError(try Clips.write(path, frames(3))) { e in
            guard case .writeFailed(let p, let reason)? = e as? VideoError else { return XCTFail("\(e)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.contains("No space left on device"), reason)
        }
    }

    func testTruncatedClipKeepsDecodedFramesWithWarning() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("t.mkv"), (0..<24).map { Planes.texture(64, 48, dx: Double($0)) })
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        Clips.truncate(path, to: size * 6 / 10)
        let reader = try VideoReader(path: path)
        var n = 0
        try reader.forEachFrame { _ in n += 1 }
        XCTAssertGreaterThan(n, 5)
        XCTAssertLessThan(n, 24)
        XCTAssertFalse(reader.warnings.isEmpty, "a truncated clip must say so")
    }

    func testTenBitInputIsConvertedWithAWarning() throws {
        let dir = TempDir()
        let written = (0..<6).map { Planes.texture(64, 48, dx: Double($0)) }
        let path = try Clips.write(dir.file("ten.mkv"), written, bitDepth: 10)
        let (reader, read, _) = try readAll(path)
        XCTAssertEqual(reader.info.bitDepth, 10)
        XCTAssertEqual(read.count, 6)
        for (a, b) in zip(written, read) {
            XCTAssertLessThanOrEqual(zip(a.samples, b.samples).map { abs(Int($0) - Int($1)) }.max()!, 1)
        }
        XCTAssertTrue(reader.warnings.contains { $0.contains("10-bit") }, "\(reader.warnings)")
    }

    func testCorruptionMidStreamKeepsFramesWithWarning() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("c.mkv"), (0..<24).map { Planes.random(64, 48, seed: UInt64($0)) })
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        Clips.corrupt(path, at: size / 2, count: 2000)
        let reader = try VideoReader(path: path)
        var n = 0
        try reader.forEachFrame { _ in n += 1 }
        XCTAssertGreaterThan(n, 5)
        XCTAssertFalse(reader.warnings.isEmpty, "corruption must be reported")
    }

    func testHeaderOnlyClipIsAnError() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("h.mp4"), frames(12), codec: .h264(crf: 20))
        Clips.truncate(path, to: 64)
        XCTAssertThrowsError(try { let r = try VideoReader(path: path); try r.forEachFrame { _ in } }()) { e in
            XCTAssertTrue("\(e)".contains("h.mp4"), "\(e)")
        }
    }

    /// A writer that fails to open (no such folder, an encoder that refuses its settings) throws a
    /// plain error and frees what it made; nothing is flushed to an encoder that never opened.
    func testWriterThatFailsToOpenThrowsAndCleansUp() {
        XCTAssertThrowsError(try VideoWriter(path: "/nonexistent/folder/clip.mkv", width: 16, height: 16)) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/folder/clip.mkv"), "\(e)")
        }
        XCTAssertThrowsError(try VideoWriter(path: TempDir().file("clip.unknownext"), width: 16, height: 16)) { e in
            XCTAssertTrue("\(e)".contains("no container for this file name"), "\(e)")
        }
        // FFV1 in MP4 is refused when the header is written: the encoder was open, the header not.
        let dir = TempDir()
        for _ in 0..<3 { XCTAssertThrowsError(try VideoWriter(path: dir.file("ffv1.mp4"), width: 16, height: 16, codec: .ffv1)) }
    }
}
