import GallopCore
import GallopMetrics
import GallopTestSupport
import XCTest

/// Each kernel against a plain scalar reference, exactly (integer sums).
final class KernelTests: XCTestCase {
    /// Odd sizes and padded strides exercise tails and row offsets.
    let shapes = [(1, 1), (3, 3), (17, 5), (64, 48), (33, 19), (250, 7)]

    /// A view of `p` inside a larger buffer with a padded stride.
    func padded(_ p: PlaneBuffer, pad: Int = 13, _ body: (Plane) -> Void) {
        let stride = p.width * p.channels + pad
        var mem = [UInt8](repeating: 0xAB, count: stride * p.height)
        for y in 0..<p.height { for x in 0..<(p.width * p.channels) { mem[y * stride + x] = p.samples[y * p.width * p.channels + x] } }
        mem.withUnsafeBufferPointer { buf in
            body(Plane(base: buf.baseAddress!, width: p.width, height: p.height, stride: stride, channels: p.channels))
        }
    }

    func testFrameStatsMatchesScalar() {
        for (i, (w, h)) in shapes.enumerated() {
            let p = Planes.random(w, h, seed: UInt64(i))
            padded(p) { view in
                let s = Kernels.frameStats(view, clipLow: 16, clipHigh: 235)
                let v = p.samples.map { Int64($0) }
                XCTAssertEqual(s.sum, v.reduce(0, +))
                XCTAssertEqual(s.sumSquares, v.map { $0 * $0 }.reduce(0, +))
                XCTAssertEqual(s.clippedLow, p.samples.filter { $0 <= 16 }.count)
                XCTAssertEqual(s.clippedHigh, p.samples.filter { $0 >= 235 }.count)
                // Region means: cell (gy, gx) covers rows y*4/h == gy, columns x*... per the kernel's bounds.
                let g = Kernels.regionGrid
                for gy in 0..<g {
                    for gx in 0..<g {
                        var sum = 0, n = 0
                        for y in 0..<h where y * g / h == gy {
                            for x in (gx * w / g)..<((gx + 1) * w / g) { sum += Int(p[x, y]); n += 1 }
                        }
                        XCTAssertEqual(s.regionMeans[gy * g + gx], n > 0 ? Double(sum) / Double(n) : 0, accuracy: 1e-9)
                    }
                }
            }
        }
    }

    func testPairDifferenceMatchesScalar() {
        for (i, (w, h)) in shapes.enumerated() {
            let a = Planes.random(w, h, seed: UInt64(100 + i)), b = Planes.random(w, h, seed: UInt64(200 + i))
            for offset in [0, 7, -3, 255, -255] {
                padded(a) { va in
                    padded(b, pad: 5) { vb in
                        let d = Kernels.pairDifference(va, vb, offset: offset)
                        let diffs = zip(a.samples, b.samples).map { Int64($0) - Int64($1) }
                        XCTAssertEqual(d.sad, diffs.map { abs($0) }.reduce(0, +))
                        XCTAssertEqual(d.centredSAD, diffs.map { abs($0 - Int64(offset)) }.reduce(0, +))
                        var worst = 0.0
                        let bs = Kernels.blockSize
                        for by in stride(from: 0, to: h, by: bs) {
                            for bx in stride(from: 0, to: w, by: bs) {
                                var s = 0, n = 0
                                for y in by..<min(h, by + bs) { for x in bx..<min(w, bx + bs) { s += abs(Int(a[x, y]) - Int(b[x, y])); n += 1 } }
                                worst = max(worst, Double(s) / Double(n))
                            }
                        }
                        XCTAssertEqual(d.maxBlockMAD, worst, accuracy: 1e-12)
                    }
                }
            }
        }
    }

    func testRGBSumAbsoluteDifference() {
        let a = Planes.random(31, 9, seed: 1, channels: 3), b = Planes.random(31, 9, seed: 2, channels: 3)
        padded(a) { va in
            padded(b) { vb in
                XCTAssertEqual(Kernels.sumAbsoluteDifference(va, vb), zip(a.samples, b.samples).map { Int64(abs(Int($0) - Int($1))) }.reduce(0, +))
            }
        }
    }

    func testLaplacianAndImmerkaerMatchScalar() {
        for (i, (w, h)) in shapes.enumerated() where w >= 3 && h >= 3 {
            let p = Planes.random(w, h, seed: UInt64(300 + i))
            padded(p) { view in
                var sum: Int64 = 0, sq: Int64 = 0, noise: Int64 = 0
                for y in 1..<(h - 1) {
                    for x in 1..<(w - 1) {
                        func v(_ dx: Int, _ dy: Int) -> Int64 { Int64(p[x + dx, y + dy]) }
                        let l = v(0, -1) + v(0, 1) + v(-1, 0) + v(1, 0) - 4 * v(0, 0)
                        sum += l; sq += l * l
                        let n = v(-1, -1) + v(1, -1) + v(-1, 1) + v(1, 1) - 2 * (v(0, -1) + v(0, 1) + v(-1, 0) + v(1, 0)) + 4 * v(0, 0)
                        noise += abs(n)
                    }
                }
                let d = Kernels.secondDifferences(view)
                XCTAssertEqual(d.laplacian.sum, sum)
                XCTAssertEqual(d.laplacian.sumSquares, sq)
                XCTAssertEqual(d.count, (w - 2) * (h - 2))
                XCTAssertEqual(d.immerkaerSum, noise)
            }
        }
    }

    /// The chunked UInt32 accumulators must not overflow at the worst case on wide rows.
    func testLaplacianWorstCaseWideRows() {
        let w = 4100, h = 3
        let p = PlaneBuffer(width: w, height: h, samples: (0..<(w * h)).map { i in (i / w == 1 && i % 2 == 0) ? 0 : 255 })
        let l = p.withPlane { Kernels.secondDifferences($0).laplacian }
        var sq: Int64 = 0
        for x in 1..<(w - 1) {
            let c = Int64(p[x, 1]), s = Int64(p[x, 0]) + Int64(p[x, 2]) + Int64(p[x - 1, 1]) + Int64(p[x + 1, 1])
            sq += (s - 4 * c) * (s - 4 * c)
        }
        XCTAssertEqual(l.sumSquares, sq)
    }

    /// Packed RGB and RGB plus a padding byte (the reader's RGB0, read as 32-bit words).
    func testOpponentSumsMatchScalar() {
        for channels in [3, 4] {
        let p = Planes.random(37, 11, seed: 9, channels: channels)
        padded(p) { view in
            let s = Kernels.opponentSums(view)
            var rg: Int64 = 0, rg2: Int64 = 0, yb: Int64 = 0, yb2: Int64 = 0
            for i in 0..<(37 * 11) {
                let px = p.samples[(channels * i)...]
                let r = Int64(px[px.startIndex]), g = Int64(px[px.startIndex + 1]), b = Int64(px[px.startIndex + 2])
                rg += r - g; rg2 += (r - g) * (r - g)
                yb += r + g - 2 * b; yb2 += (r + g - 2 * b) * (r + g - 2 * b)
            }
            XCTAssertEqual(s.rg, rg); XCTAssertEqual(s.rgSquares, rg2)
            XCTAssertEqual(s.yb2, yb); XCTAssertEqual(s.yb2Squares, yb2)
            XCTAssertEqual(s.count, 37 * 11)
        }
        }
    }

    func testPercentileMatchesNumpyLinear() {
        XCTAssertEqual(Series.percentile([1, 2, 3, 4], 95)!, 3.85, accuracy: 1e-12)
        XCTAssertEqual(Series.percentile([5], 95)!, 5)
        XCTAssertEqual(Series.median([3, 1, 2])!, 2)
        XCTAssertNil(Series.mean([]))
    }
}

final class SelectionTests: XCTestCase {
    func testTopMeanMatchesSorting() {
        var rng = TestRNG(seed: 11)
        for n in [1, 2, 19, 20, 21, 1000, 4097] {
            let values = (0..<n).map { _ in Float(rng.next() % 1000) / 7 }
            for fraction in [0.05, 0.5, 1.0] {
                let k = max(1, Int((Double(n) * fraction).rounded()))
                let expected = values.sorted(by: >)[0..<k].reduce(0.0) { $0 + Double($1) } / Double(k)
                XCTAssertEqual(FlowStats.topMean(values, fraction: fraction), expected, accuracy: 1e-9 * max(1, expected))
            }
        }
        // Many ties.
        XCTAssertEqual(FlowStats.topMean([Float](repeating: 3, count: 500), fraction: 0.05), 3)
    }
}
