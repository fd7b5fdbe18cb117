import Foundation
import GallopCore

/// `flicker_index`: brightness flicker that motion and held frames do not fool,
/// over the whole frame or in any quarter of it.
///
/// The frame is cut into an 8×8 grid (`grid`; 4×4 read motion as flicker on real
/// footage: a still shot with a small mover 0.18 against 0.001); L_r(t) is the mean luma of cell r. Per
/// pair, the frame's brightness change is the median over cells of the
/// log-ratio, G(t) = median_r [ln(L_r(t) + 1) − ln(L_r(s) + 1)]: a global
/// gain moves every cell alike, while motion moves a few cells either way and
/// leaves the median near 0. Here s is the last frame that was not a repeat
/// of its predecessor (``Freeze/isRepeat(_:_:)``): a held frame brings no new
/// brightness sample, so the curve is measured over distinct frames only. The brightness curve B(t) = Σ G loses its smooth
/// trend (exposure drift, fades) through the halved second difference
/// R(t) = [B(t) − (B(t−1) + B(t+1)) / 2] / 2 = (G(t) − G(t+1)) / 4, scaled so
/// that brightness alternating by a factor e^{±s} reads s. Pairs that are hard
/// cuts are left out. Global: 100 × RMS_t R(t).
/// Regional: the same over each window of (grid/2)² cells (a quarter of the
/// frame; 25 windows of 4×4 cells on the 8×8 grid), with G_w(t) = median over the window's
/// cells minus G(t), so flicker of one region (a background, a texture) is
/// seen, and whole-frame flicker is not counted twice. flicker_index = the
/// larger of the global and the worst window's (`flicker_index_regional`):
/// percent of brightness oscillation of the frame or its worst quarter. A
/// static clip reads 0; a gain alternating ±s reads 100·s, over the whole
/// frame or one quarter; i.i.d. per-frame log gains of standard deviation s
/// read 100·s·√6/4 ≈ 61·s (`MetricTests`). Holding every frame two or three
/// times leaves it unchanged (the flicker of the frames shown; measured on
/// real clips in `scripts/verify realclips`), unlike `temporal_flickering`, which
/// rates held frames as steadier.
/// Series: 100 × R(t) of the global curve (nil where undefined).
public final class FlickerIndex: Metric {
    public static let info = MetricInfo(
        name: "flicker_index", summary: "RMS of detrended brightness oscillation of the frame or its worst quarter, % (motion-robust)",
        direction: .lower, unit: "%", needs: [.cuts], temporal: true,
        tolerance: .absolute(0.5), composite: CompositeRole(group: "temporal", worst: 5, best: 0),
        readOn: PromptFilter(tags: ["static"], except: ["lighting"]), series: .flicker,
        options: [.int("flicker_index", "grid", \.flicker.grid, 1...16, "cells per side of the brightness grid")],
        secondary: [MetricInfo.value("flicker_index_regional", .lower, unit: "%")],
        about: "% brightness oscillation of the frame or of its worst quarter: the median log-gain of the 8 × 8 grid's cells per pair (and of each window of a quarter of the cells, less the frame's), second-differenced to remove drift and motion, over distinct frames, with cuts left out",
        checkedAgainst: "a known alternating gain, over the frame or one quarter; grows with amplitude on moving content; held frames ×2 and ×3 leave it unchanged (real footage, lossless: equal to 4 digits)",
        toleranceReason: "a re-encode moves it by 0.003; ±3% brightness flicker by about 0.8")

    /// G(t) per frame (nil for the first frame and for repeated frames).
    private var gains: [Double?] = []
    /// G_w(t) per frame, one per window (empty where `gains` is nil).
    private var windowGains: [[Double]] = []
    /// Whether frame t repeats its predecessor (no brightness sample).
    private var repeats: [Bool] = []
    /// Region means of the last frame that was not a repeat.
    private var reference: [Double]?
    /// The last distinct frame before the newest one, with its gain, for the provisional series.
    private var lastDistinct: (index: Int, gain: Double?)?
    /// 100 × R(a) of each distinct frame a as soon as the next distinct frame b brings G(b), cuts not yet
    /// known (``provisionalValue(at:)``): a few numbers a frame, as the series itself.
    private var provisional: [Double?] = []
    /// Cell indices of each window.
    private let windows: [[Int]]
    private let settings: MetricSettings

    public convenience init() { self.init(settings: MetricSettings()) }
    public init(settings: MetricSettings) {
        self.settings = settings
        let g = settings.flicker.grid, side = max(1, g / 2)
        var windows: [[Int]] = []
        if g >= 2 {
            for top in 0...(g - side) {
                for left in 0...(g - side) {
                    windows.append((top..<(top + side)).flatMap { y in (left..<(left + side)).map { x in y * g + x } })
                }
            }
        }
        self.windows = windows
    }

    /// R of the distinct frame a between the gains G(a) into it and G(b) out of it to the next distinct frame:
    /// (G(a) − G(b)) / 4; the series is 100 × R. One definition for the final series and the provisional one.
    static func oscillation(_ ga: Double, _ gb: Double) -> Double { (ga - gb) / 4 }

    public func consume(_ c: FrameContext) {
        let index = gains.count
        provisional.append(nil)
        defer {
            // A distinct frame b gives the frame before it, a, its R (when both gains are known).
            if !repeats[index] {
                if let a = lastDistinct, let ga = a.gain, let gb = gains[index] { provisional[a.index] = 100 * FlickerIndex.oscillation(ga, gb) }
                lastDistinct = (index, gains[index])
            }
        }
        let isRepeat = c.lumaPair.map { Freeze.isRepeat($0, settings.freeze) } ?? false
        repeats.append(isRepeat)
        guard let s = c.stats, !isRepeat else { gains.append(nil); windowGains.append([]); return }
        defer { reference = s.regionMeans }
        guard let p = reference else { gains.append(nil); windowGains.append([]); return }
        let changes = zip(s.regionMeans, p).map { log($0 + 1) - log($1 + 1) }
        let global = Series.median(changes) ?? 0
        gains.append(global)
        windowGains.append(windows.map { cells in (Series.median(cells.map { changes[$0] }) ?? 0) - global })
    }

    public func provisionalValue(at index: Int) -> Double? { provisional.indices.contains(index) ? provisional[index] : nil }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        // A cut breaks the brightness curve: no second difference spans it.
        var broken = [Bool](repeating: false, count: gains.count)
        for cut in clip.cuts where cut < broken.count { broken[cut] = true }
        // Distinct frames in order, with the gain that reached each one.
        let distinct = gains.indices.filter { !repeats[$0] }
        var series = [Double?](repeating: nil, count: gains.count)
        var squares = 0.0, n = 0
        var windowSquares = [Double](repeating: 0, count: windows.count)
        for (a, b) in zip(distinct, distinct.dropFirst()) {
            guard let g0 = gains[a], let g1 = gains[b], !broken[a], !(a + 1...b).contains(where: { broken[$0] }) else { continue }
            let r = FlickerIndex.oscillation(g0, g1)
            squares += r * r
            n += 1
            series[a] = 100 * r
            for w in windows.indices {
                let rw = FlickerIndex.oscillation(windowGains[a][w], windowGains[b][w])
                windowSquares[w] += rw * rw
            }
        }
        guard n > 0 else {
            // A clip that never shows three distinct frames in a row has no brightness oscillation to see.
            if gains.count >= 3 && distinct.count < 3 {
                return MetricOutput(values: [(Self.info.name, 0), ("flicker_index_regional", 0)], series: series)
            }
            return MetricOutput(values: [(Self.info.name, nil), ("flicker_index_regional", nil)], series: series,
                                warnings: ["flicker_index needs at least three frames without a cut"])
        }
        let global = 100 * (squares / Double(n)).squareRoot()
        let regional = 100 * ((windowSquares.max() ?? 0) / Double(n)).squareRoot()
        return MetricOutput(values: [(Self.info.name, max(global, regional)), ("flicker_index_regional", regional)], series: series)
    }
}

/// Its config section's values (``MetricInfo/options`` declares their names, ranges and help).
extension MetricSettings {
    public struct FlickerOptions: Sendable, Hashable {
        /// Cells per side of the regional brightness grid.
        public var grid = 8
        public init() {}
    }
}
