import GallopCore

/// `blockiness`: FFmpeg's `blockdetect` (libavfilter/vf_blockdetect.c, FFmpeg
/// 5.1+; Muijs and Kirenko 2005, "A no-reference blocking artifact measure for
/// adaptive video processing", EUSIPCO) on the stored luma plane, with the
/// filter's defaults: periods 3…24, the luma plane only. It reads the block
/// grids of heavy compression and of VAE or patch decoders.
///
/// Per frame, across: each luma step d(x) = |Y(x) − Y(x + 1)| of a row y ≥ 1,
/// 3 ≤ x < W − 4, over the six steps around it, g = d(x) / max(1, d(x − 3) +
/// … + d(x − 1) + d(x + 1) + … + d(x + 3)), summed down the rows into a
/// column profile G(x). For each period p: the mean of max(G(x − 1), G(x),
/// G(x + 1)) over the columns with x mod p = p − 1 (the grid's edges), over
/// the mean of G over the other columns. Down: the same with steps between
/// rows, rows 3 ≤ y < H − 4, summed along each row over 1 ≤ x < W. The
/// frame's value is the largest of these ratios: about 1 with no grid, above
/// 1 when steps line up on a period. Clip: mean over frames. Lower is better.
///
/// Exact: every sum is in `Float` in FFmpeg's order (each column down the
/// rows, each row left to right, each period's sums left to right), and the
/// maximum is FFmpeg's `a > b ? a : b`, so a frame reads bit for bit what
/// blockdetect reads on that frame alone. A direction with no step at all
/// gives 0/0 and one with steps only on a period's grid x/0; FFmpeg prints
/// those frames as nan or inf. Here such a frame (flat, one-directional, or a
/// grid of flat blocks) is undefined: null in the series, out of the mean,
/// with a warning. FFmpeg 7.0.2's filter never clears its profiles between
/// frames, so its frame n pools frames 0…n; each frame here is read alone
/// (equal to FFmpeg on the first frame, and on each frame given alone).
///
/// Ground truth (`BlockinessTests`): the 64 × 64 frame Y = f(x) + f(y), f(t) =
/// t + 8⌊t/8⌋ (steps of 1, and 9 on an 8-px grid) reads 225/13 at period 8:
/// its grid columns read 9/6 a row, the 50 others 1/6 (8 of them) or 1/14
/// (42), so 9/6 over (8/6 + 3)/50. A diagonal ramp reads 1. Series: per-frame
/// value.
public final class Blockiness: Metric {
    public static let info = MetricInfo(
        name: "blockiness", summary: "FFmpeg blockdetect: block-grid strength of the luma", direction: .lower,
        needs: [], temporal: false, resolution: .native,
        about: "FFmpeg `blockdetect` on the stored luma (periods 3–24): luma steps on a block grid over those off it, ≈1 with no grid",
        checkedAgainst: "FFmpeg 7.0.2 `blockdetect` per frame, bit for bit; an 8-px step grid: 225/13",
        spatial: true, byDefault: false)

    /// FFmpeg's periods: `period_min` and `period_max` at their defaults.
    public static let periods = 3...24

    private var series: [Double?] = []
    private var values: [Double] = []
    private var profiles = Profiles()

    public init() {}

    public func consume(_ c: FrameContext) {
        Blockiness.profiles(c.frame.luma, into: &profiles)
        let v = Blockiness.value(profiles)
        if v.isFinite {
            series.append(Double(v))
            values.append(Double(v))
        } else {
            series.append(nil)
        }
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        var warnings: [String] = []
        let undefined = series.count - values.count
        if series.isEmpty {
            warnings.append("\(Self.info.name): no frame to measure")
        } else if undefined > 0 {
            warnings.append("\(Self.info.name): \(undefined) of \(series.count) frames have no luma step along a direction, or none off a grid (flat or one-directional frames); they are left out")
        }
        return MetricOutput(values: [(Self.info.name, Series.mean(values))], series: series, warnings: warnings)
    }

    /// FFmpeg's two profiles of one frame: `columns[x]`, ΣG down the rows (filled for 3 ≤ x < W − 4), and
    /// `rows[y]`, ΣG along the row (3 ≤ y < H − 4); every other entry 0, as FFmpeg's zeroed buffer.
    public struct Profiles: Equatable, Sendable {
        public var columns: [Float] = []
        public var rows: [Float] = []
        public init() {}
        public init(columns: [Float], rows: [Float]) {
            self.columns = columns
            self.rows = rows
        }
    }

    /// The profiles of a luma plane (one channel). Each step |Y(a) − Y(b)| is taken once, into a row of steps
    /// (across) or a ring of step rows with their running seven-row sum (down), and every g is then a few
    /// integer additions and one Float division, vectorised over x. Across, each column's sum is kept in row
    /// order. Down, each row's sum is a chain of W − 1 additions that must stay in order: eight rows' g are
    /// made first, then summed as eight interleaved chains.
    public static func profiles(_ p: Plane, into out: inout Profiles) {
        precondition(p.channels == 1, "blockiness reads one luma plane")
        let w = p.width, h = p.height
        out.columns = [Float](repeating: 0, count: w)
        out.rows = [Float](repeating: 0, count: h)
        if w - 4 > 3 && h > 1 {
            var steps = [Int32](repeating: 0, count: w)
            out.columns.withUnsafeMutableBufferPointer { col in
                steps.withUnsafeMutableBufferPointer { d in
                    for y in 1..<h {
                        let r = p.row(y)
                        for k in 0..<(w - 1) {
                            let v = Int32(r[k]) &- Int32(r[k + 1])
                            let m = v >> 31
                            d[k] = (v ^ m) &- m
                        }
                        for x in 3..<(w - 4) {
                            let around = (d[x + 1] &+ d[x + 2] &+ d[x + 3]) &+ (d[x - 1] &+ d[x - 2] &+ d[x - 3])
                            col[x] += Float(d[x]) / Float(max(1, around))
                        }
                    }
                }
            }
        }
        guard h - 4 > 3 && w > 1 else { return }
        // ring[k % 8]: the steps between rows k and k + 1; window: their sum over the seven around the row.
        let band = 8
        var ring = [Int32](repeating: 0, count: 8 * w), window = [Int32](repeating: 0, count: w)
        var gs = [Float](repeating: 0, count: band * w)
        out.rows.withUnsafeMutableBufferPointer { rowSums in
            ring.withUnsafeMutableBufferPointer { ring in
                window.withUnsafeMutableBufferPointer { window in
                    gs.withUnsafeMutableBufferPointer { g in
                        func fill(_ k: Int) {
                            let a = p.row(k), b = p.row(k + 1), s = ring.baseAddress! + (k % 8) * w
                            for x in 1..<w {
                                let v = Int32(a[x]) &- Int32(b[x])
                                let m = v >> 31
                                s[x] = (v ^ m) &- m
                                window[x] &+= s[x]
                            }
                        }
                        for k in 0..<6 { fill(k) }
                        var y0 = 3
                        while y0 < h - 4 {
                            let n = min(band, h - 4 - y0)
                            for k in 0..<n {
                                let y = y0 + k
                                fill(y + 3)
                                let centre = ring.baseAddress! + (y % 8) * w, oldest = ring.baseAddress! + ((y - 3) % 8) * w
                                let dst = g.baseAddress! + k * w
                                for x in 1..<w {
                                    dst[x] = Float(centre[x]) / Float(max(1, window[x] &- centre[x]))
                                    window[x] &-= oldest[x]
                                }
                            }
                            if n == band {
                                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                                var s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
                                let b = g.baseAddress!
                                for x in 1..<w {
                                    s0 += b[x]; s1 += b[w + x]; s2 += b[2 * w + x]; s3 += b[3 * w + x]
                                    s4 += b[4 * w + x]; s5 += b[5 * w + x]; s6 += b[6 * w + x]; s7 += b[7 * w + x]
                                }
                                rowSums[y0] = s0; rowSums[y0 + 1] = s1; rowSums[y0 + 2] = s2; rowSums[y0 + 3] = s3
                                rowSums[y0 + 4] = s4; rowSums[y0 + 5] = s5; rowSums[y0 + 6] = s6; rowSums[y0 + 7] = s7
                            } else {
                                for k in 0..<n {
                                    var s: Float = 0
                                    for x in 1..<w { s += g[k * w + x] }
                                    rowSums[y0 + k] = s
                                }
                            }
                            y0 += n
                        }
                    }
                }
            }
        }
    }

    public static func profiles(_ p: Plane) -> Profiles {
        var out = Profiles()
        profiles(p, into: &out)
        return out
    }

    /// The frame's value from its profiles: the largest grid-over-rest ratio, across then down, over the
    /// periods, kept as FFmpeg keeps it (`FFMAX`: a NaN ratio stays only if no later one is a number). 0 when
    /// the frame is too small for any ratio.
    public static func value(_ profiles: Profiles) -> Float {
        var best: Float = 0
        for profile in [profiles.columns, profiles.rows] {
            let n = profile.count
            guard n - 4 > 3 else { continue }
            profile.withUnsafeBufferPointer { g in
                for period in periods {
                    var block: Float = 0, other: Float = 0
                    var blocks = 0, others = 0
                    for i in 3..<(n - 4) {
                        if i % period == period - 1 {
                            block += max(max(g[i], g[i + 1]), g[i - 1])
                            blocks += 1
                        } else {
                            other += g[i]
                            others += 1
                        }
                    }
                    guard blocks > 0 && others > 0 else { continue }
                    let ratio = (block / Float(blocks)) / (other / Float(others))
                    best = best > ratio ? best : ratio
                }
            }
        }
        return best
    }

    /// One frame's value, as blockdetect prints it for that frame alone (NaN or infinite when undefined).
    public static func frame(_ p: Plane) -> Float { value(profiles(p)) }
}
