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

/// Keeps the last frames' pyramids so each frame's pyramid is built once.
/// A frame's flows (up to four: forward, backward and the two-apart pair)
/// are independent; with `threads` > 1 they run concurrently. Each flow is
/// computed the same way on any thread, so the numbers do not change.
final class MotionState {
    let needs: Needs
    let threads: Int
    let dis: DISFlow
    private var pyramids: [[FloatImage]] = []

    init(needs: Needs, dis: DISFlow = DISFlow(), threads: Int = 1) {
        self.needs = needs
        self.dis = dis
        self.threads = max(1, threads)
    }

    /// The flows between pyramid pairs (from, to), concurrently when allowed.
    private func flows(_ pairs: [(from: Int, to: Int)]) -> [FlowField] {
        let dis = self.dis, pyramids = self.pyramids
        guard threads > 1, pairs.count > 1 else { return pairs.map { dis.flow(from: pyramids[$0.from], to: pyramids[$0.to]) } }
        var out = [FlowField?](repeating: nil, count: pairs.count)
        out.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let results = buffer
            DispatchQueue.concurrentPerform(iterations: pairs.count) { i in
                results[i] = dis.flow(from: pyramids[pairs[i].from], to: pyramids[pairs[i].to])
            }
        }
        return out.map { $0! }
    }

    func consume(_ frame: Frame) -> MotionAnalysis? {
        guard let plane = frame.motion else { return nil }
        let pyramid = dis.pyramid(FloatImage(plane))
        pyramids.append(pyramid)
        if pyramids.count > 3 { pyramids.removeFirst() }
        let n = pyramids.count
        var forward: FlowField?, backward: FlowField?, skipForward: FlowField?, skipBackward: FlowField?
        var pairs: [(from: Int, to: Int)] = []
        if n >= 2 {
            pairs.append((n - 2, n - 1))
            if needs.contains(.backwardFlow) { pairs.append((n - 1, n - 2)) }
        }
        let skip = n == 3 && needs.contains(.skipFlow) && frame.index % 2 == 0
        if skip { pairs += [(0, 2), (2, 0)] }
        var computed = flows(pairs)[...]
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
        return MotionAnalysis(image: pyramid[0], previousImage: n >= 2 ? pyramids[n - 2][0] : nil,
                              twoBackImage: n == 3 ? pyramids[0][0] : nil,
                              forward: forward, backward: backward, skipForward: skipForward, skipBackward: skipBackward,
                              forwardMagnitude: magnitude)
    }
}

/// Shared flow statistics used by the motion metrics.
public enum FlowStats {
    /// Magnitude of every vector.
    public static func magnitudes(_ f: FlowField) -> [Float] {
        var out = [Float](repeating: 0, count: f.u.count)
        for k in 0..<f.u.count { out[k] = (f.u[k] * f.u[k] + f.v[k] * f.v[k]).squareRoot() }
        return out
    }

    /// Mean of the largest `fraction` of the values (VBench's "top 5%" is 0.05),
    /// by selection in linear time rather than a full sort.
    public static func topMean(_ values: [Float], fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let k = max(1, Int((Double(values.count) * fraction).rounded()))
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
    public static func occluded(forward fw: FlowField, backward bw: FlowField) -> [Bool] {
        var out = [Bool](repeating: false, count: fw.u.count)
        for y in 0..<fw.height {
            for x in 0..<fw.width {
                let k = y * fw.width + x
                let u = fw.u[k], v = fw.v[k]
                let tx = Float(x) + u, ty = Float(y) + v
                if tx < 0 || ty < 0 || tx > Float(fw.width - 1) || ty > Float(fw.height - 1) { out[k] = true; continue }
                let (bu, bv) = bw.sample(tx, ty)
                let du = u + bu, dv = v + bv
                out[k] = du * du + dv * dv > 0.01 * (u * u + v * v + bu * bu + bv * bv) + 0.5
            }
        }
        return out
    }
}
