import Dispatch
import GallopCore

/// The optical flows one frame brings, computed once by the engine for every
/// metric that asked (`AnalysisKey.flow`, `.backwardFlow`, `.skipFlow`).
public struct MotionAnalysis: Sendable {
    /// The motion-size luma of this frame and the two before it (nil at the start).
    public let image: FloatImage
    public let previousImage: FloatImage?
    public let twoBackImage: FloatImage?
    /// Previous frame → this frame, and back.
    public let forward: FlowField?
    public let backward: FlowField?
    /// Frame t−2 → t and back, on even t ≥ 2 (for frame-dropping interpolation).
    public let skipForward: FlowField?
    public let skipBackward: FlowField?
    /// Mean and top-5% mean magnitude of the forward flow (analysis-size pixels).
    public let forwardMagnitude: (mean: Double, top5: Double)?

    /// Flow magnitudes are reported at this long side, whatever the analysis size.
    public static let referenceSide = 512.0

    /// Pixels at the analysis size → pixels at the reference size.
    public var referenceScale: Double { MotionAnalysis.referenceSide / Double(max(image.width, image.height)) }
}

/// How each of a frame's flows is searched, from `options.flow`. The forward
/// flow, which four metrics read directly: from scratch, coarse to fine, to the
/// motion size. The backward flow, which only `warping_error`'s forward-backward
/// check reads: at the motion size alone, one pass starting from the negated
/// forward flow (a quarter of the work of a full search; the check's share
/// within 0.015 of a full search's on real clips, `MotionPlanTests`; frames
/// whose long side is under 256 px are searched in full). The two-apart pair,
/// which only `motion_smoothness`'s interpolation reads: from scratch down to
/// the smallest pyramid level whose long side is at least `skipSide` px, then
/// scaled up (at the default motion size half of it, a quarter of the
/// patches; `motion_smoothness` within 0.0003).
struct MotionPlan: Sendable, Hashable {
    /// Start the backward flow from the forward one: 0 never, 1 at a long side of 256 px or more, 2 always.
    var warmBackward = 1
    var skipSide = 256

    /// The finest level to search for a long side of at least `side`, in `pyramid`.
    static func level(forSide side: Int, in pyramid: FlowPyramid) -> Int {
        var level = 0
        while level + 1 < pyramid.levels.count {
            let next = pyramid.levels[level + 1].image
            guard max(next.width, next.height) >= side else { break }
            level += 1
        }
        return level
    }
}

/// Keeps the last frames' pyramids so each frame's pyramid is built once.
/// A frame's flows (up to four: forward, backward and the two-apart pair)
/// are independent; with `threads` > 1 they run concurrently. Each flow is
/// computed the same way on any thread, so the numbers do not change.
final class MotionState {
    let needs: Set<AnalysisKey>
    let threads: Int
    let dis: DISFlow
    let plan: MotionPlan
    private var pyramids: [FlowPyramid] = []
    /// Scratch memory, one per flow that may run at once.
    private let workspaces: [FlowWorkspace]

    init(needs: Set<AnalysisKey>, dis: DISFlow = DISFlow(), plan: MotionPlan = MotionPlan(), threads: Int = 1) {
        self.needs = needs
        self.dis = dis
        self.plan = plan
        self.threads = max(1, threads)
        // One per flow of a frame when they run at once (up to four), else one.
        workspaces = (0..<(threads > 1 ? 4 : 1)).map { _ in FlowWorkspace() }
    }

    /// One flow to compute: between two of the kept pyramids, searched down
    /// to `finest`; from scratch, or at level 0 alone from the negated result
    /// of the job at index `from` of the same batch (`warmFrom`).
    private struct Job: Sendable { var from: Int; var to: Int; var finest: Int; var warmFrom: Int? = nil }

    /// The flows of `jobs`, concurrently when allowed (a warm-started job
    /// waits for the flow it starts from).
    private func flows(_ jobs: [Job]) -> [FlowField] {
        let dis = self.dis, pyramids = self.pyramids, workspaces = self.workspaces
        @Sendable func run(_ job: Job, _ start: FlowField?, _ workspace: FlowWorkspace) -> FlowField {
            if let start {
                return dis.flow(from: pyramids[job.from], to: pyramids[job.to], initial: start, initialScale: -1, startLevel: 0,
                                finestLevel: 0, workspace: workspace)
            }
            return dis.flow(from: pyramids[job.from], to: pyramids[job.to], initial: nil, finestLevel: job.finest, workspace: workspace)
        }
        var out = [FlowField?](repeating: nil, count: jobs.count)
        let cold = jobs.indices.filter { jobs[$0].warmFrom == nil }, warm = jobs.indices.filter { jobs[$0].warmFrom != nil }
        for batch in [cold, warm] where !batch.isEmpty {
            let starts = batch.map { jobs[$0].warmFrom.map { out[$0]! } }
            if threads > 1 && batch.count > 1 {
                out.withUnsafeMutableBufferPointer { buffer in
                    nonisolated(unsafe) let results = buffer
                    DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                        results[batch[i]] = run(jobs[batch[i]], starts[i], workspaces[batch[i]])
                    }
                }
            } else {
                for (i, j) in batch.enumerated() { out[j] = run(jobs[j], starts[i], workspaces[0]) }
            }
        }
        return out.map { $0! }
    }

    func consume(_ frame: Frame) -> MotionAnalysis? {
        guard let plane = frame.motion else { return nil }
        let pyramid = dis.prepare(FloatImage(plane))
        pyramids.append(pyramid)
        if pyramids.count > 3 { pyramids.removeFirst() }
        let n = pyramids.count
        var forward: FlowField?, backward: FlowField?, skipForward: FlowField?, skipBackward: FlowField?
        let skipLevel = MotionPlan.level(forSide: plan.skipSide, in: pyramid)
        // A frame under 256 px on its long side has its backward flow searched in full (it costs little there) unless asked.
        let warm = plan.warmBackward == 2 || (plan.warmBackward == 1 && max(plane.width, plane.height) >= DISFlow.onePassSide)
        var jobs: [Job] = []
        if n >= 2 {
            jobs.append(Job(from: n - 2, to: n - 1, finest: 0))
            if needs.contains(.backwardFlow) { jobs.append(Job(from: n - 1, to: n - 2, finest: 0, warmFrom: warm ? 0 : nil)) }
        }
        let skip = n == 3 && needs.contains(.skipFlow) && frame.index % 2 == 0
        if skip { jobs += [Job(from: 0, to: 2, finest: skipLevel), Job(from: 2, to: 0, finest: skipLevel)] }
        var computed = flows(jobs)[...]
        if n >= 2 {
            forward = computed.popFirst()
            if needs.contains(.backwardFlow) { backward = computed.popFirst() }
        }
        if skip {
            skipForward = computed.popFirst()
            skipBackward = computed.popFirst()
        }
        let magnitude = forward.map { f -> (mean: Double, top5: Double) in
            let m = FlowStats.magnitudes(f)
            return (Double(m.reduce(0, +)) / Double(max(1, m.count)), FlowStats.topMean(m, fraction: 0.05))
        }
        return MotionAnalysis(image: pyramid.levels[0].image, previousImage: n >= 2 ? pyramids[n - 2].levels[0].image : nil,
                              twoBackImage: n == 3 ? pyramids[0].levels[0].image : nil,
                              forward: forward, backward: backward, skipForward: skipForward, skipBackward: skipBackward,
                              forwardMagnitude: magnitude)
    }
}

/// Shared flow statistics used by the motion metrics.
public enum FlowStats {
    /// Magnitude of every vector.
    public static func magnitudes(_ f: FlowField) -> [Float] {
        [Float](unsafeUninitializedCapacity: f.u.count) { out, count in
            f.u.withUnsafeBufferPointer { u in
                f.v.withUnsafeBufferPointer { v in
                    for k in 0..<u.count { out[k] = (u[k] * u[k] + v[k] * v[k]).squareRoot() }
                }
            }
            count = f.u.count
        }
    }

    /// Mean of the largest `fraction` of the values (VBench's "top 5%" is 0.05).
    /// Values at least zero and finite (magnitudes) are bucketed by one pass
    /// into 4096 bins up to the largest; the bins above the one that holds
    /// the k-th largest are summed whole, and that bin is sorted for the rest:
    /// the same k values as a full sort, without copying or reordering the
    /// input. Anything else goes through quickselect on a copy.
    public static func topMean(_ values: [Float], fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let k = max(1, Int((Double(values.count) * fraction).rounded()))
        let top = values.max()!
        if top > 0, top.isFinite, values.allSatisfy({ $0 >= 0 }) {
            let bins = 4096, scale = Float(bins) / top
            @inline(__always) func bin(_ v: Float) -> Int { min(bins - 1, Int(v * scale)) }
            var counts = [Int](repeating: 0, count: bins)
            for v in values { counts[bin(v)] += 1 }
            var b = bins - 1, above = 0
            while above + counts[b] < k { above += counts[b]; b -= 1 }
            var sum = 0.0, edge: [Float] = []
            edge.reserveCapacity(counts[b])
            for v in values {
                let i = bin(v)
                if i > b { sum += Double(v) } else if i == b { edge.append(v) }
            }
            edge.sort(by: >)
            for t in 0..<(k - above) { sum += Double(edge[t]) }
            return sum / Double(k)
        }
        var a = values
        // Quickselect: move the k largest to a[0..<k].
        var lo = 0, hi = a.count - 1
        var rng = SplitMix64(seed: 0x5DEECE66D)
        while lo < hi {
            let pivot = a[lo + Int(rng.next() % UInt64(hi - lo + 1))]
            var i = lo, j = hi
            while i <= j {
                while a[i] > pivot { i += 1 }
                while a[j] < pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k - 1 <= j { hi = j } else if k - 1 >= i { lo = i } else { break }
        }
        var sum = 0.0
        for t in 0..<k { sum += Double(a[t]) }
        return sum / Double(k)
    }

    /// What `warping_error` sums over one pair: every pixel x whose forward
    /// target x + fw(x) lies inside the frame is checked; `error` is the sum of
    /// |I_t(x + fw) − I_{t−1}(x)| over them (bilinear, as ``BilinearTap``
    /// samples), `occluded` counts those that fail the forward-backward check
    /// |fw(x) + bw(x + fw)|² > 0.01 (|fw|² + |bw|²) + 0.5 (EvalCrafter's rule).
    /// Eight pixels at a time: the arithmetic in vectors, the taps read lane
    /// by lane, the error summed pixel by pixel in order (the same numbers as
    /// the plain loop).
    public static func warping(forward fw: FlowField, backward bw: FlowField, image: FloatImage,
                               previous: FloatImage) -> (error: Double, checked: Int, occluded: Int) {
        let w = fw.width, h = fw.height
        precondition(bw.width == w && bw.height == h && image.width == w && image.height == h
                     && previous.width == w && previous.height == h, "one size")
        let right = Float(w - 1), bottom = Float(h - 1)
        var sum = 0.0, n = 0, occluded = 0
        guard w >= 2, h >= 2 else {
            for y in 0..<h {
                for x in 0..<w {
                    let k = y * w + x, u = fw.u[k], v = fw.v[k]
                    let tx = Float(x) + u, ty = Float(y) + v
                    guard tx >= 0, ty >= 0, tx <= right, ty <= bottom else { continue }
                    let (bu, bv) = bw.sample(tx, ty)
                    let du = u + bu, dv = v + bv
                    if du * du + dv * dv > 0.01 * (u * u + v * v + bu * bu + bv * bv) + 0.5 { occluded += 1 }
                    sum += Double(abs(image.sample(tx, ty) - previous.pixels[k]))
                    n += 1
                }
            }
            return (sum, n, occluded)
        }
        typealias V = SIMD8<Float>
        let lanes = V(0, 1, 2, 3, 4, 5, 6, 7)
        func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        fw.u.withUnsafeBufferPointer { fub in
        fw.v.withUnsafeBufferPointer { fvb in
        bw.u.withUnsafeBufferPointer { bub in
        bw.v.withUnsafeBufferPointer { bvb in
        image.pixels.withUnsafeBufferPointer { ib in
        previous.pixels.withUnsafeBufferPointer { pb in
            let fu = fub.baseAddress!, fv = fvb.baseAddress!, pu = bub.baseAddress!, pv = bvb.baseAddress!
            let img = ib.baseAddress!, prev = pb.baseAddress!
            for y in 0..<h {
                var x = 0
                while x + 8 <= w {
                    let k = y * w + x
                    let u = load(fu + k), v = load(fv + k)
                    let rx = V(repeating: Float(x)) + lanes + u, ry = V(repeating: Float(y)) + v
                    let inside = (rx .>= 0) .& (ry .>= 0) .& (rx .<= right) .& (ry .<= bottom)
                    if !any(inside) {
                        x += 8
                        continue
                    }
                    let tx = rx.replacing(with: 0, where: .!inside), ty = ry.replacing(with: 0, where: .!inside)
                    var fx = V(), fy = V()
                    var u00 = V(), u01 = V(), u10 = V(), u11 = V(), v00 = V(), v01 = V(), v10 = V(), v11 = V()
                    var i00 = V(), i01 = V(), i10 = V(), i11 = V()
                    for l in 0..<8 {
                        let x0 = min(Int(tx[l]), w - 2), y0 = min(Int(ty[l]), h - 2)
                        fx[l] = tx[l] - Float(x0)
                        fy[l] = ty[l] - Float(y0)
                        let a = y0 * w + x0, b = a + w
                        u00[l] = pu[a]; u01[l] = pu[a + 1]; u10[l] = pu[b]; u11[l] = pu[b + 1]
                        v00[l] = pv[a]; v01[l] = pv[a + 1]; v10[l] = pv[b]; v11[l] = pv[b + 1]
                        i00[l] = img[a]; i01[l] = img[a + 1]; i10[l] = img[b]; i11[l] = img[b + 1]
                    }
                    let bu = (u00 + (u01 - u00) * fx) * (1 - fy) + (u10 + (u11 - u10) * fx) * fy
                    let bv = (v00 + (v01 - v00) * fx) * (1 - fy) + (v10 + (v11 - v10) * fx) * fy
                    let warped = (i00 + (i01 - i00) * fx) * (1 - fy) + (i10 + (i11 - i10) * fx) * fy
                    let du = u + bu, dv = v + bv
                    let failed = du * du + dv * dv .> 0.01 * (u * u + v * v + bu * bu + bv * bv) + 0.5
                    let e = warped - load(prev + k)
                    for l in 0..<8 where inside[l] {
                        if failed[l] { occluded += 1 }
                        sum += Double(abs(e[l]))
                        n += 1
                    }
                    x += 8
                }
                while x < w {
                    let k = y * w + x, u = fu[k], v = fv[k]
                    let tx = Float(x) + u, ty = Float(y) + v
                    if tx >= 0, ty >= 0, tx <= right, ty <= bottom {
                        let tap = BilinearTap(width: w, height: h, tx, ty)
                        let bu = tap.apply(pu), bv = tap.apply(pv)
                        let du = u + bu, dv = v + bv
                        if du * du + dv * dv > 0.01 * (u * u + v * v + bu * bu + bv * bv) + 0.5 { occluded += 1 }
                        sum += Double(abs(tap.apply(img) - prev[k]))
                        n += 1
                    }
                    x += 1
                }
            }
        }
        }
        }
        }
        }
        }
        return (sum, n, occluded)
    }
}
