import GallopCore

/// `vmaf`: VMAF v0.6.1 (libvmaf's default model) of the luma against the
/// reference, computed natively as libvmaf 2.3.0 does with its integer
/// features: ``VMAFVIF`` (four scales), ``VMAFADM`` (adm2) and ``VMAFMotion``
/// (motion2, on the reference), then ``VMAFModel`` (normalisation, SVR,
/// clip to [0, 100]).
///
/// Per frame, as FFmpeg's `libvmaf` filter with libvmaf 2.3.0: the stored
/// 8-bit luma planes of the frame and its reference (no range conversion).
/// motion2 looks one frame ahead, so a frame's score is known once the next
/// frame is in; `finish` scores them all. Clip: the mean of the per-frame
/// scores (libvmaf's `mean`); `vmaf_hmean` is libvmaf's harmonic mean,
/// n / Σ 1/(s + 1) − 1, which low frames pull down more; the features'
/// secondary values are their means over the frames. Series: per-frame VMAF.
///
/// The peer is FFmpeg 7.0.2's filter from imageio-ffmpeg 0.7.0 (libvmaf
/// 2.3.0, AVX2 on x86): on narrow frames and on widths 1-8 mod 16 its AVX2
/// kernels read memory its C code does not, and Gallop reproduces that
/// (``VMAFVIF/peerAVX2``, ``VMAFADM/peerAVX2``). A clip against itself is not
/// 100: its first frame has no motion and reads 97.43 (features exactly 1
/// give 97.428), later frames reach 100 when motion2 is above about 2.
/// Frames smaller than 33×33 have no score (ADM needs three wavelet samples
/// a side at its fourth scale).
///
/// A reference of another size: VMAF is read at the reference's resolution,
/// as libvmaf's users run it (`[0:v]scale=W:H:flags=bicubic[d];[d][1:v]libvmaf`):
/// the clip's luma is scaled to the reference's stored size by libswscale's
/// bicubic (FFmpeg's `scale` filter by default) and compared with the
/// reference as stored (``FrameContext/atReferenceSize``, also under
/// `--max-side`, which then does not change VMAF's pair); the row says so in
/// a warning and in the extra `compared_at`.
///
/// Defaults: the gate's tolerance is 1 point (Netflix reads about 6 points as
/// one just-noticeable difference, so 1 point is a sixth of one, and an
/// encoder change that matters moves a clip's mean by 1–3); in the composite's
/// quality group 40 maps to 0 and 95 to 1 (below 40 is read as bad quality,
/// 95 and up as indistinguishable from the reference). report.html shows the
/// frame with the lowest VMAF.
public final class VMAF: Metric {
    public static let info = MetricInfo(
        name: "vmaf", summary: "VMAF v0.6.1 of the luma against the reference (libvmaf 2.3.0's integer features)", direction: .higher,
        needs: [.reference, .atReferenceSize], temporal: true, resolution: .native,
        tolerance: .absolute(1), composite: CompositeRole(group: "quality", worst: 40, best: 95), series: .fidelity,
        secondary: [MetricInfo.value("vmaf_hmean", .higher), MetricInfo.value("vmaf_adm2", .higher), MetricInfo.value("vmaf_motion2", .none),
                    MetricInfo.value("vmaf_vif_scale0", .higher), MetricInfo.value("vmaf_vif_scale1", .higher),
                    MetricInfo.value("vmaf_vif_scale2", .higher), MetricInfo.value("vmaf_vif_scale3", .higher)],
        about: "Netflix's VMAF v0.6.1 by libvmaf 2.3.0's integer path (VIF, ADM2, motion2, SVR), native",
        checkedAgainst: "libvmaf 2.3.0 (FFmpeg 7.0.2's filter): every feature and score of every frame to its printed 6 decimals, on 11 real pairs (176×144 to 1280×720: x264 CRF 18–45, blurred, noisy, smaller clips scaled up, a clip against itself) and the tests' planes",
        toleranceReason: "a sixth of the 6 VMAF points read as one just-noticeable difference", spatial: true, byDefault: false)

    /// The smallest side ADM's four scales accept.
    public static let minimumSide = 33

    private var adm: [Double] = []
    private var vif: [[Double]] = []
    private var motion: [Double] = []
    private var previousBlur: VMAFMotion.Blur?
    private var series: [Double?] = []
    /// Index in `series` of each scored frame.
    private var scoredAt: [Int] = []
    private var tooSmall: (Int, Int)?
    /// ADM's and VIF's buffers, kept for the clip's frame size.
    private var admSpace: VMAFADM.Workspace?
    private var vifSpace: VMAFVIF.Workspace?

    public init() {}

    /// The size compared at, when the pair at the reference's size was handed in.
    private var scaledFrom: String?

    public func consume(_ c: FrameContext) {
        guard let ref = c.reference else { series.append(nil); return }
        let dis: Plane, r: Plane
        if let pair = c.atReferenceSize {
            (dis, r) = (pair.clip, pair.reference)
            if scaledFrom == nil { scaledFrom = "\(r.width)x\(r.height), the reference's size" }
        } else {
            (dis, r) = (c.frame.luma, ref.luma)
        }
        guard dis.width >= Self.minimumSide, dis.height >= Self.minimumSide else {
            tooSmall = (dis.width, dis.height)
            series.append(nil)
            return
        }
        let blur = VMAFMotion.blur(r)
        motion.append(previousBlur.map { VMAFMotion.motion(blur, $0) } ?? 0)
        previousBlur = blur
        if admSpace.map({ $0.width != dis.width || $0.height != dis.height }) ?? true {
            admSpace = VMAFADM.Workspace(width: dis.width, height: dis.height)
            vifSpace = VMAFVIF.Workspace(width: dis.width, height: dis.height)
        }
        adm.append(VMAFADM.features(reference: r, distorted: dis, workspace: admSpace).adm2)
        vif.append(VMAFVIF.features(reference: r, distorted: dis, workspace: vifSpace))
        scoredAt.append(series.count)
        series.append(nil)
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let names = [Self.info.name] + Self.info.secondary
        guard !adm.isEmpty else {
            let why = tooSmall.map { "vmaf needs frames of at least \(Self.minimumSide)×\(Self.minimumSide); the frames compared are \($0.0)×\($0.1)" }
                ?? "vmaf needs a reference clip"
            return MetricOutput(values: names.map { ($0, nil) }, series: series, warnings: [why])
        }
        let motion2 = VMAFMotion.motion2(motion)
        var scores: [Double] = []
        for t in adm.indices {
            let s = VMAFModel.v061.predict(VMAFFeatures(adm2: adm[t], motion2: motion2[t], vif: vif[t]))
            scores.append(s)
            series[scoredAt[t]] = s
        }
        let n = Double(scores.count)
        let mean = scores.reduce(0, +) / n
        let hmean = n / scores.reduce(0) { $0 + 1 / ($1 + 1) } - 1
        func avg(_ v: [Double]) -> Double { v.reduce(0, +) / n }
        let values: [(String, Double?)] = [
            (Self.info.name, mean), ("vmaf_hmean", hmean), ("vmaf_adm2", avg(adm)), ("vmaf_motion2", avg(motion2)),
        ] + (0..<4).map { k in ("vmaf_vif_scale\(k)", avg(vif.map { $0[k] })) }
        return MetricOutput(values: values, extras: scaledFrom.map { [("compared_at", .string($0))] } ?? [], series: series)
    }

    /// Frame `index`'s score once its motion2 is known: final when the next frame is in; for the latest frame,
    /// its motion alone (final if it is the last).
    public func provisionalValue(at index: Int) -> Double? {
        let n = scoredAt.count
        let k: Int
        if n >= 1, scoredAt[n - 1] == index { k = n - 1 } else if n >= 2, scoredAt[n - 2] == index { k = n - 2 } else { return nil }
        let m2 = k == 0 ? 0 : (k + 1 < n ? min(motion[k], motion[k + 1]) : motion[k])
        return VMAFModel.v061.predict(VMAFFeatures(adm2: adm[k], motion2: m2, vif: vif[k]))
    }
}
