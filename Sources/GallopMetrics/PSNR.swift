import Foundation
import GallopCore

/// `psnr`: peak signal-to-noise ratio against the reference, as FFmpeg's
/// `psnr` filter reports it (`libavfilter/vf_psnr.c`).
///
/// Per frame and plane, MSE = Σ(a − b)² / (w·h) on the stored samples (no
/// range conversion). The clip's value per plane is 10·log10(255² / mean of
/// the per-frame MSEs), not a mean of per-frame PSNRs. `psnr` is the luma
/// (FFmpeg's `y`), `psnr_u`, `psnr_v` the chroma planes, and `psnr_avg`
/// FFmpeg's `average`: the per-frame MSEs weighted by the planes' sample
/// counts (4:1:1 for 4:2:0).
///
/// Identical frames (MSE 0) have no finite PSNR: FFmpeg prints `inf`. Gallop
/// follows libvmaf instead (`libvmaf/src/feature/integer_psnr.c`: per frame
/// min(10·log10(peak² / max(MSE, 1e-16)), psnr_max) with psnr_max =
/// 6·bitdepth + 12): every PSNR, per frame and pooled, is
/// min(10·log10(255² / MSE), ``cap``) with cap = 6·8 + 12 = 60 dB (frames are
/// compared at 8 bits), and MSE 0 reads 60. So a clip identical to its
/// reference scores 60 dB, a finite number that counts in means and passes
/// `gallop check` against another identical clip, rather than a null. Below
/// 60 dB the values are FFmpeg's: its psnr filter on the same pair, within
/// 0.01 dB (`scripts/verify crosscheck-fidelity`); a constant offset d reads 10·log10(255²/d²)
/// exactly (`SimilarityTests`). Series: per-frame luma PSNR.
public final class PSNR: Metric {
    public static let info = MetricInfo(
        name: "psnr", summary: "PSNR of the luma against the reference (FFmpeg's definition; 60 dB at most, as libvmaf)", direction: .higher,
        unit: "dB", needs: [.chroma], temporal: false, resolution: .native, tolerance: .absolute(0.5),
        secondary: [MetricInfo.value("psnr_u", .higher, unit: "dB"), MetricInfo.value("psnr_v", .higher, unit: "dB"), MetricInfo.value("psnr_avg", .higher, unit: "dB")],
        about: "FFmpeg's psnr filter: luma, chroma planes, and the sample-weighted average; the clip value comes from the mean MSE; capped at 60 dB (libvmaf's 6·bitdepth + 12), which identical frames read",
        checkedAgainst: "FFmpeg 5.1, to 1e-6 dB on a 720p pair; a constant offset gives exactly 10·log10(255²/d²)")

    private var series: [Double?] = []
    private var mse = [0.0, 0.0, 0.0]
    private var weightedMSE = 0.0
    private var frames = 0
    private var chromaFrames = 0

    public init() {}

    /// The most any PSNR reads, per frame or pooled: libvmaf's 6·bitdepth + 12 dB at 8 bits.
    public static let cap = Double(6 * 8 + 12)

    /// 10·log10(255² / mse), capped at ``cap`` (which MSE 0 reads).
    static func psnr(_ mse: Double) -> Double { mse > 0 ? min(10 * log10(255 * 255 / mse), cap) : cap }

    public func consume(_ c: FrameContext) {
        guard let ref = c.reference else { series.append(nil); return }
        let f = c.frame
        let y = Double(Kernels.sumSquaredError(f.luma, ref.luma)) / Double(f.luma.width * f.luma.height)
        mse[0] += y
        frames += 1
        series.append(PSNR.psnr(y))
        if let (cb, cr) = f.chroma, let (rcb, rcr) = ref.chroma, cb.width == rcb.width, cb.height == rcb.height {
            let n = Double(cb.width * cb.height)
            let u = Double(Kernels.sumSquaredError(cb, rcb)) / n, v = Double(Kernels.sumSquaredError(cr, rcr)) / n
            mse[1] += u
            mse[2] += v
            let total = Double(f.luma.width * f.luma.height) + 2 * n
            weightedMSE += (y * Double(f.luma.width * f.luma.height) + u * n + v * n) / total
            chromaFrames += 1
        }
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard frames > 0 else {
            return MetricOutput(values: [(Self.info.name, nil), ("psnr_u", nil), ("psnr_v", nil), ("psnr_avg", nil)], series: series,
                                warnings: ["psnr needs a reference clip"])
        }
        var warnings: [String] = []
        let y = PSNR.psnr(mse[0] / Double(frames))
        var u: Double?, v: Double?, avg: Double?
        if chromaFrames == frames {
            u = PSNR.psnr(mse[1] / Double(frames))
            v = PSNR.psnr(mse[2] / Double(frames))
            avg = PSNR.psnr(weightedMSE / Double(frames))
        } else {
            warnings.append("psnr_u, psnr_v and psnr_avg need planar 8-bit YUV at native size in both clips")
        }
        return MetricOutput(values: [(Self.info.name, y), ("psnr_u", u), ("psnr_v", v), ("psnr_avg", avg)], series: series, warnings: warnings)
    }
}
