import GallopCore
import GallopMetrics
import GallopTestSupport
import XCTest

/// `blockiness` against answers worked out by hand from FFmpeg's blockdetect formula, and its kernel against
/// a line-by-line transcription of vf_blockdetect.c's `calculate_blockiness`, bit for bit.
final class BlockinessTests: XCTestCase {
    /// FFmpeg's loops as written: one W × H float buffer whose first row keeps the column sums and whose
    /// first column keeps the row sums, zeroed as `av_calloc` leaves it for the first frame.
    static func ffmpeg(_ p: Plane) -> (profiles: Blockiness.Profiles, value: Float) {
        let w = p.width, h = p.height
        var grad = [Float](repeating: 0, count: w * h)
        func src(_ x: Int, _ y: Int) -> Int32 { Int32(p[x, y]) }
        var j = 1
        while j < h {
            var i = 3
            while i < w - 4 {
                var temp: Float = 0
                grad[j * w + i] = Float(abs(src(i, j) - src(i + 1, j)))
                temp += Float(abs(src(i + 1, j) - src(i + 2, j)))
                temp += Float(abs(src(i + 2, j) - src(i + 3, j)))
                temp += Float(abs(src(i + 3, j) - src(i + 4, j)))
                temp += Float(abs(src(i, j) - src(i - 1, j)))
                temp += Float(abs(src(i - 1, j) - src(i - 2, j)))
                temp += Float(abs(src(i - 2, j) - src(i - 3, j)))
                temp = 1 > temp ? 1 : temp
                grad[j * w + i] /= temp
                grad[i] += grad[j * w + i]
                i += 1
            }
            j += 1
        }
        var ret: Float = 0
        func search(_ count: Int, _ g: (Int) -> Float) {
            for period in 3...24 {
                var block: Float = 0, nonblock: Float = 0, blockCount = 0, nonblockCount = 0
                var i = 3
                while i < count - 4 {
                    if i % period == period - 1 {
                        let m = g(i) > g(i + 1) ? g(i) : g(i + 1)
                        block += m > g(i - 1) ? m : g(i - 1)
                        blockCount += 1
                    } else {
                        nonblock += g(i)
                        nonblockCount += 1
                    }
                    i += 1
                }
                if blockCount > 0 && nonblockCount > 0 {
                    let temp = (block / Float(blockCount)) / (nonblock / Float(nonblockCount))
                    ret = ret > temp ? ret : temp
                }
            }
        }
        search(w) { grad[$0] }
        let columns = (0..<w).map { grad[$0] }
        j = 3
        while j < h - 4 {
            for i in 1..<w {
                var temp: Float = 0
                grad[j * w + i] = Float(abs(src(i, j) - src(i, j + 1)))
                temp += Float(abs(src(i, j + 1) - src(i, j + 2)))
                temp += Float(abs(src(i, j + 2) - src(i, j + 3)))
                temp += Float(abs(src(i, j + 3) - src(i, j + 4)))
                temp += Float(abs(src(i, j) - src(i, j - 1)))
                temp += Float(abs(src(i, j - 1) - src(i, j - 2)))
                temp += Float(abs(src(i, j - 2) - src(i, j - 3)))
                temp = 1 > temp ? 1 : temp
                grad[j * w + i] /= temp
                grad[j * w] += grad[j * w + i]
            }
            j += 1
        }
        search(h) { grad[$0 * w] }
        // Column 0 outside rows 3…H − 5 is never written: the row profile reads 0 there.
        let rows = (0..<h).map { grad[$0 * w] }
        return (Blockiness.Profiles(columns: columns, rows: rows), ret)
    }

    /// f(t) = t + 8⌊t/8⌋: steps of 1, and of 9 from each 8-px block to the next (levels wrap past 255 on
    /// frames over 64 px, for the kernel test).
    static func gridFrame(_ w: Int, _ h: Int) -> PlaneBuffer {
        let f = { (t: Int) in t + 8 * (t / 8) }
        return PlaneBuffer(width: w, height: h, samples: (0..<h).flatMap { y in (0..<w).map { x in UInt8((f(x) + f(y)) & 255) } })
    }

    static func plane(_ w: Int, _ h: Int, _ v: (Int, Int) -> Int) -> PlaneBuffer {
        PlaneBuffer(width: w, height: h, samples: (0..<h).flatMap { y in (0..<w).map { x in UInt8(v(x, y)) } })
    }

    /// A view of `p` with a padded stride (the decoder's planes have one).
    func padded(_ p: PlaneBuffer, pad: Int = 11, _ body: (Plane) -> Void) {
        let stride = p.width + pad
        var mem = [UInt8](repeating: 0xAB, count: stride * p.height)
        for y in 0..<p.height { for x in 0..<p.width { mem[y * stride + x] = p[x, y] } }
        mem.withUnsafeBufferPointer { body(Plane(base: $0.baseAddress!, width: p.width, height: p.height, stride: stride)) }
    }

    func testAnEightPixelStepGridReadsItsWorkedValue() {
        // Per row, the grid columns 8k + 7 read max(1/14, 9/6, 1/14) = 9/6; of the 50 others in 3…59, 8 (8k + 3)
        // read 1/6 and 42 (next to a grid step) read 1/(5 + 9) = 1/14. Period 8: 9/6 ÷ ((8/6 + 42/14)/50) = 225/13,
        // across and (by symmetry) down; no other period beats it. FFmpeg 7.0.2 prints 17.3076916.
        let v = Self.gridFrame(64, 64).withPlane { Blockiness.frame($0) }
        XCTAssertEqual(Double(v), 225.0 / 13, accuracy: 2e-6)
        XCTAssertEqual(String(format: "%.7f", Double(v)), "17.3076916")
    }

    func testARampReadsOneAndNoiseNearOne() {
        // A diagonal ramp: every step 1, every g = 1/6, so every period's ratio is 1 (FFmpeg: 1.0000000).
        XCTAssertEqual(Double(Self.plane(64, 64) { $0 + $1 }.withPlane { Blockiness.frame($0) }), 1, accuracy: 1e-6)
        // Noise has no period: the ratios are 1 but for the grid side's max of three neighbouring column sums,
        // each a sum of H − 1 terms, whose spread shrinks as 1/√H.
        let noise = Planes.random(256, 256, seed: 7).withPlane { Blockiness.frame($0) }
        XCTAssertGreaterThan(noise, 1)
        XCTAssertLessThan(noise, 1.1)
    }

    func testAFrameWithNoStepAlongADirectionIsUndefined() {
        // Flat: 0/0 on every period. A ramp across only: down, every ratio is 0/0 and the last one (NaN) stays.
        // Flat 8-px blocks: the grid steps over no step off the grid, x/0 = ∞.
        let flat = Planes.constant(64, 64, 90), across = Self.plane(64, 64) { x, _ in 2 * x }
        let blocks = Self.plane(64, 64) { x, y in ((x / 8) + (y / 8)) % 2 == 0 ? 60 : 160 }
        XCTAssertTrue(flat.withPlane { Blockiness.frame($0) }.isNaN)
        XCTAssertTrue(across.withPlane { Blockiness.frame($0) }.isNaN)
        XCTAssertEqual(blocks.withPlane { Blockiness.frame($0) }, .infinity)
        let grid = Self.gridFrame(64, 64)
        let r = score([Blockiness.self], luma: [grid, flat, across, blocks, grid])
        let out = r["blockiness"]!.output
        XCTAssertEqual(out.series.map { $0 == nil }, [false, true, true, true, false])
        XCTAssertEqual(value(r, "blockiness")!, Double(grid.withPlane { Blockiness.frame($0) }))
        XCTAssertEqual(out.warnings.count, 1)
        XCTAssertTrue(out.warnings[0].contains("3 of 5 frames"), out.warnings[0])
        let none = score([Blockiness.self], luma: [flat])
        XCTAssertNil(value(none, "blockiness"))
        XCTAssertFalse(none["blockiness"]!.output.warnings.isEmpty)
    }

    func testTheClipIsTheMeanOfItsFrames() {
        let frames = [Self.gridFrame(64, 48), Planes.texture(64, 48, seed: 2), Planes.random(64, 48, seed: 3)]
        let each = frames.map { Double($0.withPlane { Blockiness.frame($0) }) }
        let r = score([Blockiness.self], luma: frames)
        XCTAssertEqual(r["blockiness"]!.output.series.compactMap { $0 }, each)
        XCTAssertEqual(value(r, "blockiness")!, each.reduce(0, +) / 3, accuracy: 1e-12)
        XCTAssertTrue(r["blockiness"]!.output.warnings.isEmpty)
    }

    /// The kernel equals FFmpeg's loops exactly: the same Float operations in the same order, on odd sizes
    /// (the eight-row bands' tails), tiny frames (no ratio: 0) and padded strides.
    func testTheKernelIsFFmpegsLoopsBitForBit() {
        let shapes = [(64, 64), (67, 45), (33, 19), (250, 13), (16, 16), (9, 9), (7, 30), (30, 7), (1, 1), (200, 120)]
        for (i, (w, h)) in shapes.enumerated() {
            for p in [Planes.random(w, h, seed: UInt64(i)), Planes.texture(w, h, seed: Double(i)), Self.gridFrame(w, h)] {
                padded(p) { view in
                    let reference = Self.ffmpeg(view)
                    let profiles = Blockiness.profiles(view)
                    XCTAssertEqual(profiles, reference.profiles, "\(w)x\(h)")
                    let v = Blockiness.value(profiles)
                    XCTAssertEqual(v.bitPattern, reference.value.bitPattern, "\(w)x\(h): \(v) against \(reference.value)")
                }
            }
        }
    }
}
