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
/// counts (4:1:1 for 4:2:0). Identical clips have no finite PSNR: null with
/// a warning. Reference: FFmpeg 5.1's psnr filter on the same pair, within
/// 0.01 dB (`scripts/crosscheck`); a constant offset d reads
/// 10·log10(255²/d²) exactly (`SimilarityTests`). Series: per-frame luma PSNR.
public final class PSNR: Metric {
    public static let info = MetricInfo(
        name: "psnr", summary: "PSNR of the luma against the reference (FFmpeg's definition)", direction: .higher,
        unit: "dB", needs: [.chroma], temporal: false, resolution: .native, secondary: ["psnr_u", "psnr_v", "psnr_avg"])

    private var series: [Double?] = []
    private var mse = [0.0, 0.0, 0.0]
    private var weightedMSE = 0.0
    private var frames = 0
    private var chromaFrames = 0

    public init() {}

    static func psnr(_ mse: Double) -> Double { mse > 0 ? 10 * log10(255 * 255 / mse) : .infinity }

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
        if !y.isFinite { warnings.append("psnr is infinite: the clip's luma equals its reference's (reported as null)") }
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
