import GallopCore
import GallopMetrics
import GallopReport
import GallopResults
import GallopVideo

/// Keeps, while a clip is scored, the thumbnails `report.html` may show of it, so the report needs no
/// second decode of the clip.
///
/// Method. For each moment kind, a pool holds the clip's top-K candidates so far, ranked by the flagging
/// metric's own per-frame value as frames arrive (``MetricEngine/provisionalValue(for:at:)``, O(1) a frame):
/// blur the lowest `sharpness` (frame i; K = 1 is exact), warping and cut the largest `warping_error` and
/// centred MAD (pair i−1, i; K > 1 since cut pairs are left out and cuts are decided only at the clip's end;
/// fidelity the lowest `vmaf` of frame i − 1, offered when frame i is in and its score is final;
/// a pair below the detector's floor is never a cut, so it is never a candidate),
/// flicker the largest |R(a)| (frames s, a, b: a's distinct neighbours), freeze the longest still span
/// (its first frame and its last held frame; a span of one frame only when it lasts 1.4 frame durations
/// or more, as `freeze_ratio` counts only those). Frames are held as references to the decoder's own frames
/// (no copy) while they are the current or previous frame or one of the last two distinct frames
/// (distinct: `freeze_ratio`'s series is not 1), at most four at once. A frame that leaves that window
/// while some pool entry still holds it waits in a queue (``graceFrames``: at most 16 frames and 32 MB
/// of them, so 16 at 720p, 10 at 1080p, 2 at 8-bit 4K); a candidate pushed out of its pool while it waits costs nothing, and one that
/// leaves the queue still a candidate is encoded then, by the grabber's own code (``ThumbnailEncoder``:
/// the same bytes as ``FrameGrabber``'s image of it). Series that set a new record early and often (a
/// sharpness falling through the clip, the first frames of any series) so cost a few encodes, not one
/// a record: on three 720p clips with every default metric, 13, 10 and 14 encodes in all (their
/// reports show 9 to 13 frames), against 28, 23 and 19 with a queue of 8 and 58 with none on the first.
/// When the clip ends the row's own moments (``WorstMoments/moments(of:)``) say which frames are wanted:
/// those kept or still held are the clip's ``KeptFrames``; the others are named as missing, and the
/// report decodes them from the clip. The pools only decide what is kept, never what is shown, so a
/// miss costs a decode, not a wrong image.
///
/// Cost: a frame reference (a reference-count increment) and a few comparisons a frame; a scale and
/// JPEG encode (about a millisecond at 720p) only for candidates that outlive the queue; memory: at most
/// four decoded frames and 32 MB more (at most 20 frames) and ``Capacity/images`` small JPEGs.
final class FrameKeeper {
    /// Entries kept per kind.
    struct Capacity: Sendable, Equatable {
        var flicker = 4, freeze = 2, cut = 6, blur = 1, warping = 3, fidelity = 1
        /// Every pool empty: nothing is kept while scoring (every frame comes from the clip again).
        static let none = Capacity(flicker: 0, freeze: 0, cut: 0, blur: 0, warping: 0, fidelity: 0)
        subscript(kind: ReportSeries) -> Int {
            switch kind {
            case .flicker: return flicker
            case .freeze: return freeze
            case .cut: return cut
            case .blur: return blur
            case .warping: return warping
            case .fidelity: return fidelity
            case .lumaStep: return 0
            }
        }
        /// The most images the pools can hold at once.
        var images: Int { 3 * flicker + 2 * (freeze + cut + warping) + blur + fidelity }
    }

    private struct Entry {
        var score: Double
        var frames: [Int]
    }

    private let capacity: Capacity
    private let encoder: ThumbnailEncoder
    private let hasFreeze: Bool
    /// The hard-cut detector's floor: no pair below it is a cut.
    private let cutFloor: Double
    /// How many candidates that left the window may wait unencoded.
    let graceFrames: Int
    /// Candidates that left the window, oldest first, not yet encoded.
    private var waiting: [(frame: Int, ref: DecodedFrame)] = []
    private var pools: [ReportSeries: [Entry]] = [:]
    /// Pool entries holding each frame.
    private var uses: [Int: Int] = [:]
    /// References to the frames of the window (current, previous, last two distinct).
    private var held: [Int: DecodedFrame] = [:]
    /// Frames encoded when they left the window while a pool held them.
    private var images: [Int: FrameGrabber.Image] = [:]
    /// The last two distinct frames (before the one being observed, once it is done).
    private var distinct: [Int] = []
    /// Why an image could not be made, when one could not (its frames are then missing).
    private(set) var problem: String?

    /// The most images held at once so far (for tests of bounded memory).
    private(set) var peakImages = 0
    /// The most decoded frames held at once so far.
    private(set) var peakHeld = 0
    /// Images encoded while scoring (candidates that left the window) and at the clip's end.
    private(set) var encoded = 0

    /// `frameBytes`: the size of one decoded frame, which bounds the queue to 32 MB.
    init(encoder: ThumbnailEncoder, capacity: Capacity, hasFreeze: Bool, cutFloor: Double, frameBytes: Int) {
        self.encoder = encoder
        self.capacity = capacity
        self.hasFreeze = hasFreeze
        self.cutFloor = cutFloor
        graceFrames = min(16, 32_000_000 / max(1, frameBytes))
    }

    /// Frame `i` (the one the reader returned last) has been consumed by `engine`.
    func observe(_ i: Int, reader: VideoReader, engine: MetricEngine, times: [Double]) {
        guard let frame = reader.decodedFrame() else { return }
        held[i] = frame
        peakHeld = max(peakHeld, held.count + waiting.count)
        if let v = engine.provisionalValue(for: .blur, at: i) { offer(.blur, -v, [i]) }
        if i > 0 {
            if let v = engine.provisionalValue(for: .warping, at: i) { offer(.warping, v, [i - 1, i]) }
            if let v = engine.provisionalValue(for: .cut, at: i), v >= cutFloor { offer(.cut, v, [i - 1, i]) }
            // Frame i − 1's VMAF is final now (its motion2 reads frame i); the last frame stays in the window.
            if let v = engine.provisionalValue(for: .fidelity, at: i - 1) { offer(.fidelity, -v, [i - 1]) }
        }
        let isRepeat = hasFreeze && engine.provisionalValue(for: .freeze, at: i) == 1
        if !isRepeat {
            if let a = distinct.last {
                // The distinct frame a now has its R (b = i arrived); s is the distinct frame before a.
                if let r = engine.provisionalValue(for: .flicker, at: a) { offer(.flicker, abs(r), distinct + [i]) }
                // The still span from a ends with the frame before i.
                let length = times[i] - times[a]
                if a < i - 1 || length >= 1.4 * engine.lastDuration { offer(.freeze, length, a == i - 1 ? [a] : [a, i - 1]) }
            }
            distinct = Array((distinct + [i]).suffix(2))
        }
        let window = Set(distinct + [i, i - 1])
        for (k, ref) in held where !window.contains(k) {
            if uses[k, default: 0] > 0, images[k] == nil { waiting.append((k, ref)) }
            held[k] = nil
        }
        waiting.removeAll { uses[$0.frame, default: 0] == 0 }
        while waiting.count > graceFrames {
            let (k, ref) = waiting.removeFirst()
            encode(k, ref, times: times)
        }
    }

    /// The clip has ended: the frames of `row`'s own moments, kept or missing. The window's frames (the
    /// last still span's first frame among them) are all still held, so they need no pool.
    func finish(row: ClipResult) -> KeptFrames {
        let times = row.frameTimes
        var wanted: [Int: Double] = [:]
        for moment in WorstMoments.moments(of: row) {
            for (frame, time) in zip(moment.frames, moment.times) { wanted[frame] = time }
        }
        var kept: [KeptFrames.Image] = [], missing: [Double] = []
        for (frame, time) in wanted.sorted(by: { $0.key < $1.key }) {
            if images[frame] == nil, let ref = held[frame] ?? waiting.first(where: { $0.frame == frame })?.ref { encode(frame, ref, times: times) }
            if let image = images[frame] {
                kept.append(KeptFrames.Image(frame: frame, time: time, mimeType: image.format.mimeType,
                                             width: image.width, height: image.height, bytes: image.bytes))
            } else {
                missing.append(time)
            }
        }
        held = [:]
        waiting = []
        images = [:]
        return KeptFrames(path: row.path, contentKey: row.contentKey, fingerprint: row.fingerprint, images: kept, missing: missing)
    }

    /// Puts an entry in its kind's pool when it ranks among the top K (ties: the earlier stays).
    private func offer(_ kind: ReportSeries, _ score: Double, _ frames: [Int]) {
        let k = capacity[kind]
        guard k > 0, score.isFinite else { return }
        var pool = pools[kind] ?? []
        if pool.count == k, let last = pool.last, score <= last.score { return }
        let at = pool.firstIndex { $0.score < score } ?? pool.count
        pool.insert(Entry(score: score, frames: frames), at: at)
        for f in frames { uses[f, default: 0] += 1 }
        if pool.count > k {
            for f in pool.removeLast().frames {
                uses[f, default: 1] -= 1
                if uses[f] == 0 {
                    uses[f] = nil
                    images[f] = nil
                }
            }
        }
        pools[kind] = pool
    }

    private func encode(_ frame: Int, _ ref: DecodedFrame, times: [Double]) {
        guard problem == nil, times.indices.contains(frame) else { return }
        do {
            images[frame] = try encoder.encode(ref, time: rounded(times[frame], 6))
            encoded += 1
            peakImages = max(peakImages, images.count)
        } catch {
            problem = error.description
        }
    }
}
