import GallopCore

/// The pixel loops every metric shares, in one place.
///
/// Patterns that vectorise well in Swift (measured by `scripts/bench` and
/// checked against scalar references in `KernelTests`):
/// - plain `for x in 0..<n` loops over `UnsafePointer<UInt8>` rows, widening to
///   `Int32` before arithmetic, accumulating into a per-row integer and
///   folding into an `Int64` total once per row;
/// - no `SIMD32<UInt8>` `pointwiseMin/Max` or bit casts (50-90× slower here);
/// - integer accumulators sized so a row cannot overflow (rows up to 8192 samples).
public enum Kernels {
    /// Per-frame luma statistics from one pass over the plane.
    public struct FrameStats: Sendable, Equatable {
        public var count: Int
        public var sum: Int64
        public var sumSquares: Int64
        /// Samples at or below the low clip level, and at or above the high one.
        public var clippedLow: Int
        public var clippedHigh: Int
        /// Mean luma of each cell of a `grid × grid` partition, row-major.
        public var regionMeans: [Double]

        public var mean: Double { Double(sum) / Double(count) }
        public var variance: Double { max(0, Double(sumSquares) / Double(count) - mean * mean) }
    }

    public static let regionGrid = 4

    /// Sum, sum of squares, clipped counts and regional means of a one-channel plane.
    public static func frameStats(_ p: Plane, clipLow: UInt8, clipHigh: UInt8) -> FrameStats {
        let g = regionGrid
        var regionSums = [Int64](repeating: 0, count: g * g)
        var regionCounts = [Int](repeating: 0, count: g * g)
        var sum: Int64 = 0, sumSq: Int64 = 0
        var low = 0, high = 0
        let w = p.rowLength
        // Column bounds of the grid cells.
        let xs = (0...g).map { $0 * w / g }
        let lo = Int32(clipLow), hi = Int32(clipHigh)
        for y in 0..<p.height {
            let row = p.row(y)
            let gy = y * g / p.height
            var rowSq: UInt32 = 0
            var rowLow: Int32 = 0, rowHigh: Int32 = 0
            for cell in 0..<g {
                var cellSum: Int32 = 0
                for x in xs[cell]..<xs[cell + 1] {
                    let v = Int32(row[x])
                    cellSum &+= v
                    rowSq &+= UInt32(v * v)
                    rowLow &+= v <= lo ? 1 : 0
                    rowHigh &+= v >= hi ? 1 : 0
                }
                regionSums[gy * g + cell] += Int64(cellSum)
                regionCounts[gy * g + cell] += xs[cell + 1] - xs[cell]
                sum += Int64(cellSum)
            }
            sumSq += Int64(rowSq)
            low += Int(rowLow)
            high += Int(rowHigh)
        }
        let means = zip(regionSums, regionCounts).map { $1 > 0 ? Double($0) / Double($1) : 0 }
        return FrameStats(count: w * p.height, sum: sum, sumSquares: sumSq, clippedLow: low, clippedHigh: high, regionMeans: means)
    }

    /// Differences between two planes of the same shape.
    public struct PairDifference: Sendable, Equatable {
        public var count: Int
        /// Σ|a − b| over every sample.
        public var sad: Int64
        /// Σ|a − b − δ| with δ the rounded difference of the planes' means:
        /// content change with a uniform brightness step removed.
        public var centredSAD: Int64
        /// The largest mean absolute difference of any `blockSize`² block.
        public var maxBlockMAD: Double

        public var mad: Double { Double(sad) / Double(count) }
        public var centredMAD: Double { Double(centredSAD) / Double(count) }
    }

    public static let blockSize = 16

    /// Σ|a − b|, Σ|a − b − offset| and the worst block's MAD in one pass.
    /// `offset` is the expected mean of a − b (pass 0 when unknown).
    public static func pairDifference(_ a: Plane, _ b: Plane, offset: Int = 0) -> PairDifference {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels, "planes differ in shape")
        let w = a.rowLength
        let bs = blockSize * a.channels
        let blocks = (w + bs - 1) / bs
        var blockSums = [Int32](repeating: 0, count: blocks)
        var sad: Int64 = 0, centred: Int64 = 0
        var worst = 0.0
        let off = Int32(offset)
        var rowsInBand = 0
        blockSums.withUnsafeMutableBufferPointer { acc in
            for y in 0..<a.height {
                let ra = a.row(y), rb = b.row(y)
                var rowCentred: Int32 = 0
                for bx in 0..<blocks {
                    let start = bx * bs, end = min(w, start + bs)
                    var s: Int32 = 0
                    for x in start..<end {
                        let d = Int32(ra[x]) - Int32(rb[x])
                        s &+= abs(d)
                        rowCentred &+= abs(d - off)
                    }
                    acc[bx] &+= s
                }
                centred += Int64(rowCentred)
                rowsInBand += 1
                if rowsInBand == blockSize || y == a.height - 1 {
                    for bx in 0..<blocks {
                        let cols = min(w, (bx + 1) * bs) - bx * bs
                        let mad = Double(acc[bx]) / Double(cols * rowsInBand)
                        if mad > worst { worst = mad }
                        sad += Int64(acc[bx])
                        acc[bx] = 0
                    }
                    rowsInBand = 0
                }
            }
        }
        return PairDifference(count: w * a.height, sad: sad, centredSAD: centred, maxBlockMAD: worst)
    }

    /// Σ|a − b| alone, for any number of interleaved channels.
    public static func sumAbsoluteDifference(_ a: Plane, _ b: Plane) -> Int64 {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels, "planes differ in shape")
        let w = a.rowLength
        var total: Int64 = 0
        for y in 0..<a.height {
            let ra = a.row(y), rb = b.row(y)
            var s: Int32 = 0
            for x in 0..<w { s &+= abs(Int32(ra[x]) - Int32(rb[x])) }
            total += Int64(s)
        }
        return total
    }

    /// Sums of the 3×3 Laplacian [0 1 0; 1 −4 1; 0 1 0] over interior pixels.
    public struct LaplacianSums: Sendable, Equatable {
        public var count: Int
        public var sum: Int64
        public var sumSquares: Int64
        public var variance: Double {
            guard count > 0 else { return 0 }
            let m = Double(sum) / Double(count)
            return max(0, Double(sumSquares) / Double(count) - m * m)
        }
    }

    public static func laplacian(_ p: Plane) -> LaplacianSums {
        precondition(p.channels == 1)
        guard p.width >= 3, p.height >= 3 else { return LaplacianSums(count: 0, sum: 0, sumSquares: 0) }
        var sum: Int64 = 0, sumSq: Int64 = 0
        let w = p.width
        for y in 1..<(p.height - 1) {
            let up = p.row(y - 1), mid = p.row(y), dn = p.row(y + 1)
            var chunkStart = 1
            while chunkStart < w - 1 {
                // ≤ 2048 samples per chunk: 2048 × 1020² fits in UInt32.
                let chunkEnd = min(w - 1, chunkStart + 2048)
                var s: Int32 = 0
                var sq: UInt32 = 0
                for x in chunkStart..<chunkEnd {
                    let l = Int32(up[x]) + Int32(dn[x]) + Int32(mid[x - 1]) + Int32(mid[x + 1]) - 4 * Int32(mid[x])
                    s &+= l
                    sq &+= UInt32(bitPattern: l * l)
                }
                sum += Int64(s)
                sumSq += Int64(sq)
                chunkStart = chunkEnd
            }
        }
        return LaplacianSums(count: (w - 2) * (p.height - 2), sum: sum, sumSquares: sumSq)
    }

    /// Σ|I ∗ N| over interior pixels, N = [1 −2 1; −2 4 −2; 1 −2 1] (Immerkær 1996).
    public static func immerkaerSum(_ p: Plane) -> (sum: Int64, count: Int) {
        precondition(p.channels == 1)
        guard p.width >= 3, p.height >= 3 else { return (0, 0) }
        var total: Int64 = 0
        let w = p.width
        for y in 1..<(p.height - 1) {
            let up = p.row(y - 1), mid = p.row(y), dn = p.row(y + 1)
            var s: Int32 = 0
            for x in 1..<(w - 1) {
                let corners = Int32(up[x - 1]) + Int32(up[x + 1]) + Int32(dn[x - 1]) + Int32(dn[x + 1])
                let edges = Int32(up[x]) + Int32(dn[x]) + Int32(mid[x - 1]) + Int32(mid[x + 1])
                s &+= abs(corners - 2 * edges + 4 * Int32(mid[x]))
            }
            total += Int64(s)
        }
        return (total, (w - 2) * (p.height - 2))
    }

    /// Sums of the opponent colour channels rg = R − G and yb2 = R + G − 2B
    /// (twice Hasler–Süsstrunk's yb, kept integer) over a packed RGB plane.
    public struct OpponentSums: Sendable, Equatable {
        public var count: Int
        public var rg: Int64, rgSquares: Int64
        public var yb2: Int64, yb2Squares: Int64
    }

    public static func opponentSums(_ p: Plane) -> OpponentSums {
        precondition(p.channels == 3)
        var out = OpponentSums(count: p.width * p.height, rg: 0, rgSquares: 0, yb2: 0, yb2Squares: 0)
        for y in 0..<p.height {
            let r = p.row(y)
            var rg: Int32 = 0, yb: Int32 = 0
            var rgSq: Int64 = 0, ybSq: Int64 = 0
            var chunk = 0
            while chunk < p.width {
                let end = min(p.width, chunk + 4096)
                var cs: UInt32 = 0, cy: UInt32 = 0
                for x in chunk..<end {
                    let red = Int32(r[3 * x]), green = Int32(r[3 * x + 1]), blue = Int32(r[3 * x + 2])
                    let a = red - green
                    let b = red + green - 2 * blue
                    rg &+= a
                    yb &+= b
                    cs &+= UInt32(bitPattern: a * a)
                    cy &+= UInt32(bitPattern: b * b)
                }
                rgSq += Int64(cs)
                ybSq += Int64(cy)
                chunk = end
            }
            out.rg += Int64(rg)
            out.yb2 += Int64(yb)
            out.rgSquares += rgSq
            out.yb2Squares += ybSq
        }
        return out
    }
}

/// Small statistics over per-frame series, shared by the metrics.
public enum Series {
    public static func mean(_ v: [Double]) -> Double? {
        v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
    }

    /// Linear-interpolated percentile (numpy's default), q in 0...100.
    public static func percentile(_ v: [Double], _ q: Double) -> Double? {
        guard !v.isEmpty else { return nil }
        let s = v.sorted()
        let pos = q / 100 * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(s.count - 1, lo + 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }

    public static func median(_ v: [Double]) -> Double? { percentile(v, 50) }
}
