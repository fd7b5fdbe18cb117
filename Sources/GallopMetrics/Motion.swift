import Dispatch
import GallopCore

/// The optical flows one frame brings, computed once by the engine for every
/// metric that asked (`Needs.flow`, `.backwardFlow`, `.skipFlow`).
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

/// How finely each of a frame's flows is searched, from `options.flow`: the
/// forward flow, which four metrics read directly, at the motion size; the
/// backward flow (only `warping_error`'s occlusion test reads it) and the
/// two-apart pair (only `motion_smoothness`'s interpolation) down to the
/// smallest pyramid level whose long side is at least `backwardSide` and
/// `skipSide` px, then scaled up. At the default motion size that is half of
/// it, a quarter of the patches, which moves those two metrics by less than
/// their stated tolerances (`MotionPlanTests`); frames whose long side is
/// under 256 px have every flow searched at their own size.
struct MotionPlan: Sendable, Hashable {
    var backwardSide = 256
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
    let needs: Needs
    let threads: Int
    let dis: DISFlow
    let plan: MotionPlan
    private var pyramids: [FlowPyramid] = []
    /// Scratch memory, one per flow that may run at once.
    private let workspaces: [FlowWorkspace]

    init(needs: Needs, dis: DISFlow = DISFlow(), plan: MotionPlan = MotionPlan(), threads: Int = 1) {
        self.needs = needs
        self.dis = dis
        self.plan = plan
        self.threads = max(1, threads)
        // One per flow of a frame when they run at once (up to four), else one.
        workspaces = (0..<(threads > 1 ? 4 : 1)).map { _ in FlowWorkspace() }
    }

    /// One flow to compute: between two of the kept pyramids, searched down to `finest`.
    private struct Job { var from: Int; var to: Int; var finest: Int }

    /// The flows of `jobs`, concurrently when allowed.
    private func flows(_ jobs: [Job]) -> [FlowField] {
        let dis = self.dis, pyramids = self.pyramids, workspaces = self.workspaces
        guard threads > 1, jobs.count > 1 else {
            return jobs.map { dis.flow(from: pyramids[$0.from], to: pyramids[$0.to], initial: nil, finestLevel: $0.finest, workspace: workspaces[0]) }
        }
        var out = [FlowField?](repeating: nil, count: jobs.count)
        out.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let results = buffer
            DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
                results[i] = dis.flow(from: pyramids[jobs[i].from], to: pyramids[jobs[i].to], initial: nil, finestLevel: jobs[i].finest,
                                      workspace: workspaces[i])
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
        let backwardLevel = MotionPlan.level(forSide: plan.backwardSide, in: pyramid)
        let skipLevel = MotionPlan.level(forSide: plan.skipSide, in: pyramid)
        var jobs: [Job] = []
        if n >= 2 {
            jobs.append(Job(from: n - 2, to: n - 1, finest: 0))
            if needs.contains(.backwardFlow) { jobs.append(Job(from: n - 1, to: n - 2, finest: backwardLevel)) }
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

    /// Forward-backward consistency: a pixel is occluded when the backward
    /// flow at its forward target does not bring it back, |fw(x) + bw(x + fw)|²
    /// > 0.01 (|fw|² + |bw|²) + 0.5 (EvalCrafter's and Sundaram et al.'s rule).
    /// A target outside the frame is occluded. The backward flow is sampled
    /// bilinearly as ``BilinearTap`` does, in a loop over raw rows.
    public static func occluded(forward fw: FlowField, backward bw: FlowField) -> [Bool] {
        precondition(fw.width == bw.width && fw.height == bw.height, "flows of one size")
        let w = fw.width, h = fw.height
        var out = [Bool](repeating: true, count: w * h)
        let maxX = Float(w - 1), maxY = Float(h - 1)
        guard w >= 2, h >= 2 else {
            for y in 0..<h {
                for x in 0..<w {
                    let k = y * w + x, u = fw.u[k], v = fw.v[k]
                    let tx = Float(x) + u, ty = Float(y) + v
                    guard tx >= 0, ty >= 0, tx <= maxX, ty <= maxY else { continue }
                    let (bu, bv) = bw.sample(tx, ty)
                    let du = u + bu, dv = v + bv
                    out[k] = du * du + dv * dv > 0.01 * (u * u + v * v + bu * bu + bv * bv) + 0.5
                }
            }
            return out
        }
        typealias V = SIMD8<Float>
        let lanes = V(0, 1, 2, 3, 4, 5, 6, 7)
        fw.u.withUnsafeBufferPointer { fub in
            fw.v.withUnsafeBufferPointer { fvb in
                bw.u.withUnsafeBufferPointer { bub in
                    bw.v.withUnsafeBufferPointer { bvb in
                        out.withUnsafeMutableBufferPointer { o in
                            let fu = fub.baseAddress!, fv = fvb.baseAddress!, pu = bub.baseAddress!, pv = bvb.baseAddress!
                            func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
                            for y in 0..<h {
                                var x = 0
                                // Eight pixels at a time: the arithmetic in vectors, the taps gathered lane by lane.
                                while x + 8 <= w {
                                    let k = y * w + x
                                    let u = load(fu + k), v = load(fv + k)
                                    let rx = V(repeating: Float(x)) + lanes + u, ry = V(repeating: Float(y)) + v
                                    let inside = (rx .>= 0) .& (ry .>= 0) .& (rx .<= maxX) .& (ry .<= maxY)
                                    let tx = rx.replacing(with: 0, where: .!inside), ty = ry.replacing(with: 0, where: .!inside)
                                    var fx = V(), fy = V(), u00 = V(), u01 = V(), u10 = V(), u11 = V(), v00 = V(), v01 = V(), v10 = V(), v11 = V()
                                    for l in 0..<8 {
                                        let x0 = min(Int(tx[l]), w - 2), y0 = min(Int(ty[l]), h - 2)
                                        fx[l] = tx[l] - Float(x0)
                                        fy[l] = ty[l] - Float(y0)
                                        let k00 = y0 * w + x0
                                        u00[l] = pu[k00]; u01[l] = pu[k00 + 1]; u10[l] = pu[k00 + w]; u11[l] = pu[k00 + w + 1]
                                        v00[l] = pv[k00]; v01[l] = pv[k00 + 1]; v10[l] = pv[k00 + w]; v11[l] = pv[k00 + w + 1]
                                    }
                                    let topU = u00 + (u01 - u00) * fx, bottomU = u10 + (u11 - u10) * fx
                                    let topV = v00 + (v01 - v00) * fx, bottomV = v10 + (v11 - v10) * fx
                                    let bu = topU * (1 - fy) + bottomU * fy, bv = topV * (1 - fy) + bottomV * fy
                                    let du = u + bu, dv = v + bv
                                    let inconsistent = du * du + dv * dv .> 0.01 * (u * u + v * v + bu * bu + bv * bv) + 0.5
                                    let flagged = .!inside .| inconsistent
                                    for l in 0..<8 { o[k + l] = flagged[l] }
                                    x += 8
                                }
                                // The rest of the row, one pixel at a time, the same arithmetic.
                                while x < w {
                                    let k = y * w + x
                                    let u = fu[k], v = fv[k]
                                    let tx = Float(x) + u, ty = Float(y) + v
                                    if tx >= 0, ty >= 0, tx <= maxX, ty <= maxY {
                                        let x0 = min(Int(tx), w - 2), y0 = min(Int(ty), h - 2)
                                        let fx = tx - Float(x0), fy = ty - Float(y0)
                                        let k00 = y0 * w + x0, k10 = k00 + w
                                        let topU = pu[k00] + (pu[k00 + 1] - pu[k00]) * fx, bottomU = pu[k10] + (pu[k10 + 1] - pu[k10]) * fx
                                        let topV = pv[k00] + (pv[k00 + 1] - pv[k00]) * fx, bottomV = pv[k10] + (pv[k10 + 1] - pv[k10]) * fx
                                        let bu = topU * (1 - fy) + bottomU * fy, bv = topV * (1 - fy) + bottomV * fy
                                        let du = u + bu, dv = v + bv
                                        o[k] = du * du + dv * dv > 0.01 * (u * u + v * v + bu * bu + bv * bv) + 0.5
                                    }
                                    x += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
