import GallopCore
import GallopMetrics
import GallopResults

/// A moment of one clip worth looking at: the frames to show, the metric whose
/// per-frame series flagged it, and its value there.
public struct Moment: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case flicker, freeze, cut, blur, warping, fidelity

        /// The metric whose series finds it: the one whose file declares this ``ReportSeries``.
        public var metric: String { MetricRegistry.metric(for: series)! }

        public var series: ReportSeries { ReportSeries(rawValue: rawValue)! }

        public var title: String {
            switch self {
            case .flicker: return "Flicker peak"
            case .freeze: return "Longest freeze"
            case .cut: return "Hard cut"
            case .blur: return "Blurriest frame"
            case .warping: return "Largest warping error"
            case .fidelity: return "Lowest VMAF"
            }
        }
    }

    public var kind: Kind
    /// The clip's path, relative to the scored folder.
    public var path: String
    /// Scored frames to show (counted from 0, ascending, distinct).
    public var frames: [Int]
    /// Their times (s from the first frame), from the row's `frame_times`.
    public var times: [Double]
    /// Indices of the metric's series to mark on its curve.
    public var marks: [Int]
    /// The value that ranked the moment (the series value, or a freeze's length in seconds).
    public var value: Double
    /// What `value` is, with its unit.
    public var valueText: String
}

/// The worst moments of each model: the frame pair where flicker peaks, the
/// longest freeze, the frames either side of each hard cut (the strongest
/// ``maxCuts``), the blurriest frame, the pair with the largest warping error
/// and, with a reference, the frame with the lowest VMAF, each over the
/// model's scored clips that the aggregates count (in the suite, and for a
/// restricted metric on the prompts it is read on).
/// A run without a reference has no VMAF moment, and says nothing of it; with sound, the most out-of-sync
/// clip (``SyncMoment``), and a run whose clips are all silent says nothing of it.
///
/// Series semantics (Sources/GallopMetrics): entry i of a pair metric's series
/// belongs to the pair (i−1, i) of scored frames: `warping_error` (frame i
/// warped back onto i−1) and `scene_cuts` (centred MAD; a cut at i starts a new
/// shot at frame i). `freeze_ratio` is 1 where frame i repeats frame i−1, and
/// its `spans` extra holds each freeze as [start s, length s]. `flicker_index`
/// R(a) = (G(a) − G(b))/4 × 100 sits on a distinct frame a between the gain
/// G(a) from the last distinct frame s before it and G(b) to the next distinct
/// frame b: the pair shown is (s, a) or (a, b), whichever `frame_diff` (mean
/// |Δluma| of pair i) says is the larger step. `sharpness` and `vmaf` are per frame.
/// Ties go to the first clip by path and the first frame.
public enum WorstMoments {
    /// Hard cuts shown per model (the largest detector scores); the rest are counted.
    public static let maxCuts = 4

    public struct ModelMoments: Sendable {
        public var model: String
        public var moments: [Moment]
        /// What was not shown and why ("3 more hard cuts in 2 clips", "no freeze").
        public var notes: [String]
        /// The most out-of-sync clip, when some counted clip has sound with a confident offset.
        public var sync: SyncMoment? = nil
    }

    /// The clip of a model whose sound is furthest from its picture: the largest `av_offset_abs_ms` among clips whose
    /// offset was found (its confidence above `av_offset_ms.min_confidence`, so the offset is not null). Drawn on one
    /// time axis: the sound's onset envelope at each frame (`av_offset_ms`'s series) and the picture's onset strength,
    /// the rise of the detrended frame difference that `av_offset_ms` correlates it with
    /// (``AVOffset/pictureOnsets(times:mads:)`` over `frame_diff`'s series; empty when `frame_diff` was not scored).
    public struct SyncMoment: Sendable, Equatable {
        public var path: String
        /// ms, positive when the sound comes after the picture.
        public var offset: Double
        public var confidence: Double
        public var times: [Double]
        public var sound: [Double?]
        public var motion: [Double]
    }

    /// `av_offset_ms` and its secondary values, named from its file.
    static let offsetMetric = AVOffset.info.name
    static let confidenceValue = AVOffset.info.secondary[0], magnitudeValue = AVOffset.info.secondary[1]

    /// The most out-of-sync clip among `rows` (first by path on ties); nil when none has a found offset and its series.
    public static func syncMoment(_ rows: [ClipResult]) -> SyncMoment? {
        var best: (SyncMoment, Double)?
        for row in rows.sorted(by: { $0.path < $1.path }) {
            guard let magnitude = row.value(magnitudeValue), let offset = row.value(offsetMetric), let confidence = row.value(confidenceValue),
                  let sound = series(row, offsetMetric), sound.count == row.frameTimes.count, magnitude > (best?.1 ?? -.infinity) else { continue }
            let mads = MetricRegistry.metric(for: .lumaStep).flatMap { series(row, $0) }
            let motion = mads.map { $0.count == row.frameTimes.count ? AVOffset.pictureOnsets(times: row.frameTimes, mads: $0) : [] } ?? []
            best = (SyncMoment(path: row.path, offset: offset, confidence: confidence, times: row.frameTimes, sound: sound, motion: motion), magnitude)
        }
        return best?.0
    }

    public static func find(_ s: ResultsSummary) -> [ModelMoments] {
        s.models.map { m in
            let clips = s.clips.filter { $0.inSuite && $0.row.status == .ok && $0.row.name.model == m.name }
            func counted(_ kind: Moment.Kind) -> [ClipResult] {
                clips.filter { s.restricted[kind.metric]?.admits($0.tags) ?? true }.map(\.row)
            }
            var moments: [Moment] = []
            var notes: [String] = []
            func add(_ kind: Moment.Kind, _ found: [Moment], none: String) {
                if !counted(kind).contains(where: { series($0, kind.metric) != nil }) {
                    notes.append("\(kind.title.lowercased()): `\(kind.metric)` has no per-frame series here")
                } else if found.isEmpty {
                    notes.append(none)
                } else {
                    moments += found
                }
            }
            add(.flicker, flickerMoment(counted(.flicker)).map { [$0] } ?? [], none: "no flicker value (clips too short or all cuts)")
            add(.freeze, freezeMoment(counted(.freeze)).map { [$0] } ?? [], none: "no freeze")
            let cuts = cutMoments(counted(.cut))
            add(.cut, Array(cuts.prefix(maxCuts)), none: "no hard cut")
            if cuts.count > maxCuts {
                let more = cuts.dropFirst(maxCuts)
                let inClips = Set(more.map(\.path)).count
                notes.append("\(more.count) more hard cut\(more.count == 1 ? "" : "s") in \(inClips) clip\(inClips == 1 ? "" : "s"), with smaller scores")
            }
            add(.blur, blurMoment(counted(.blur)).map { [$0] } ?? [], none: "no \(Moment.Kind.blur.metric) value")
            add(.warping, warpingMoment(counted(.warping)).map { [$0] } ?? [], none: "no warping error value")
            if counted(.fidelity).contains(where: { series($0, Moment.Kind.fidelity.metric) != nil }) {
                add(.fidelity, fidelityMoment(counted(.fidelity)).map { [$0] } ?? [], none: "no \(Moment.Kind.fidelity.metric) value")
            }
            // Sync: only when some clip has sound (a silent run says nothing of it, as a run without a reference of VMAF).
            let sounding = clips.filter { $0.row.audio == true }.map(\.row)
            let sync = syncMoment(sounding)
            if !sounding.isEmpty && sync == nil { notes.append("no clip with sound has a confident `\(offsetMetric)`") }
            return ModelMoments(model: m.name, moments: moments, notes: notes, sync: sync)
        }
    }

    /// One clip's own moments, by the rules ``find(_:)`` applies over a model's clips: its flicker peak,
    /// longest freeze, its ``maxCuts`` strongest hard cuts, blurriest frame, largest warping pair and lowest VMAF. A
    /// model's moments are always among its clips' own, so these are the frames a report can ask of the
    /// clip (what the scorer keeps thumbnails of); prompt restrictions are not applied here.
    public static func moments(of row: ClipResult) -> [Moment] {
        guard row.status == .ok else { return [] }
        var found: [Moment] = []
        if let m = flickerMoment([row]) { found.append(m) }
        if let m = freezeMoment([row]) { found.append(m) }
        found += cutMoments([row]).prefix(maxCuts)
        if let m = blurMoment([row]) { found.append(m) }
        if let m = warpingMoment([row]) { found.append(m) }
        if let m = fidelityMoment([row]) { found.append(m) }
        return found
    }

    /// The metric's per-frame series in a row (null entries nil), or nil when absent.
    public static func series(_ row: ClipResult, _ metric: String) -> [Double?]? {
        guard let values = row.extras.first(where: { $0.0 == metric })?.1["series"]?.arrayValue else { return nil }
        return values.map { $0.doubleValue.flatMap { $0.isFinite ? $0 : nil } }
    }

    // MARK: Per-series rules (pure: known series give known frames).

    /// The peak |R| of a flicker series and the pair around it with the larger brightness step:
    /// (s, a) from the last distinct frame s before the peak frame a, or (a, b) to the next
    /// distinct frame b when `frameDiff` (mean |Δluma| per pair, `frame_diff`'s series) says
    /// that step is larger. `repeats[i]` is 1 where frame i repeats its predecessor (nil: no
    /// freeze series, so s = a − 1 and b = a + 1).
    public static func flickerPeak(_ series: [Double?], repeats: [Double?]?, frameDiff: [Double?]? = nil) -> (pair: [Int], index: Int, value: Double)? {
        guard let (a, r) = extreme(series, by: { abs($0) }) else { return nil }
        let held = { (i: Int) in repeats.map { i < $0.count && $0[i] == 1 } ?? false }
        var s = a - 1
        while s > 0, held(s) { s -= 1 }
        var b = a + 1
        while b < series.count, held(b) { b += 1 }
        if let d = frameDiff, b < series.count, b < d.count, a < d.count, let out = d[b], out > (d[a] ?? -1) || s < 0 {
            return ([a, b], a, r)
        }
        return (s >= 0 ? [s, a] : [a], a, r)
    }

    /// The longest freeze: its first frame (the one repeated), its last held frame, and its length (s).
    /// From `spans` ([start s, length s]) when present, else from runs of 1 in the series.
    public static func longestFreeze(spans: [[Double]]?, series: [Double?], times: [Double]) -> (first: Int, last: Int, length: Double)? {
        var best: (first: Int, last: Int, length: Double)?
        if let spans {
            for span in spans where span.count == 2 && span[1] > (best?.length ?? 0) {
                guard let first = index(of: span[0], in: times) else { continue }
                let end = span[0] + span[1]
                let last = times.lastIndex { $0 < end - slack } ?? first
                best = (first, max(first, last), span[1])
            }
            return best
        }
        // Runs of repeated frames (1): frame i repeats i − 1, so the run starts at the frame before it.
        var i = 0
        while i < series.count {
            guard series[i] == 1 else { i += 1; continue }
            var j = i
            while j + 1 < series.count, series[j + 1] == 1 { j += 1 }
            let first = max(0, i - 1)
            let length = j + 1 < times.count ? times[j + 1] - times[first] : (times.last ?? 0) - times[first]
            if j - first + 1 >= 2, times.indices.contains(first), length > (best?.length ?? 0) { best = (first, j, length) }
            i = j + 1
        }
        return best
    }

    /// Series index of each cut time (the first frame of the new shot).
    public static func cutIndices(cutTimes: [Double], times: [Double]) -> [Int] {
        cutTimes.compactMap { index(of: $0, in: times) }.filter { $0 > 0 }
    }

    /// The smallest value of a per-frame series.
    public static func minimum(_ series: [Double?]) -> (index: Int, value: Double)? {
        extreme(series, by: { -$0 }).map { ($0.index, $0.value) }
    }

    /// The largest value of a pair series, leaving out the pairs that are cuts.
    public static func maximum(_ series: [Double?], excluding cuts: Set<Int> = []) -> (index: Int, value: Double)? {
        let kept = series.enumerated().map { cuts.contains($0.offset) ? nil : $0.element }
        return extreme(kept, by: { $0 })
    }

    // MARK: Over a model's clips.

    static func flickerMoment(_ rows: [ClipResult]) -> Moment? {
        best(rows) { row -> (Moment, Double)? in
            guard let s = series(row, Moment.Kind.flicker.metric),
                  let peak = flickerPeak(s, repeats: series(row, Moment.Kind.freeze.metric), frameDiff: MetricRegistry.metric(for: .lumaStep).flatMap { series(row, $0) }),
                  let times = times(row, peak.pair) else { return nil }
            return (Moment(kind: .flicker, path: row.path, frames: peak.pair, times: times, marks: [peak.index], value: peak.value,
                           valueText: "R = \(signed(peak.value)) % brightness oscillation"), abs(peak.value))
        }
    }

    static func freezeMoment(_ rows: [ClipResult]) -> Moment? {
        best(rows) { row -> (Moment, Double)? in
            guard let s = series(row, Moment.Kind.freeze.metric) else { return nil }
            let extra = row.extras.first { $0.0 == Moment.Kind.freeze.metric }?.1
            let spans = extra?["spans"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.doubleValue) ?? [] }
            guard let f = longestFreeze(spans: spans, series: s, times: row.frameTimes), f.length > 0 else { return nil }
            let frames = f.first == f.last ? [f.first] : [f.first, f.last]
            guard let times = times(row, frames) else { return nil }
            let held = f.last - f.first + 1
            return (Moment(kind: .freeze, path: row.path, frames: frames, times: times, marks: held > 1 ? Array(f.first + 1...f.last) : [f.first],
                           value: f.length, valueText: "\(Scorecard.fixed(f.length, 3)) s still (\(held) frame\(held == 1 ? "" : "s"))"), f.length)
        }
    }

    /// Every cut of the clips, strongest first (ties: path, then time).
    static func cutMoments(_ rows: [ClipResult]) -> [Moment] {
        var found: [(Moment, Double)] = []
        for row in rows {
            guard let s = series(row, Moment.Kind.cut.metric) else { continue }
            for k in cutIndices(cutTimes: cutTimes(row), times: row.frameTimes) {
                guard let times = times(row, [k - 1, k]) else { continue }
                let score = k < s.count ? s[k] ?? 0 : 0
                found.append((Moment(kind: .cut, path: row.path, frames: [k - 1, k], times: times, marks: [k], value: score,
                                     valueText: "centred luma MAD \(Scorecard.fixed(score, Scorecard.decimalsFor(score))) levels"), score))
            }
        }
        return found.enumerated().sorted { a, b in a.element.1 != b.element.1 ? a.element.1 > b.element.1 : a.offset < b.offset }.map(\.element.0)
    }

    static func blurMoment(_ rows: [ClipResult]) -> Moment? {
        best(rows) { row -> (Moment, Double)? in
            guard let s = series(row, Moment.Kind.blur.metric), let low = minimum(s), let times = times(row, [low.index]) else { return nil }
            return (Moment(kind: .blur, path: row.path, frames: [low.index], times: times, marks: [low.index], value: low.value,
                           valueText: "Laplacian variance \(Scorecard.fixed(low.value, Scorecard.decimalsFor(low.value))) levels²"), -low.value)
        }
    }

    static func fidelityMoment(_ rows: [ClipResult]) -> Moment? {
        best(rows) { row -> (Moment, Double)? in
            guard let s = series(row, Moment.Kind.fidelity.metric), let low = minimum(s), let times = times(row, [low.index]) else { return nil }
            return (Moment(kind: .fidelity, path: row.path, frames: [low.index], times: times, marks: [low.index], value: low.value,
                           valueText: "VMAF \(Scorecard.fixed(low.value, 2))"), -low.value)
        }
    }

    static func warpingMoment(_ rows: [ClipResult]) -> Moment? {
        best(rows) { row -> (Moment, Double)? in
            guard let s = series(row, Moment.Kind.warping.metric) else { return nil }
            let cuts = Set(cutIndices(cutTimes: cutTimes(row), times: row.frameTimes))
            guard let high = maximum(s, excluding: cuts), high.index > 0, let times = times(row, [high.index - 1, high.index]) else { return nil }
            return (Moment(kind: .warping, path: row.path, frames: [high.index - 1, high.index], times: times, marks: [high.index], value: high.value,
                           valueText: "\(Scorecard.fixed(high.value, Scorecard.decimalsFor(high.value))) levels after warping"
                                + (cuts.isEmpty ? "" : " (the pairs across hard cuts left out)")), high.value)
        }
    }

    // MARK: Helpers.

    /// Slack when matching times stored with six decimals.
    static let slack = 1e-4

    /// The moment with the largest score over rows (first by path on ties).
    static func best(_ rows: [ClipResult], _ candidate: (ClipResult) -> (Moment, Double)?) -> Moment? {
        var best: (Moment, Double)?
        for row in rows.sorted(by: { $0.path < $1.path }) {
            if let c = candidate(row), c.1 > (best?.1 ?? -.infinity) { best = c }
        }
        return best?.0
    }

    /// The entry with the largest key (first on ties), skipping nil.
    static func extreme(_ series: [Double?], by key: (Double) -> Double) -> (index: Int, value: Double)? {
        var best: (index: Int, value: Double, key: Double)?
        for (i, v) in series.enumerated() {
            guard let v else { continue }
            let k = key(v)
            if best == nil || k > best!.key { best = (i, v, k) }
        }
        return best.map { ($0.index, $0.value) }
    }

    /// The index of the scored frame at `time`, matched within ``slack``.
    static func index(of time: Double, in times: [Double]) -> Int? {
        times.firstIndex { abs($0 - time) <= slack }
    }

    static func times(_ row: ClipResult, _ frames: [Int]) -> [Double]? {
        guard frames.allSatisfy({ row.frameTimes.indices.contains($0) }) else { return nil }
        return frames.map { row.frameTimes[$0] }
    }

    static func cutTimes(_ row: ClipResult) -> [Double] {
        row.extras.first { $0.0 == Moment.Kind.cut.metric }?.1["times"]?.arrayValue?.compactMap(\.doubleValue) ?? []
    }

    static func signed(_ v: Double) -> String { (v > 0 ? "+" : "") + Scorecard.fixed(v, Scorecard.decimalsFor(v)) }
}
