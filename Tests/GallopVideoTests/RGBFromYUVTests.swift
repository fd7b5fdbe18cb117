import GallopCore
import GallopTestSupport
import GallopVideo
import XCTest

/// ``YUVToRGB`` against libswscale itself, byte for byte, and the reader's
/// choice between it and libswscale's RGB.
final class RGBFromYUVTests: XCTestCase {
    /// Random 4:2:0 planes with rows padded by 64 bytes and a spare row, as libswscale's SIMD reads past row ends.
    struct Planes420 {
        let w: Int, h: Int
        var y: [UInt8], u: [UInt8], v: [UInt8]
        var ls: Int { w + 64 }
        var cs: Int { (w + 1) / 2 + 64 }
        init(_ w: Int, _ h: Int, seed: UInt64) {
            self.w = w; self.h = h
            var rng = TestRNG(seed: seed)
            let ch = (h + 1) / 2
            y = (0..<((w + 64) * (h + 1))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            u = (0..<(((w + 1) / 2 + 64) * (ch + 1))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            v = (0..<(((w + 1) / 2 + 64) * (ch + 1))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        func with<R>(_ body: (Plane, Plane, Plane) -> R) -> R {
            y.withUnsafeBufferPointer { yp in u.withUnsafeBufferPointer { up in v.withUnsafeBufferPointer { vp in
                body(Plane(base: yp.baseAddress!, width: w, height: h, stride: ls),
                     Plane(base: up.baseAddress!, width: (w + 1) / 2, height: (h + 1) / 2, stride: cs),
                     Plane(base: vp.baseAddress!, width: (w + 1) / 2, height: (h + 1) / 2, stride: cs))
            } } }
        }
    }

    /// Bytes where libswscale's RGB0 differs from the formula's.
    func mismatches(_ p: Planes420, colorspace: Int, fullRange: Bool) throws -> Int {
        let sws = try XCTUnwrap(SwscaleRGB0(width: p.w, height: p.h, colorspace: colorspace, fullRange: fullRange))
        let m = YUVToRGB(inverse: SwscaleRGB0.inverseTable(colorspace: colorspace), fullRange: fullRange)
        return p.with { y, u, v in
            let got = PlaneBuffer(copying: sws.convert(luma: y, cb: u, cr: v)), want = m.rgb(luma: y, cb: u, cr: v, channels: 4)
            return zip(got.samples, want.samples).filter { $0 != $1 }.count
        }
    }

    /// Even heights, odd and even widths, every matrix libswscale knows (8 and
    /// 11 fall back to its default), both ranges.
    func testFormulaEqualsLibswscaleAtEvenHeights() throws {
        for (i, (w, h)) in [(2, 2), (3, 2), (17, 4), (64, 48), (129, 30), (1283, 2)].enumerated() {
            let p = Planes420(w, h, seed: UInt64(i))
            for colorspace in 0...11 {
                for full in [false, true] {
                    XCTAssertEqual(try mismatches(p, colorspace: colorspace, fullRange: full), 0, "\(w)x\(h) colorspace \(colorspace) full \(full)")
                }
            }
        }
    }

    /// An odd height goes through libswscale's scaler, which interpolates
    /// chroma between rows: the formula does not hold, and the reader keeps
    /// libswscale's RGB there.
    func testOddHeightsAreNotTheFormula() throws {
        let p = Planes420(64, 47, seed: 9)
        XCTAssertGreaterThan(try mismatches(p, colorspace: 1, fullRange: false), 1000)
    }

    /// A native-size 4:2:0 clip comes as YUV with the conversion, whose RGB
    /// equals libswscale's as the reader gives it with `rgbFromYUV` off;
    /// scaled frames still come as packed RGB.
    func testReaderGivesYUVWhoseRGBIsLibswscales() throws {
        let dir = TempDir()
        let frames = (0..<3).map { Planes.random(66, 40, seed: UInt64($0), channels: 3) }
        let path = try Clips.writeRGB(dir.file("c.mkv"), frames)
        func read(_ options: ReadOptions) throws -> [PlaneBuffer] {
            var out: [PlaneBuffer] = []
            try VideoReader(path: path, options: options).forEachFrame { f in
                if let rgb = f.rgb {
                    XCTAssertNil(f.rgbFromYUV)
                    out.append(PlaneBuffer(copying: rgb))
                } else {
                    let m = try XCTUnwrap(f.rgbFromYUV), c = try XCTUnwrap(f.chroma)
                    out.append(m.rgb(luma: f.luma, cb: c.cb, cr: c.cr, channels: 4))
                }
            }
            return out
        }
        var direct = 0
        try VideoReader(path: path, options: ReadOptions(rgb: true)).forEachFrame { f in
            XCTAssertNil(f.rgb)
            if f.rgbFromYUV != nil { direct += 1 }
        }
        XCTAssertEqual(direct, 3)
        let made = try read(ReadOptions(rgb: true)), converted = try read(ReadOptions(rgb: true, rgbFromYUV: false))
        XCTAssertEqual(made.count, 3)
        XCTAssertEqual(made.map(\.samples), converted.map(\.samples))
        XCTAssertEqual(converted.first?.channels, 4)
        try VideoReader(path: path, options: ReadOptions(maxSide: 32, rgb: true)).forEachFrame { f in
            XCTAssertNil(f.rgbFromYUV)
            XCTAssertEqual(f.rgb?.channels, 3)
        }
    }
}
