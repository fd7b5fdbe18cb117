import GallopCore
import GallopTestSupport
import GallopVideo
import XCTest

/// Display rotation: the turn kernel against a per-pixel reference, display
/// matrices read into degrees, and rotated MP4 clips read in display orientation.
final class RotationTests: XCTestCase {
    /// Per-pixel reference for a clockwise turn: the source's top row becomes the
    /// output's right column (90), its bottom row upside down (180), its left column (270).
    func reference(_ src: PlaneBuffer, _ degrees: Int) -> PlaneBuffer {
        let w = src.width, h = src.height, c = src.channels
        let quarter = degrees % 180 != 0
        let out = PlaneBuffer(width: quarter ? h : w, height: quarter ? w : h, channels: c)
        for y in 0..<h {
            for x in 0..<w {
                let (tx, ty): (Int, Int)
                switch degrees {
                case 90: (tx, ty) = (h - 1 - y, x)
                case 180: (tx, ty) = (w - 1 - x, h - 1 - y)
                case 270: (tx, ty) = (y, w - 1 - x)
                default: (tx, ty) = (x, y)
                }
                for k in 0..<c { out[tx, ty, k] = src[x, y, k] }
            }
        }
        return out
    }

    /// Equal planes, or a short failure naming the first difference (not two dumps of samples).
    func assertSame(_ got: [PlaneBuffer], _ want: [PlaneBuffer], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, "\(what): frame count", file: file, line: line)
        for (i, (g, w)) in zip(got, want).enumerated() {
            guard g.width == w.width, g.height == w.height, g.channels == w.channels else {
                return XCTFail("\(what) frame \(i): \(g.width)x\(g.height)x\(g.channels), want \(w.width)x\(w.height)x\(w.channels)", file: file, line: line)
            }
            if let k = g.samples.indices.first(where: { g.samples[$0] != w.samples[$0] }) {
                let differing = zip(g.samples, w.samples).filter { $0 != $1 }.count
                return XCTFail("\(what) frame \(i): \(differing) samples differ, first at \(k) (\(g.samples[k]) vs \(w.samples[k]))", file: file, line: line)
            }
        }
    }

    func testKernelMatchesThePerPixelReference() {
        // Sizes that fill whole 32-pixel tiles (the 8 × 8 register path) and leave partial ones.
        for (w, h) in [(37, 21), (70, 33), (100, 67), (64, 64), (1, 5), (64, 1), (2, 2)] {
            for channels in [1, 3, 4] {
                let src = Planes.random(w, h, seed: UInt64(w * 100 + h + channels), channels: channels)
                for degrees in [0, 90, 180, 270] {
                    let got = PlaneRotation.rotated(src, degrees: degrees)
                    let want = reference(src, degrees)
                    assertSame([got], [want], "\(w)x\(h)x\(channels) by \(degrees)")
                }
            }
        }
    }

    func testKernelHonoursBothStrides() {
        let w = 45, h = 19, stride = 64
        let padded = Planes.random(stride, h, seed: 9)
        let src = PlaneBuffer(width: w, height: h, samples: (0..<h).flatMap { y in padded.samples[(y * stride)..<(y * stride + w)] })
        for degrees in [90, 180, 270] {
            let (tw, th) = PlaneRotation.turned(width: w, height: h, degrees: degrees)
            let dstStride = tw + 7
            var dst = [UInt8](repeating: 0xEE, count: dstStride * th)
            padded.samples.withUnsafeBufferPointer { s in
                let view = Plane(base: s.baseAddress!, width: w, height: h, stride: stride)
                dst.withUnsafeMutableBufferPointer { PlaneRotation.rotate(view, degrees: degrees, into: $0.baseAddress!, dstStride: dstStride) }
            }
            let want = reference(src, degrees)
            for y in 0..<th {
                XCTAssertEqual(Array(dst[(y * dstStride)..<(y * dstStride + tw)]), Array(want.samples[(y * tw)..<((y + 1) * tw)]))
                XCTAssertTrue(dst[(y * dstStride + tw)..<((y + 1) * dstStride)].allSatisfy { $0 == 0xEE }, "wrote past the row")
            }
        }
    }

    func testDisplayMatricesGiveQuarterTurnsOrAWarning() {
        let one: Int32 = 1 << 16, w: Int32 = 1 << 30
        // The MP4 track matrix of a phone clip tagged rotate=90 (a = 0, b = 1, c = -1, d = 0).
        XCTAssertEqual(PlaneRotation.rotation(displayMatrix: [0, one, 0, -one, 0, 0, 0, 0, w]).degrees, 90)
        XCTAssertEqual(PlaneRotation.rotation(displayMatrix: [-one, 0, 0, 0, -one, 0, 0, 0, w]).degrees, 180)
        XCTAssertEqual(PlaneRotation.rotation(displayMatrix: [0, -one, 0, one, 0, 0, 0, 0, w]).degrees, 270)
        let identity = PlaneRotation.rotation(displayMatrix: [one, 0, 0, 0, one, 0, 0, 0, w])
        XCTAssertEqual(identity.degrees, 0)
        XCTAssertNil(identity.warning)
        // A horizontal mirror, 45 degrees, and a singular matrix: scored as stored, with a warning.
        let mirror = PlaneRotation.rotation(displayMatrix: [-one, 0, 0, 0, one, 0, 0, 0, w])
        XCTAssertEqual(mirror.degrees, 0)
        XCTAssertTrue(mirror.warning?.contains("mirrors") == true, "\(mirror)")
        let c = Int32((Double(one) * 0.5.squareRoot()).rounded())
        let tilted = PlaneRotation.rotation(displayMatrix: [c, c, 0, -c, c, 0, 0, 0, w])
        XCTAssertEqual(tilted.degrees, 0)
        XCTAssertTrue(tilted.warning?.contains("45.0 degrees, not a multiple of 90") == true, "\(tilted)")
        XCTAssertTrue(PlaneRotation.rotation(displayMatrix: [Int32](repeating: 0, count: 9)).warning?.contains("singular") == true)
    }

    struct Read {
        let info: VideoInfo
        let warnings: [String]
        var luma: [PlaneBuffer] = [], rgb: [PlaneBuffer] = [], motion: [PlaneBuffer] = [], cb: [PlaneBuffer] = [], cr: [PlaneBuffer] = []
    }

    func read(_ path: String, _ options: ReadOptions) throws -> Read {
        let reader = try VideoReader(path: path, options: options)
        var r = Read(info: reader.info, warnings: [])
        try reader.forEachFrame { f in
            r.luma.append(PlaneBuffer(copying: f.luma))
            if let p = f.rgb { r.rgb.append(PlaneBuffer(copying: p)) }
            if let m = f.rgbFromYUV, let c = f.chroma { r.rgb.append(m.rgb(luma: f.luma, cb: c.cb, cr: c.cr, channels: 4)) }
            if let p = f.motion { r.motion.append(PlaneBuffer(copying: p)) }
            if let c = f.chroma {
                r.cb.append(PlaneBuffer(copying: c.cb))
                r.cr.append(PlaneBuffer(copying: c.cr))
            }
        }
        return Read(info: r.info, warnings: reader.warnings, luma: r.luma, rgb: r.rgb, motion: r.motion, cb: r.cb, cr: r.cr)
    }

    /// H.264 at CRF 0 is lossless for 8-bit 4:2:0 in x264: the rotated clip's luma equals the
    /// written frames turned, sample for sample, and the size and rotation are as displayed.
    func testRotatedMP4IsReadTurnedAndLossless() throws {
        let dir = TempDir()
        let written = (0..<5).map { Planes.random(64, 48, seed: UInt64($0), range: 16...235) }
        for degrees in [90, 180, 270] {
            let path = try Clips.write(dir.file("r\(degrees).mp4"), written, codec: .h264(crf: 0), rotation: degrees)
            let r = try read(path, ReadOptions())
            XCTAssertEqual(r.info.rotation, degrees)
            XCTAssertEqual(r.info.width, degrees == 180 ? 64 : 48)
            XCTAssertEqual(r.info.height, degrees == 180 ? 48 : 64)
            XCTAssertEqual(r.info.outputWidth, r.info.width)
            XCTAssertEqual(r.luma.count, 5)
            assertSame(r.luma, written.map { reference($0, degrees) }, "luma turned \(degrees)")
            XCTAssertTrue(r.warnings.isEmpty, "\(r.warnings)")
        }
    }

    /// Every plane a reader hands out (luma, chroma, RGB, motion luma, scaled luma) equals the
    /// same clip written unrotated, read, and turned: the same encoder output, so exact. (A
    /// turned clip's RGB comes from libswscale, the unturned one's at native size from YUV.)
    func testEveryPlaneIsTurnedLikeTheUnrotatedTwin() throws {
        let dir = TempDir()
        let luma = (0..<4).map { Planes.texture(64, 48, dx: Double($0) * 3) }
        let rgb = (0..<4).map { Planes.random(64, 48, seed: UInt64($0), channels: 3) }
        for degrees in [90, 270] {
            let turned = try Clips.write(dir.file("t\(degrees).mp4"), luma, codec: .mpeg4(q: 2), rotation: degrees)
            let plain = try Clips.write(dir.file("p.mp4"), luma, codec: .mpeg4(q: 2))
            for options in [ReadOptions(chroma: true), ReadOptions(maxSide: 32, motionSide: 16), ReadOptions(motionSide: 32)] {
                let a = try read(turned, options), b = try read(plain, options)
                XCTAssertEqual(a.info.outputWidth, b.info.outputHeight)
                XCTAssertEqual(a.info.motionWidth, b.info.motionHeight)
                XCTAssertEqual(a.info.motionHeight, b.info.motionWidth)
                func turn(_ planes: [PlaneBuffer]) -> [PlaneBuffer] { planes.map { reference($0, degrees) } }
                assertSame(a.luma, turn(b.luma), "luma \(degrees) \(options)")
                assertSame(a.motion, turn(b.motion), "motion \(degrees) \(options)")
                assertSame(a.cb, turn(b.cb), "cb \(degrees) \(options)")
                assertSame(a.cr, turn(b.cr), "cr \(degrees) \(options)")
                XCTAssertEqual(a.cb.count, options.chroma ? 4 : 0)
                XCTAssertEqual(a.motion.count, options.motionSide == nil ? 0 : 4)
            }
            let turnedRGB = try Clips.writeRGB(dir.file("c\(degrees).mp4"), rgb, codec: .mpeg4(q: 2), rotation: degrees)
            let plainRGB = try Clips.writeRGB(dir.file("c.mp4"), rgb, codec: .mpeg4(q: 2))
            for options in [ReadOptions(rgb: true), ReadOptions(maxSide: 32, rgb: true)] {
                let a = try read(turnedRGB, options), b = try read(plainRGB, options)
                XCTAssertEqual(a.rgb.count, 4)
                assertSame(a.rgb, b.rgb.map { reference($0, degrees) }, "rgb \(degrees) \(options)")
            }
        }
    }

    /// A reference match (`ReadOptions.size`) is a size as displayed.
    func testExactSizeIsInDisplayOrientation() throws {
        let dir = TempDir()
        let path = try Clips.write(dir.file("r.mp4"), (0..<3).map { _ in Planes.constant(64, 48, 90) }, codec: .mpeg4(q: 2), rotation: 90)
        let r = try read(path, ReadOptions(size: FrameSize(width: 24, height: 32)))
        XCTAssertEqual(r.luma.first?.width, 24)
        XCTAssertEqual(r.luma.first?.height, 32)
        XCTAssertTrue(r.luma[0].samples.allSatisfy { abs(Int($0) - 90) <= 1 })
    }

    func testWriterRefusesOtherAngles() {
        XCTAssertThrowsError(try VideoWriter(path: TempDir().file("a.mp4"), width: 16, height: 16, rotation: 45)) { e in
            XCTAssertTrue("\(e)".contains("rotation 45 is not 0, 90, 180 or 270 degrees"), "\(e)")
        }
    }
}
