import GallopCore

/// `motion_smoothness`: can the motion be interpolated? (VBench's dimension,
/// with flow-based interpolation in place of its AMT network.)
///
/// As VBench (`vbench/motion_smoothness.py`): keep frames 0, 2, 4, …, rebuild
/// each odd frame from its two neighbours at t = 0.5 and compare with the
/// real one. Gallop's interpolation: with F the flow from frame t−2 to t and G
/// the flow back, the middle frame is B(x) = ½ [I_{t−2}(x − ½F(x)) + I_t(x − ½G(x))]
/// (bilinear, motion-size luma). Score = (255 − mean |B − I_{t−1}|) / 255,
/// the mean over every rebuilt frame and pixel. Higher is smoother; stutter,
/// shuffled or jittering frames lower it. VBench scores RGB frames rebuilt by
/// AMT, so values differ from its table; rankings are what compare. Ground
/// truth: a steady pan rebuilds almost exactly (> 0.99), a shuffled clip
/// scores lower than its original (`MotionTests`). Series: per rebuilt frame
/// error (at the odd frame's index).
public final class MotionSmoothness: Metric {
    public static let info = MetricInfo(
        name: "motion_smoothness", summary: "1 − error of flow-interpolated middle frames / 255", direction: .higher,
        needs: [.skipFlow], temporal: true,
        tolerance: .absolute(0.002), composite: CompositeRole(group: "motion", worst: 0.95, best: 1),
        about: "VBench's rule with flow interpolation: drop odd frames, rebuild them from their neighbours, (255 − error)/255",
        checkedAgainst: "shuffled and held-frame clips score lower; reversed scores the same",
        toleranceReason: "a re-encode moves it by 0.0001")

    private var series: [Double?] = []
    private var errors: [Double] = []

    public init() {}

    public func consume(_ c: FrameContext) {
        series.append(nil)
        guard let m = c.motion, let f = m.skipForward, let g = m.skipBackward, let a = m.twoBackImage, let real = m.previousImage else {
            return
        }
        let img = m.image, w = img.width, h = img.height
        var sum = 0.0
        a.pixels.withUnsafeBufferPointer { pa in
            img.pixels.withUnsafeBufferPointer { pc in
                real.pixels.withUnsafeBufferPointer { pr in
                    f.u.withUnsafeBufferPointer { fu in
                        f.v.withUnsafeBufferPointer { fv in
                            g.u.withUnsafeBufferPointer { gu in
                                g.v.withUnsafeBufferPointer { gv in
                                    sum = MotionSmoothness.rebuildError(a: pa.baseAddress!, c: pc.baseAddress!, real: pr.baseAddress!,
                                                                        f: (fu.baseAddress!, fv.baseAddress!), g: (gu.baseAddress!, gv.baseAddress!),
                                                                        width: w, height: h)
                                }
                            }
                        }
                    }
                }
            }
        }
        let error = sum / Double(w * h)
        errors.append(error)
        if series.count >= 2 { series[series.count - 2] = error }
    }

    /// Σ |½ [A(x − ½F(x)) + C(x − ½G(x))] − real(x)| over the frame, each
    /// sample bilinear and clamped as ``BilinearTap`` samples. Eight pixels
    /// at a time: the taps are read lane by lane, the arithmetic is in vectors.
    static func rebuildError(a: UnsafePointer<Float>, c: UnsafePointer<Float>, real: UnsafePointer<Float>,
                             f: (UnsafePointer<Float>, UnsafePointer<Float>), g: (UnsafePointer<Float>, UnsafePointer<Float>),
                             width w: Int, height h: Int) -> Double {
        typealias V = SIMD8<Float>
        func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        var sum = 0.0
        let lanes = V(0, 1, 2, 3, 4, 5, 6, 7), maxX = V(repeating: Float(w - 1)), maxY = V(repeating: Float(h - 1)), zero = V()
        /// Bilinear samples of `p` at eight positions.
        func taps(_ p: UnsafePointer<Float>, _ x: V, _ y: V) -> V {
            let cx = x.replacing(with: zero, where: x .< zero).replacing(with: maxX, where: x .> maxX)
            let cy = y.replacing(with: zero, where: y .< zero).replacing(with: maxY, where: y .> maxY)
            var p00 = V(), p01 = V(), p10 = V(), p11 = V(), fx = V(), fy = V()
            for l in 0..<8 {
                let x0 = min(Int(cx[l]), w - 2), y0 = min(Int(cy[l]), h - 2)
                fx[l] = cx[l] - Float(x0)
                fy[l] = cy[l] - Float(y0)
                let k = y0 * w + x0
                p00[l] = p[k]; p01[l] = p[k + 1]; p10[l] = p[k + w]; p11[l] = p[k + w + 1]
            }
            let top = p00 + (p01 - p00) * fx, bottom = p10 + (p11 - p10) * fx
            return top * (1 - fy) + bottom * fy
        }
        for y in 0..<h {
            var x = 0
            if w >= 2 && h >= 2 {
                let fy = V(repeating: Float(y))
                while x + 8 <= w {
                    let k = y * w + x, fx = V(repeating: Float(x)) + lanes
                    let fromA = taps(a, fx - 0.5 * load(f.0 + k), fy - 0.5 * load(f.1 + k))
                    let fromC = taps(c, fx - 0.5 * load(g.0 + k), fy - 0.5 * load(g.1 + k))
                    let e = 0.5 * (fromA + fromC) - load(real + k)
                    for l in 0..<8 { sum += Double(abs(e[l])) }
                    x += 8
                }
            }
            while x < w {
                let k = y * w + x
                let fromA = BilinearTap(width: w, height: h, Float(x) - 0.5 * f.0[k], Float(y) - 0.5 * f.1[k]).apply(a)
                let fromC = BilinearTap(width: w, height: h, Float(x) - 0.5 * g.0[k], Float(y) - 0.5 * g.1[k]).apply(c)
                sum += Double(abs(0.5 * (fromA + fromC) - real[k]))
                x += 1
            }
        }
        return sum
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard !errors.isEmpty else {
            return MetricOutput(values: [(Self.info.name, nil)], series: series, warnings: ["motion_smoothness needs at least three frames"])
        }
        return MetricOutput(values: [(Self.info.name, (255 - Series.mean(errors)!) / 255)], series: series)
    }
}
