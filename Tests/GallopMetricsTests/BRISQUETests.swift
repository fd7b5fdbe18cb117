import Foundation
import GallopCore
@testable import GallopMetrics
import GallopTestSupport
import XCTest

/// Known answers for `brisque`: the peer's (PyPI `brisque` 0.2.0 with its
/// model, fed Y/255 of the same planes) features and scores on small
/// deterministic planes, printed at full precision by
/// `python3 -m gallopcheck.crosscheck_brisque fixtures` (the venv's python).
/// Features agree within 1e-9 relative (plus 1e-12: SciPy's root solver stops
/// within 1.5e-8 of α, NumPy sums pairwise), scores within 1e-7.
enum BRISQUEPlanes {
    static let scene = VMAFPlanes.scene(48, 40, seed: 7)

    /// (name, plane, the peer's 36 features, the peer's score)
    static let cases: [(String, PlaneBuffer, [Double], Double)] = [
        ("scene 48x40 seed 7", scene,
         [2.3602980047399074, 0.296428996937108, 0.9501237352420648, -0.06069946244670614, 0.14105792055732666, 0.08328909940210355,
          0.8911978183578146, -0.04790145785905783, 0.14904015895523587, 0.09998585914990443, 0.9663432543371266, -0.044682027858771935,
          0.11236445939235204, 0.07369313352495493, 0.8330509921961253, -0.02831521890671569, 0.13077324330916879, 0.10208680351413546,
          1.9192115542897783, 0.3115328111416247, 0.6714269563658309, -0.0764666017486756, 0.200472247118608, 0.1058335807833924,
          0.7024772105880791, 0.0899661692823768, 0.07548341651389823, 0.17336517804014664, 0.7438473885727482, -0.10130983291955264,
          0.14961705091725547, 0.05313278329846219, 0.6838632274259353, 0.12731222133510875, 0.04467120224593151, 0.17120646916525822],
         75.77752138869968),
        ("scene 48x40 seed 7, noise ±30 seed 9", VMAFPlanes.distort(scene, seed: 9, amp: 30),
         [5.0305081260617595, 0.5279955363433793, 1.1210315034216456, -0.08410381139381376, 0.3283409329236289, 0.20905222473923246,
          1.1343370169665843, -0.060267336258313965, 0.3141272572837764, 0.22820999104017367, 1.1093249933836618, -0.06094962823854821,
          0.31051063627144704, 0.22384998786414026, 1.0290587149888755, -0.03432412504760502, 0.32434434925484895, 0.2717660114490104,
          3.1509096523364053, 0.41561446135150293, 0.8441372434975366, -0.06698866271380924, 0.24175675227711807, 0.15401433259769975,
          0.9218290835585488, 0.04845870003777675, 0.1363331504799324, 0.1929293109267725, 0.9161598415573171, -0.020785797281464034,
          0.1628461951890037, 0.13947528771069226, 0.8778891749467584, 0.12529085117715197, 0.08679283870047853, 0.22857567872883222],
         66.89210981966525),
        ("scene 37x33 seed 3", VMAFPlanes.scene(37, 33, seed: 3),
         [2.9949474782624184, 0.3079899022783089, 0.9950835731698132, -0.05502579642714181, 0.14327694235999613, 0.09036335571101425,
          0.9122956470262121, -0.04018149653515304, 0.15546755741576856, 0.1129506287267949, 1.016435665619359, -0.06033777388461207,
          0.1276521659899598, 0.07414617925516048, 0.8815272095660565, -0.030490588664037577, 0.13031131910387844, 0.10009995493422129,
          2.8433350077378123, 0.31573123776408607, 0.6300694441631216, -0.03146837797442785, 0.1744490148574364, 0.13396562496536854,
          0.7992768363956672, 0.10047051711776339, 0.07380716058372407, 0.17896853163431659, 0.7763899978615173, -0.08526652347474668,
          0.13978567460002278, 0.059636095857185975, 0.8689852922568054, 0.17077665698689798, 0.0194571767099883, 0.15235829217674968],
         79.70325703408614),
        ("ramp 40x32 (x*5 + y*3) % 256", ramp,
         [0.385021152619269, 0.056631007432847984, 0.2746300675965181, 0.007804604381916348, 0.01640324941723753, 0.02247014148747582,
          0.2605415796170321, -0.00021080863113080662, 0.019766342238268394, 0.019592234161174473, 0.2756390766798191, -0.009875435369070804,
          0.01229638585002199, 0.006950317402287787, 0.24740975269309382, -0.007829040912417854, 0.017706101407199762, 0.011828839015213045,
          0.6204758682768157, 0.09943921873652983, 0.37363104463937985, -0.021538228196964868, 0.05837950080032372, 0.03793195761007209,
          0.36841511001546395, 0.02985070972526429, 0.013261673063436605, 0.03266805522894602, 0.36641183666156146, -0.026549459658366473,
          0.030565405246551804, 0.013519556619056535, 0.3731817647326215, 0.04302745557378815, 0.003044584177351396, 0.022160479836120975],
         113.44457704334357),
    ]

    static var ramp: PlaneBuffer {
        PlaneBuffer(width: 40, height: 32, samples: (0..<32).flatMap { y in (0..<40).map { x in UInt8((x * 5 + y * 3) % 256) } })
    }
}

final class BRISQUETests: XCTestCase {
    /// Every feature and the score of each plane, against the peer's.
    func testKnownAnswersAgainstThePeer() {
        for (name, plane, expected, score) in BRISQUEPlanes.cases {
            let f = plane.withPlane { BRISQUE.features($0) }
            guard let f else { return XCTFail("\(name): no features") }
            XCTAssertEqual(f.count, 36, name)
            for i in 0..<36 {
                XCTAssertEqual(f[i], expected[i], accuracy: 1e-9 * abs(expected[i]) + 1e-12, "\(name) feature \(i)")
            }
            XCTAssertEqual(plane.withPlane { BRISQUE.score($0) }!, score, accuracy: 1e-7, name)
            // The model alone on the peer's own features reads the peer's score (the SVR, apart from the features).
            XCTAssertEqual(BRISQUEModel.v020.predict(expected), score, accuracy: 1e-9, "\(name): the SVR on the peer's features")
        }
    }

    /// OpenCV 5.0's `cv2.resize(g, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)` of g = Y/255:
    /// sizes (37 × 33 → 18 × 16: halves round to even), the sum and three samples, as the fixtures script prints.
    func testHalfSizeIsOpenCVsCubicResize() {
        func half(_ p: PlaneBuffer) -> (values: [Double], width: Int, height: Int) {
            BRISQUE.halfCubic(p.samples.map { Double($0) / 255 }, width: p.width, height: p.height)
        }
        let a = half(BRISQUEPlanes.scene)
        XCTAssertEqual(a.width, 24); XCTAssertEqual(a.height, 20)
        XCTAssertEqual(a.values.reduce(0, +), 226.73823529411766, accuracy: 1e-12)
        XCTAssertEqual(a.values[a.values.count - 1], 0.710665594362745, accuracy: 1e-15)
        let b = half(VMAFPlanes.scene(37, 33, seed: 3))
        XCTAssertEqual(b.width, 18); XCTAssertEqual(b.height, 16)
        XCTAssertEqual(b.values.reduce(0, +), 136.16145833333334, accuracy: 1e-12)
        XCTAssertEqual(b.values[b.values.count - 1], 0.6493374693627452, accuracy: 1e-15)
        // The ramp by hand: row r of the source is 5x + 3r, so sample (0, 0) reads columns 0, 0, 1, 2 (the edge
        // replicated) and rows 0, 0, 1, 2: 2.03125 + 3·(−3/32·0 + 19/32·0 + 19/32·1 − 3/32·2) = 3.25, over 255.
        let c = half(BRISQUEPlanes.ramp)
        XCTAssertEqual(c.width, 20); XCTAssertEqual(c.height, 16)
        XCTAssertEqual(c.values[0], 3.25 / 255, accuracy: 1e-16)
        XCTAssertEqual(c.values[1 * 20 + 2], 0.11764705882352942, accuracy: 1e-15)
        XCTAssertEqual(c.values.reduce(0, +), 169.6627450980392, accuracy: 1e-12)
    }

    /// The embedded resource is the package's model, read exactly.
    func testResourceIsThePackagesModel() {
        let m = BRISQUEModel.v020
        XCTAssertEqual(m.version, "brisque 0.2.0")
        XCTAssertTrue(m.source.contains("f2c2c8ded825a0c1bca5113ed7f18ed5") && m.source.contains("3fc7ee08fccbc3a8721be1e95bdd920c"), m.source)
        XCTAssertTrue(m.licence.hasPrefix("Apache-2.0"))
        XCTAssertEqual(m.gamma, 0.05)
        XCTAssertEqual(m.rho, -155.845)
        XCTAssertEqual(m.vectors.count, 770)
        XCTAssertEqual(m.coefficients.count, 770)
        XCTAssertEqual(m.coefficients[0], -1024)
        XCTAssertEqual(m.coefficients[10], -427.0784594459771)
        // svm.txt's first line: `-1024 1:-0.597198 2:-0.143425 … 36:-0.314717`.
        XCTAssertEqual(m.vectors[0][0], -0.597198)
        XCTAssertEqual(m.vectors[0][35], -0.314717)
        XCTAssertEqual(m.minimum[0], 0.336999)
        XCTAssertEqual(m.maximum[0], 9.999411)
        XCTAssertEqual(m.minimum[35], 0.000351)
        XCTAssertEqual(m.maximum[35], 0.534484)
    }

    /// The SVR against a direct evaluation of its formula, written another way (‖x‖² + ‖v‖² − 2x·v, the kernel
    /// as a product of per-feature exponentials, the scaling as an affine map from the ranges' midpoints).
    func testPredictionIsTheSVRFormula() {
        let m = BRISQUEModel.v020
        var rng = SplitMix64(seed: 5)
        for _ in 0..<3 {
            var f: [Double] = [], x: [Double] = []
            for i in 0..<36 {
                let lo = m.minimum[i], hi = m.maximum[i]
                f.append(lo + rng.uniform() * (hi - lo))
                x.append((f[i] - (lo + hi) / 2) / ((hi - lo) / 2))
            }
            var direct = 0.0
            for (k, v) in m.vectors.enumerated() {
                var xx = 0.0, vv = 0.0, xv = 0.0, kernel = 1.0
                for i in 0..<36 {
                    xx += x[i] * x[i]
                    vv += v[i] * v[i]
                    xv += x[i] * v[i]
                    let d = x[i] - v[i]
                    kernel *= exp(-m.gamma * d * d)
                }
                let d2 = xx + vv - 2 * xv
                XCTAssertEqual(kernel, exp(-m.gamma * d2), accuracy: 1e-12)
                direct += m.coefficients[k] * kernel
            }
            XCTAssertEqual(m.predict(f), direct - m.rho, accuracy: 1e-8)
        }
    }

    /// α solves ρ(α) = R̂: a Laplacian-like symmetric sample set (α = 1 has ρ = 1/2) and a Gaussian-like one.
    func testShapeIsSolved() {
        XCTAssertEqual(NaturalScene.shapeRatio(1), 0.5, accuracy: 1e-15)
        XCTAssertEqual(NaturalScene.shapeRatio(2), 2 / Double.pi, accuracy: 1e-15)
        // Samples ±1 and ±3 in equal numbers: E|x| = 2, E[x²] = 5, r̂ = 4/5, γ̂ = 1, so R̂ = 0.8 ≥ 3/4: no shape.
        XCTAssertNil(NaturalScene.aggdSolved(NaturalScene.AGGDMoments([1, -1, 3, -3])))
        // Symmetric, r̂ = 2/π: α = 2, η = 0, σ_l = σ_r.
        var m = NaturalScene.AGGDMoments()
        m.negatives = 1; m.positives = 1
        m.negativeSquares = Double.pi / 2; m.positiveSquares = Double.pi / 2
        m.magnitudes = 2
        let fit = NaturalScene.aggdSolved(m)!
        XCTAssertEqual(fit.alpha, 2, accuracy: 1e-12)
        XCTAssertEqual(fit.mean, 0, accuracy: 1e-15)
        // One side empty: undefined.
        XCTAssertNil(NaturalScene.aggdSolved(NaturalScene.AGGDMoments([1, 2, 3])))
    }

    /// A black frame (every MSCN coefficient 0, no negative one) is undefined; a flat grey one has coefficients
    /// only along its zero-padded border, and gives a finite value or none, never a NaN.
    /// Frames under 48 px a side read null with a warning naming the size; 48 is scored.
    func testSmallFramesAreNull() {
        let r = score([BRISQUE.self], luma: [VMAFPlanes.scene(47, 60, seed: 2), VMAFPlanes.scene(47, 60, seed: 3)])
        XCTAssertEqual(r["brisque"]!.output.series.map { $0 == nil }, [true, true])
        XCTAssertNil(value(r, "brisque"))
        XCTAssertEqual(r["brisque"]!.output.warnings, ["brisque needs frames of at least 48×48; these are 47×60"])
        let ok = score([BRISQUE.self], luma: [VMAFPlanes.scene(48, 48, seed: 4)])
        XCTAssertNotNil(ok["brisque"]!.output.series[0])
    }

    func testBlackFrameIsUndefined() {
        XCTAssertNil(Planes.constant(32, 32, 0).withPlane { BRISQUE.score($0) })
        if let v = Planes.constant(32, 32, 128).withPlane({ BRISQUE.score($0) }) { XCTAssertTrue(v.isFinite) }
    }
}
