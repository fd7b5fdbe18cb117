import GallopCore

/// `ssim`: structural similarity of the luma against the reference (Wang,
/// Bovik, Sheikh and Simoncelli 2004).
///
/// Per frame: ``Similarity/gaussianSSIM(_:_:)``, an 11×11 Gaussian window
/// (σ = 1.5), K1 = 0.01, K2 = 0.03, L = 255, population covariances, mean over
/// the valid region: scikit-image's `structural_similarity(gaussian_weights=True,
/// sigma=1.5, use_sample_covariance=False, data_range=255)` on the stored luma,
/// within 0.001 per frame (`scripts/verify crosscheck-fidelity`). Clip: mean over frames.
/// Identical frames read exactly 1 (`SimilarityTests`). Series: per frame.
public final class SSIM: Metric {
    public static let info = MetricInfo(
        name: "ssim", summary: "SSIM of the luma against the reference (Gaussian window, scikit-image's)", direction: .higher,
        needs: [.referenceImages], temporal: false, resolution: .native, tolerance: .absolute(0.005),
        about: "scikit-image's Gaussian SSIM (11×11, σ 1.5) on the stored luma",
        checkedAgainst: "a scalar implementation of the definition; `scripts/verify crosscheck-fidelity` against scikit-image")

    private var values = PerFrameSeries()

    public init() {}

    public func consume(_ c: FrameContext) {
        guard let images = c.referenceImages else { return }
        if let s = Similarity.gaussianSSIM(images.frame, images.reference) { values.append(s.ssim) }
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput { values.output(Self.info) }
}

/// `ssim_fast`: FFmpeg's `ssim` filter (x264's 8×8 block SSIM,
/// `libavfilter/vf_ssim.c`) on the luma, its `Y` value.
///
/// Per frame: ``Similarity/ssimFast(_:_:)``. Clip: mean over frames (FFmpeg's
/// average). `ssim_fast_all` is FFmpeg's `All`: the planes' values weighted
/// by their sample counts. Reference: FFmpeg 5.1's ssim filter, equal to 6
/// decimals to its C code (`-cpuflags 0`; `scripts/verify crosscheck-fidelity`, tolerance
/// 0.0005). FFmpeg's default x86 build differs from its own C code on planes
/// whose width is 8 mod 16 (the SSE4 `ssim_end_line` remainder drops the last
/// window and keeps one past the edge): the 88 px chroma of a 176×144 clip
/// moves FFmpeg's `All` by up to 0.0022 per frame; `Y` agrees. Identical
/// frames read exactly 1. Series: per frame.
public final class SSIMFast: Metric {
    public static let info = MetricInfo(
        name: "ssim_fast", summary: "FFmpeg's 8×8 block SSIM of the luma against the reference", direction: .higher,
        needs: [.chroma], temporal: false, resolution: .native, tolerance: .absolute(0.005),
        secondary: [MetricInfo.value("ssim_fast_all", .higher)],
        about: "FFmpeg's (x264's) 8×8 block SSIM",
        checkedAgainst: "FFmpeg 5.1, to 1e-6 on a 720p pair")

    private var values = PerFrameSeries()
    private var all: [Double] = []
    private var missingChroma = false

    public init() {}

    public func consume(_ c: FrameContext) {
        guard let ref = c.reference else { return }
        let y = Similarity.ssimFast(c.frame.luma, ref.luma)
        values.append(y)
        if let (cb, cr) = c.frame.chroma, let (rcb, rcr) = ref.chroma, cb.width == rcb.width, cb.height == rcb.height {
            let ny = Double(c.frame.luma.width * c.frame.luma.height), nc = Double(cb.width * cb.height)
            let total = ny + 2 * nc
            all.append((y * ny + Similarity.ssimFast(cb, rcb) * nc + Similarity.ssimFast(cr, rcr) * nc) / total)
        } else {
            missingChroma = true
        }
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        var out = values.output(Self.info, secondary: [("ssim_fast_all", missingChroma ? nil : Series.mean(all))])
        if missingChroma && !values.values.isEmpty {
            out.warnings.append("ssim_fast_all needs planar 8-bit YUV at native size in both clips")
        }
        return out
    }
}

/// `ms_ssim`: multi-scale SSIM of the luma (Wang, Simoncelli and Bovik 2003).
///
/// Per frame: ``Similarity/msSSIM(_:_:)``: five scales with weights 0.0448,
/// 0.2856, 0.3001, 0.2363, 0.1333, the contrast-structure terms at scales 1-4
/// and the full SSIM at the fifth, 2×2 average pooling between scales: the
/// definition of TensorFlow's `tf.image.ssim_multiscale` and pytorch-msssim.
/// Needs a short side of at least 161 px (an 11×11 window at the fifth scale);
/// smaller clips read null with a warning naming the size (conventions.md).
/// Clip: mean over frames. Identical frames read exactly 1. Series: per frame.
public final class MSSSIM: Metric {
    public static let info = MetricInfo(
        name: "ms_ssim", summary: "multi-scale SSIM of the luma against the reference", direction: .higher,
        needs: [.referenceImages], temporal: false, resolution: .native, tolerance: .absolute(0.005),
        about: "MS-SSIM (Wang 2003, TensorFlow's definition); null below a 161 px short side",
        checkedAgainst: "identity gives 1; `scripts/verify crosscheck-fidelity`")

    private var values = PerFrameSeries()
    private var tooSmall: (Int, Int)?

    public init() {}

    public func consume(_ c: FrameContext) {
        guard let images = c.referenceImages else { return }
        if let v = Similarity.msSSIM(images.frame, images.reference) {
            values.append(v)
        } else {
            tooSmall = (c.frame.luma.width, c.frame.luma.height)
        }
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        if let (w, h) = tooSmall, values.values.isEmpty {
            return MetricOutput(values: [(Self.info.name, nil)],
                                warnings: ["ms_ssim needs a short side of at least \(Similarity.msMinSide) px; this clip is \(w)x\(h)"])
        }
        return values.output(Self.info)
    }
}
