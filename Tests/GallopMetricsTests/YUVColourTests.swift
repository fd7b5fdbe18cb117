import Foundation
import GallopCore
import GallopMetrics
import GallopTestSupport
import XCTest

/// The fused YUV colour kernel against the packed-RGB kernels on the RGB that
/// ``YUVToRGB`` makes, exactly; and the engine's three ways to the same
/// numbers. (``YUVToRGB`` itself is checked against libswscale in
/// GallopVideoTests.)
final class YUVColourTests: XCTestCase {
    /// libswscale's inverse tables for BT.601 (unspecified) and BT.709.
    static let bt601 = [Int32(104597), 132201, 25675, 53279], bt709 = [Int32(117489), 138438, 13975, 34925]
    static let conversions = [YUVToRGB(inverse: bt601, fullRange: false), YUVToRGB(inverse: bt709, fullRange: false),
                              YUVToRGB(inverse: bt601, fullRange: true), YUVToRGB(inverse: bt709, fullRange: true)]

    /// Random 4:2:0 planes, each row followed by `pad` bytes of other values.
    final class YUV {
        let width: Int, height: Int, pad: Int
        let y: [UInt8], u: [UInt8], v: [UInt8]
        init(copying p: YUV, y: [UInt8], u: [UInt8], v: [UInt8]) {
            width = p.width; height = p.height; pad = p.pad
            self.y = y; self.u = u; self.v = v
        }
        init(_ w: Int, _ h: Int, seed: UInt64, pad: Int = 7) {
            width = w; height = h; self.pad = pad
            var rng = TestRNG(seed: seed)
            let cw = (w + 1) / 2, ch = (h + 1) / 2
            y = (0..<((w + pad) * h)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            u = (0..<((cw + pad) * ch)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            v = (0..<((cw + pad) * ch)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        func with<R>(_ conversion: YUVToRGB, _ body: (Kernels.YUVFrame) -> R) -> R {
            let cw = (width + 1) / 2, ch = (height + 1) / 2
            return y.withUnsafeBufferPointer { yp in
                u.withUnsafeBufferPointer { up in
                    v.withUnsafeBufferPointer { vp in
                        body(Kernels.YUVFrame(luma: Plane(base: yp.baseAddress!, width: width, height: height, stride: width + pad),
                                              cb: Plane(base: up.baseAddress!, width: cw, height: ch, stride: cw + pad),
                                              cr: Plane(base: vp.baseAddress!, width: cw, height: ch, stride: cw + pad),
                                              conversion: conversion))
                    }
                }
            }
        }
    }

    func testMadeRGBIsTheFormulaPerPixel() {
        let p = YUV(9, 7, seed: 1)
        let m = YUVColourTests.conversions[1]
        p.with(m) { f in
            let rgb = f.rgb(channels: 4)
            for y in 0..<7 {
                for x in 0..<9 {
                    let e = m.rgb(y: f.luma[x, y], u: f.cb[x / 2, y / 2], v: f.cr[x / 2, y / 2])
                    XCTAssertEqual([rgb[x, y, 0], rgb[x, y, 1], rgb[x, y, 2], rgb[x, y, 3]], [e.r, e.g, e.b, 255])
                }
            }
            XCTAssertEqual(f.rgb(channels: 3).samples, (0..<63).flatMap { i in (0..<3).map { rgb.samples[4 * i + $0] } })
        }
    }

    /// Known values: BT.601 limited black, white and a red.
    func testKnownPixels() {
        let m = YUVColourTests.conversions[0]
        XCTAssertTrue(m.rgb(y: 16, u: 128, v: 128) == (0, 0, 0))
        XCTAssertTrue(m.rgb(y: 235, u: 128, v: 128) == (255, 255, 255))
        // y' = ⌊520·9539/2¹⁶⌋ = 75, R: +⌊896·13075/2¹⁶⌋ = 178; G and B fall below 0.
        XCTAssertTrue(m.rgb(y: 81, u: 90, v: 240) == (253, 0, 0))
        XCTAssertTrue(YUVColourTests.conversions[2].rgb(y: 77, u: 128, v: 128) == (77, 77, 77), "full range: grey is Y")
    }

    func testFusedKernelEqualsPackedKernels() {
        let shapes = [(2, 2), (1, 1), (3, 5), (16, 8), (33, 19), (64, 48), (250, 7), (17, 34)]
        for (i, (w, h)) in shapes.enumerated() {
            let a = YUV(w, h, seed: UInt64(2 * i + 10)), b = YUV(w, h, seed: UInt64(2 * i + 11), pad: 3)
            for (j, mb) in YUVColourTests.conversions.enumerated() {
                // The previous frame may come with another matrix or range.
                let ma = YUVColourTests.conversions[(j + i) % 4]
                a.with(ma) { fa in
                    b.with(mb) { fb in
                        let ra = fa.rgb(channels: 4), rb = fb.rgb(channels: 4)
                        let (sad, opponent) = ra.withPlane { pa in rb.withPlane { pb in
                            (Kernels.sumAbsoluteDifference(pa, pb), Kernels.opponentSums(pb))
                        } }
                        let both = Kernels.yuvColour(previous: fa, current: fb, opponent: true)
                        XCTAssertEqual(both.sad, sad, "\(w)x\(h) \(j)")
                        XCTAssertEqual(both.opponent, opponent, "\(w)x\(h) \(j)")
                        let sadOnly = Kernels.yuvColour(previous: fa, current: fb, opponent: false)
                        XCTAssertEqual(sadOnly.sad, sad)
                        XCTAssertNil(sadOnly.opponent)
                        let opponentOnly = Kernels.yuvColour(previous: nil, current: fb, opponent: true)
                        XCTAssertNil(opponentOnly.sad)
                        XCTAssertEqual(opponentOnly.opponent, opponent)
                    }
                }
            }
        }
    }

    /// A 4096-pixel chunk boundary and rows of saturated colour (the largest squares).
    func testWideRowsAndExtremes() {
        let w = 4100, h = 4
        let a = YUV(w, h, seed: 3), b = YUV(w, h, seed: 4)
        for m in YUVColourTests.conversions {
            a.with(m) { fa in
                b.with(m) { fb in
                    let ra = fa.rgb(channels: 3), rb = fb.rgb(channels: 3)
                    let sad = ra.withPlane { pa in rb.withPlane { Kernels.sumAbsoluteDifference(pa, $0) } }
                    let r = Kernels.yuvColour(previous: fa, current: fb, opponent: true)
                    XCTAssertEqual(r.sad, sad)
                    XCTAssertEqual(r.opponent, rb.withPlane { Kernels.opponentSums($0) })
                }
            }
        }
        // Only 0 and 255 in every plane: most channels clip, the squares are the largest.
        let c = YUV(64, 6, seed: 5), d = YUV(64, 6, seed: 6)
        func extreme(_ p: YUV) -> YUV {
            return YUV(copying: p, y: p.y.map { $0 & 1 == 0 ? 0 : 255 }, u: p.u.map { $0 & 1 == 0 ? 0 : 255 }, v: p.v.map { $0 & 1 == 0 ? 0 : 255 })
        }
        let ec = extreme(c), ed = extreme(d)
        for m in YUVColourTests.conversions {
            ec.with(m) { fa in
                ed.with(m) { fb in
                    let ra = fa.rgb(channels: 4), rb = fb.rgb(channels: 4)
                    XCTAssertTrue(rb.samples.contains(0) && rb.samples.enumerated().contains { $0.offset % 4 != 3 && $0.element == 255 })
                    let sad = ra.withPlane { pa in rb.withPlane { Kernels.sumAbsoluteDifference(pa, $0) } }
                    let r = Kernels.yuvColour(previous: fa, current: fb, opponent: true)
                    XCTAssertEqual(r.sad, sad)
                    XCTAssertEqual(r.opponent, rb.withPlane { Kernels.opponentSums($0) })
                }
            }
        }
    }

    /// The engine: frames that carry YUV and the conversion give the same
    /// values and series as the same frames carrying their RGB, and a clip
    /// that switches between the two mid-way too.
    func testEngineGivesTheSameNumbersEitherWay() {
        let w = 21, h = 14, n = 6
        let frames = (0..<n).map { YUV(w, h, seed: UInt64(40 + $0)) }
        let m = YUVColourTests.conversions[1]
        let types: [any Metric.Type] = [TemporalFlickering.self, Colorfulness.self]
        // The engine reads the previous frame's planes: they must outlive the next call.
        let rgbs = frames.map { f in f.with(m) { $0.rgb(channels: 4) } }
        func run(_ asYUV: (Int) -> Bool) -> [String: [Double?]] {
            let engine = MetricEngine(types: types)
            for (i, f) in frames.enumerated() {
                f.with(m) { yuv in
                    rgbs[i].withPlane { packed in
                        engine.consume(asYUV(i)
                            ? Frame(index: i, time: Double(i) / 24, duration: 1.0 / 24, luma: yuv.luma, chroma: (yuv.cb, yuv.cr), rgbFromYUV: m)
                            : Frame(index: i, time: Double(i) / 24, duration: 1.0 / 24, luma: yuv.luma, rgb: packed))
                    }
                }
            }
            var out: [String: [Double?]] = [:]
            for (info, output) in engine.finish() {
                for (k, v) in output.values { out[k] = [v] }
                out[info.name + ".series"] = output.series
            }
            return out
        }
        let packed = run { _ in false }
        XCTAssertNotNil(packed["temporal_flickering"]?.first ?? nil)
        XCTAssertNotNil(packed["colorfulness"]?.first ?? nil)
        for pattern in [{ (_: Int) in true }, { $0 % 2 == 0 }, { $0 >= 3 }] {
            let other = run(pattern)
            XCTAssertEqual(other.keys.sorted(), packed.keys.sorted())
            for k in packed.keys { XCTAssertEqual(other[k].map { $0.map { $0 ?? -1 } }, packed[k].map { $0.map { $0 ?? -1 } }, k) }
        }
    }

    /// The YUV-to-RGB arithmetic (`8·Y − offset`, `8·U − 1024` and its `pmulhw`
    /// products) is written once, in GallopCore's YUVToRGB.swift: the fused
    /// kernel, the reader's libswscale probe and the tests call it.
    func testTheFormulaIsWrittenOnce() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = try XCTUnwrap(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        XCTAssertGreaterThan(files.count, 20)
        var writing: [String] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            if text.contains("&* 8 &- ") || text.contains("YUVToRGB.high(") { writing.append(file.lastPathComponent) }
        }
        XCTAssertEqual(writing.sorted(), ["YUVToRGB.swift"])
    }
}
