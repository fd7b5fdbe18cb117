import GallopCore

/// The pixel loops every metric shares, in one place.
///
/// Patterns that vectorise well in Swift (timed on 1280×720 planes, AVX2,
/// `-Ounchecked`; every kernel is checked exactly against a scalar reference
/// in `KernelTests`):
/// - plain `for x in 0..<n` loops over `UnsafePointer<UInt8>` rows, widening
///   first (`Int16` when the value fits, else `Int32`), wrapping arithmetic
///   (`&+`), a per-row integer accumulator folded into an `Int64` once per row;
/// - absolute values as `(d ^ m) &- m` with `m = d >> 15`, counts as
///   `c &-= (v &- t) >> 31`: a ternary `v <= t ? 1 : 0` in the loop stops the
///   vectoriser (frame statistics went from 1.6 ms to 0.15 ms);
/// - block sums through a column accumulator (`col[x] &+= |d|` for 16 rows,
///   then 16-column sums), not a nested 16-wide loop (0.35 ms to 0.15 ms);
///   any per-pixel sum that fits 16 bits over a band goes the same way
///   (the centred pair sum: 0.20 ms to 0.10 ms);
/// - packed RGB with a padding byte (RGB0) read one `UInt32` a pixel and split
///   with shifts and masks: 32-bit lanes, no three-byte deinterleave (0.28 ms
///   to 0.13 ms);
/// - sums that telescope need no pass at all (ΣL of the Laplacian is a
///   border sum);
/// - hand-written `SIMD16<Int16>` code was no faster than these loops, and
///   `SIMD32<UInt8>` `pointwiseMin/Max` or bit casts are 50-90× slower;
/// - accumulators sized so a row (up to 8192 samples) cannot overflow.
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

        public init(count: Int, sum: Int64, sumSquares: Int64, clippedLow: Int, clippedHigh: Int, regionMeans: [Double]) {
            self.count = count
            self.sum = sum
            self.sumSquares = sumSquares
            self.clippedLow = clippedLow
            self.clippedHigh = clippedHigh
            self.regionMeans = regionMeans
        }

        public var mean: Double { Double(sum) / Double(count) }
        public var variance: Double { max(0, Double(sumSquares) / Double(count) - mean * mean) }
    }

    /// Default cells per side of the regional grid (`flicker_index.grid`).
    public static let regionGrid = 4

    /// Sum, sum of squares, clipped counts and regional means (a grid × grid
    /// grid) of a one-channel plane.
    public static func frameStats(_ p: Plane, clipLow: UInt8, clipHigh: UInt8, grid: Int = regionGrid) -> FrameStats {
        let g = grid
        var regionSums = [Int64](repeating: 0, count: g * g)
        var regionCounts = [Int](repeating: 0, count: g * g)
        var sum: Int64 = 0, sumSq: Int64 = 0
        var low = 0, high = 0
        let w = p.rowLength
        // Column bounds of the grid cells.
        let xs = (0...g).map { $0 * w / g }
        // v <= low  ⇔  (v − (low + 1)) < 0;  v >= high  ⇔  (high − 1 − v) < 0.
        let lowBound = Int32(clipLow) + 1, highBound = Int32(clipHigh) - 1
        for y in 0..<p.height {
            let row = p.row(y)
            let gy = y * g / p.height
            var rowSq: Int32 = 0
            var rowLow: Int32 = 0, rowHigh: Int32 = 0
            for cell in 0..<g {
                var cellSum: Int32 = 0
                for x in xs[cell]..<xs[cell + 1] {
                    let v = Int32(row[x])
                    cellSum &+= v
                    rowSq &+= v &* v
                    rowLow &-= (v &- lowBound) >> 31
                    rowHigh &-= (highBound &- v) >> 31
                }
                regionSums[gy * g + cell] += Int64(cellSum)
                regionCounts[gy * g + cell] += xs[cell + 1] - xs[cell]
                sum += Int64(cellSum)
            }
            sumSq += Int64(UInt32(bitPattern: rowSq))
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

        public init(count: Int, sad: Int64, centredSAD: Int64, maxBlockMAD: Double) {
            self.count = count
            self.sad = sad
            self.centredSAD = centredSAD
            self.maxBlockMAD = maxBlockMAD
        }

        public var mad: Double { Double(sad) / Double(count) }
        public var centredMAD: Double { Double(centredSAD) / Double(count) }
    }

    public static let blockSize = 16

    /// Σ|a − b|, Σ|a − b − offset| and the worst block's MAD in one pass.
    /// `offset` is the expected mean of a − b (pass 0 when unknown), within
    /// ±255 as a difference of 8-bit means is. With no offset (most pairs: the
    /// means differ by under half a level) the centred sum is the plain one,
    /// and the loop skips it.
    public static func pairDifference(_ a: Plane, _ b: Plane, offset: Int = 0) -> PairDifference {
        precondition(abs(offset) <= 255, "an offset between 8-bit planes lies within ±255")
        return offset == 0 ? pairDifference(a, b, offset: 0, centred: false) : pairDifference(a, b, offset: offset, centred: true)
    }

    @inline(__always)
    private static func pairDifference(_ a: Plane, _ b: Plane, offset: Int, centred withOffset: Bool) -> PairDifference {
        requireSameShape(a, b)
        let w = a.rowLength
        let bs = blockSize * a.channels
        // Per-column |a − b| and |a − b − δ| over the current band of 16 rows
        // (≤ 16 × 510: fits UInt16), summed when the band is complete.
        var columns = [UInt16](repeating: 0, count: 2 * w)
        var sad: Int64 = 0, centred: Int64 = 0
        var worst = 0.0
        let off = Int16(clamping: offset)
        var rowsInBand = 0
        columns.withUnsafeMutableBufferPointer { buffer in
            let col = buffer.baseAddress!, centredCol = col + w
            for y in 0..<a.height {
                let ra = a.row(y), rb = b.row(y)
                if withOffset {
                    for x in 0..<w {
                        let d = Int16(ra[x]) &- Int16(rb[x])
                        let m = d >> 15
                        col[x] &+= UInt16(bitPattern: (d ^ m) &- m)
                        let e = d &- off
                        let me = e >> 15
                        centredCol[x] &+= UInt16(bitPattern: (e ^ me) &- me)
                    }
                } else {
                    for x in 0..<w {
                        let d = Int16(ra[x]) &- Int16(rb[x])
                        let m = d >> 15
                        col[x] &+= UInt16(bitPattern: (d ^ m) &- m)
                    }
                }
                rowsInBand += 1
                if rowsInBand == blockSize || y == a.height - 1 {
                    var start = 0
                    while start < w {
                        let end = min(w, start + bs)
                        var s: UInt32 = 0
                        for x in start..<end { s &+= UInt32(col[x]) }
                        let mad = Double(s) / Double((end - start) * rowsInBand)
                        if mad > worst { worst = mad }
                        sad += Int64(s)
                        start = end
                    }
                    if withOffset {
                        var c: UInt32 = 0
                        for x in 0..<w { c &+= UInt32(centredCol[x]) }
                        centred += Int64(c)
                        centredCol.update(repeating: 0, count: w)
                    }
                    col.update(repeating: 0, count: w)
                    rowsInBand = 0
                }
            }
        }
        return PairDifference(count: w * a.height, sad: sad, centredSAD: withOffset ? centred : sad, maxBlockMAD: worst)
    }

    /// Pair kernels compare planes of one shape.
    @inline(__always) static func requireSameShape(_ a: Plane, _ b: Plane) {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels, "planes differ in shape")
    }

    /// Σ|a − b| alone, for any number of interleaved channels (on the
    /// reader's RGB0 the padding bytes are equal and add nothing).
    public static func sumAbsoluteDifference(_ a: Plane, _ b: Plane) -> Int64 {
        requireSameShape(a, b)
        let w = a.rowLength
        var total: Int64 = 0
        for y in 0..<a.height {
            let ra = a.row(y), rb = b.row(y)
            var s: Int32 = 0
            for x in 0..<w { s &+= abs(Int32(ra[x]) &- Int32(rb[x])) }
            total += Int64(s)
        }
        return total
    }

    /// Σ (a − b)² over two planes of the same shape (for `psnr`).
    public static func sumSquaredError(_ a: Plane, _ b: Plane) -> Int64 {
        requireSameShape(a, b)
        let w = a.rowLength
        var total: Int64 = 0
        for y in 0..<a.height {
            let ra = a.row(y), rb = b.row(y)
            var chunk = 0
            while chunk < w {
                // ≤ 65536 samples per chunk: 65536 × 255² fits in UInt32.
                let end = min(w, chunk + 65536)
                var s: UInt32 = 0
                for x in chunk..<end {
                    let d = Int32(ra[x]) &- Int32(rb[x])
                    s &+= UInt32(bitPattern: d &* d)
                }
                total += Int64(s)
                chunk = end
            }
        }
        return total
    }

    /// Sums of the 3×3 Laplacian [0 1 0; 1 −4 1; 0 1 0] over interior pixels.
    public struct LaplacianSums: Sendable, Equatable {
        public var count: Int
        public var sum: Int64
        public var sumSquares: Int64

        public init(count: Int, sum: Int64, sumSquares: Int64) {
            self.count = count
            self.sum = sum
            self.sumSquares = sumSquares
        }

        public var variance: Double {
            guard count > 0 else { return 0 }
            let m = Double(sum) / Double(count)
            return max(0, Double(sumSquares) / Double(count) - m * m)
        }
    }

    /// The two second-difference filters of the luma, from one pass over interior pixels.
    public struct SecondDifferences: Sendable, Equatable {
        /// The Laplacian [0 1 0; 1 −4 1; 0 1 0] (for `sharpness`).
        public var laplacian: LaplacianSums
        /// Σ|I ∗ N| with Immerkær's N = [1 −2 1; −2 4 −2; 1 −2 1] (for `noise_sigma`).
        public var immerkaerSum: Int64
        public init(laplacian: LaplacianSums, immerkaerSum: Int64) {
            self.laplacian = laplacian
            self.immerkaerSum = immerkaerSum
        }

        /// Interior pixels, (W − 2)(H − 2).
        public var count: Int { laplacian.count }
    }

    /// Both filters share the horizontal second difference h = I(x−1) − 2I(x) + I(x+1):
    /// the Laplacian is h + the vertical second difference, and Immerkær's N is
    /// separable, N = h(y−1) − 2h(y) + h(y+1). Three rows of h are kept and reused.
    /// ΣL needs no pass of its own: a sum of second differences telescopes to
    /// the border, Σₓ h = (I(W−1) − I(W−2)) − (I(1) − I(0)) per row, and the
    /// same down each column (13% of the kernel's time).
    public static func secondDifferences(_ p: Plane) -> SecondDifferences {
        precondition(p.channels == 1)
        let w = p.width, h = p.height
        guard w >= 3, h >= 3 else {
            return SecondDifferences(laplacian: LaplacianSums(count: 0, sum: 0, sumSquares: 0), immerkaerSum: 0)
        }
        var rows = [Int16](repeating: 0, count: 3 * w)
        var lsum: Int64 = 0, lsq: Int64 = 0, nsum: Int64 = 0
        rows.withUnsafeMutableBufferPointer { buffer in
            var hPrev = buffer.baseAddress!, hCur = hPrev + w, hNext = hCur + w
            func horizontal(_ r: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<Int16>) {
                for x in 1..<(w - 1) { out[x] = Int16(r[x - 1]) &+ Int16(r[x + 1]) &- (Int16(r[x]) &<< 1) }
            }
            horizontal(p.row(0), hPrev)
            horizontal(p.row(1), hCur)
            for y in 1..<(h - 1) {
                let up = p.row(y - 1), mid = p.row(y), dn = p.row(y + 1)
                horizontal(dn, hNext)
                var chunk = 1
                while chunk < w - 1 {
                    // ≤ 2048 samples per chunk: 2048 × 1020² fits in UInt32.
                    let end = min(w - 1, chunk + 2048)
                    var n: Int32 = 0
                    var sq: UInt32 = 0
                    for x in chunk..<end {
                        // |L| ≤ 4 × 255 and |N| ≤ 16 × 255: Int16 arithmetic is exact.
                        let l = hCur[x] &+ Int16(up[x]) &+ Int16(dn[x]) &- (Int16(mid[x]) &<< 1)
                        sq &+= UInt32(bitPattern: Int32(l) &* Int32(l))
                        let v = hPrev[x] &+ hNext[x] &- (hCur[x] &<< 1)
                        let m = v >> 15
                        n &+= Int32((v ^ m) &- m)
                    }
                    lsq += Int64(sq)
                    nsum += Int64(n)
                    chunk = end
                }
                (hPrev, hCur, hNext) = (hCur, hNext, hPrev)
            }
        }
        // ΣL over the interior, from the border (see above).
        for y in 1..<(h - 1) {
            let r = p.row(y)
            lsum += Int64(r[w - 1]) - Int64(r[w - 2]) - Int64(r[1]) + Int64(r[0])
        }
        let top = p.row(0), top1 = p.row(1), bottom = p.row(h - 1), bottom1 = p.row(h - 2)
        for x in 1..<(w - 1) {
            lsum += Int64(bottom[x]) - Int64(bottom1[x]) - Int64(top1[x]) + Int64(top[x])
        }
        return SecondDifferences(laplacian: LaplacianSums(count: (w - 2) * (h - 2), sum: lsum, sumSquares: lsq), immerkaerSum: nsum)
    }

    /// Sums of the opponent colour channels rg = R − G and yb2 = R + G − 2B
    /// (twice Hasler–Süsstrunk's yb, kept integer) over a packed RGB plane.
    public struct OpponentSums: Sendable, Equatable {
        public var count: Int
        public var rg: Int64, rgSquares: Int64
        public var yb2: Int64, yb2Squares: Int64

        public init(count: Int, rg: Int64, rgSquares: Int64, yb2: Int64, yb2Squares: Int64) {
            self.count = count
            self.rg = rg
            self.rgSquares = rgSquares
            self.yb2 = yb2
            self.yb2Squares = yb2Squares
        }

        /// Sums over two disjoint parts of an image add.
        public mutating func add(_ o: OpponentSums) {
            count += o.count
            rg += o.rg; rgSquares += o.rgSquares
            yb2 += o.yb2; yb2Squares += o.yb2Squares
        }
    }

    /// Over packed RGB (3 channels) or RGB plus a padding byte (4 channels, the
    /// reader's RGB0). Four-byte pixels are read as one `UInt32` and split with
    /// shifts and masks, which vectorises in 32-bit lanes: 0.13 ms on a 720p
    /// frame against 0.28 ms for the three-byte stride.
    public static func opponentSums(_ p: Plane) -> OpponentSums {
        precondition(p.channels == 3 || p.channels == 4, "opponentSums needs packed RGB")
        var out = OpponentSums(count: p.width * p.height, rg: 0, rgSquares: 0, yb2: 0, yb2Squares: 0)
        for y in 0..<p.height {
            let r = p.row(y)
            var rg: Int32 = 0, yb: Int32 = 0
            var rgSq: Int64 = 0, ybSq: Int64 = 0
            var chunk = 0
            while chunk < p.width {
                // ≤ 4096 pixels per chunk: 4096 × 510² fits in UInt32.
                let end = min(p.width, chunk + 4096)
                var cs: UInt32 = 0, cy: UInt32 = 0
                // One loop body for both layouts; `pixel` is inlined into each.
                @inline(__always) func accumulate(_ pixel: (Int) -> (Int32, Int32, Int32)) {
                    for x in chunk..<end {
                        let (red, green, blue) = pixel(x)
                        let a = red &- green
                        let b = red &+ green &- (blue &<< 1)
                        rg &+= a
                        yb &+= b
                        cs &+= UInt32(bitPattern: a &* a)
                        cy &+= UInt32(bitPattern: b &* b)
                    }
                }
                if p.channels == 4 {
                    let raw = UnsafeRawPointer(r)
                    accumulate { x in
                        let px = raw.loadUnaligned(fromByteOffset: 4 * x, as: UInt32.self).littleEndian
                        return (Int32(px & 0xff), Int32((px >> 8) & 0xff), Int32((px >> 16) & 0xff))
                    }
                } else {
                    accumulate { x in (Int32(r[3 * x]), Int32(r[3 * x + 1]), Int32(r[3 * x + 2])) }
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
    /// Long series of finite values select the two order statistics in
    /// linear time instead of sorting (the same numbers: camera_motion takes
    /// a median of 9216 residuals a frame).
    public static func percentile(_ v: [Double], _ q: Double) -> Double? {
        guard !v.isEmpty else { return nil }
        let pos = q / 100 * Double(v.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(v.count - 1, lo + 1)
        if v.count >= 256, v.allSatisfy({ $0.isFinite }) {
            var a = v
            let low = select(&a, lo), high = hi == lo ? low : select(&a, hi, from: lo + 1)
            return low + (high - low) * (pos - Double(lo))
        }
        let s = v.sorted()
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }

    /// The k-th smallest value (0-based) of `a`, which is reordered so that
    /// a[k] holds it and a[k...] only values at least as large; `from`: a
    /// lower bound on k already established by an earlier call (a[..<from]
    /// holds values no larger than a[from...]).
    static func select(_ a: inout [Double], _ k: Int, from: Int = 0) -> Double {
        var lo = from, hi = a.count - 1
        var rng = SplitMix64(seed: 0x5DEECE66D)
        while lo < hi {
            let pivot = a[lo + Int(rng.next() % UInt64(hi - lo + 1))]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { break }
        }
        return a[k]
    }

    public static func median(_ v: [Double]) -> Double? { percentile(v, 50) }
}
