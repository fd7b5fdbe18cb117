import GallopCore

extension MetricSettings {
    /// `av_offset_ms`'s section.
    public struct SyncOptions: Sendable, Hashable {
        /// The lags searched: ± this many ms.
        public var maxLagMS = 500.0
        /// Below this confidence the offset is null ("unclear"), its confidence kept.
        public var minConfidence = 0.15
        public init() {}
    }
}

/// `av_offset_ms`: how late the sound is against the picture (ms; positive when the sound comes after the
/// picture, conventions.md), from events seen and heard.
///
/// Picture: per frame t, the luma frame difference m_t (`frame_diff`'s MAD of the pair t − 1 → t), detrended
/// as max(0, m_t − median of m over ±0.5 s) so that steady motion does not count, then its rise
/// v_t = max(0, d_t − d_{t−1}) (the picture's onset strength, as spectral flux is the sound's: a one-frame
/// flash is one event at the frame it appears, not two). Sound: the onset envelope of the mono downmix
/// (``OnsetEnvelope/forSync(rate:)``: librosa's log-mel spectral flux, 5.8 ms hops), each value dated at its
/// ``OnsetEnvelope/entryTime(_:)`` (the middle of the hop of samples its STFT frame adds), read at a frame's time
/// as the mean weighted by a triangle one frame duration either side (``SoundWindow``: a box would make the
/// correlation flat over a frame while a short event lies inside it). For each lag L from −`max_lag_ms` to
/// +`max_lag_ms` in 1 ms steps, r(L) is the Pearson correlation of v_t with the sound at t + L over the same frames
/// at every lag: those whose window stays within the sound at every lag searched (at least 2 s of them, so a clip
/// needs 2 s plus twice `max_lag_ms` of sound under its picture); the offset is the best L, refined by a parabola
/// through its neighbours. Residual bias: a sound reads 5-6 ms late (SyncTests: clicks +4.8…+5.4 ms at 24, 25 and
/// 30 fps, tone and noise bursts +5.5…+6.4), because the peak follows the centre of the event's flux, not its first
/// hop: the Hann window takes a sound in gradually, so its log-mel energy keeps rising for the hops after it enters
/// (OnsetTests: the flux centre lies 5.7-8.4 ms after a click's, a tone burst's or a noise burst's start, the
/// first onset frame within one hop of it). It is not subtracted: how long the rise lasts depends on the sound.
///
/// `av_sync_confidence` (higher is better) is the best r's margin over its strongest rival: r at the best lag
/// minus the largest other local maximum of r(L) at least two frame durations away (floored at 0), clamped to
/// [0, 1]. A periodic beat has rivals one period away and so a low margin; noise has no peak. Below
/// `av_offset_ms.min_confidence` the offset is null with a warning and the confidence is kept. The default,
/// 0.15, is calibrated on the synthetic clips of SyncTests: one-frame flashes at six irregular times with
/// 3 kHz clicks shifted by −240…+240 ms at 24, 25 and 30 fps all give 0.6 or more; the same picture with seeded
/// white noise instead of clicks gives under 0.1 (0.035-0.081), flashes with clicks every 0.4 s 0.
/// Null with a warning when the sound has no events (silence, a flat envelope, fewer than two onsets) or the
/// picture none; null without one when the clip has no sound (the row's `audio: false`). Series: the sound's
/// envelope at each frame (lag 0), for drawing against the frame difference. Extras: r(L) every 10 ms (`curve`,
/// from −max_lag_ms). Secondary: `av_offset_abs_ms` (lower), the magnitude, which a gate can bound.
public final class AVOffset: Metric {
    public static let info = MetricInfo(
        name: "av_offset_ms", summary: "sound lag behind the picture (ms), from onsets against motion", direction: .none,
        unit: "ms", needs: [.lumaPair, .onsets], temporal: true,
        options: [.double("av_offset_ms", "max_lag_ms", \.sync.maxLagMS, 40...2000, "lags searched: ± this many ms"),
                  .double("av_offset_ms", "min_confidence", \.sync.minConfidence, 0...1,
                          "below this av_sync_confidence the offset is null (unclear)")],
        // av_offset_abs_ms's gate: one frame at 24 fps (41.7 ms), what the offset is found within. Its `audio` term: 0 ms
        // scores 1, 200 ms scores 0 (past ITU-R BT.1359's acceptable −185…+90 ms either way: plainly out of sync).
        secondary: [MetricInfo.value("av_sync_confidence", .higher),
                    ValueTraits(name: "av_offset_abs_ms", summary: "", direction: .lower, unit: "ms", tolerance: .absolute(40),
                                composite: CompositeRole(group: "audio", worst: 200, best: 0, inOverall: false),
                                toleranceReason: "about one frame (41.7 ms at 24 fps), the precision of the offset")],
        about: "lag maximising the correlation of the sound's onset envelope (log-mel spectral flux) with the rise of the frame difference, ±500 ms; confidence = margin of the best correlation over its strongest rival",
        checkedAgainst: "flashes with clicks shifted −240…+240 ms at 24/25/30 fps: 4.8–5.4 ms late; noise and periodic clicks: null")

    private let maxLag: Double
    private let minConfidence: Double
    private var times: [Double] = []
    private var durations: [Double] = []
    private var mads: [Double?] = []

    public init() {
        maxLag = MetricSettings.SyncOptions().maxLagMS
        minConfidence = MetricSettings.SyncOptions().minConfidence
    }
    public init(settings: MetricSettings) {
        maxLag = settings.sync.maxLagMS
        minConfidence = settings.sync.minConfidence
    }

    public func consume(_ c: FrameContext) {
        times.append(c.frame.time)
        durations.append(c.frame.duration)
        mads.append(c.lumaPair?.mad)
    }

    static let names = ["av_offset_ms", "av_sync_confidence", "av_offset_abs_ms"]

    private func null(_ warning: String?, confidence: Double? = nil) -> MetricOutput {
        MetricOutput(values: [(Self.info.name, nil), ("av_sync_confidence", confidence), ("av_offset_abs_ms", nil)],
                     warnings: warning.map { [$0] } ?? [])
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        guard let audio = clip.audio, let onsets = audio.onsets else { return null(nil) }
        let env = onsets.envelope()
        let mean = env.isEmpty ? 0 : env.reduce(0, +) / Double(env.count)
        let spread = env.isEmpty ? 0 : (env.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(env.count)).squareRoot()
        guard spread > 1e-6, onsets.onsets(env).count >= 2 else { return null("av_offset_ms: no audible events in the sound") }
        let n = times.count
        guard n >= 3 else { return null("av_offset_ms: fewer than three frames") }
        let v = AVOffset.pictureOnsets(times: times, mads: mads)
        guard v.filter({ $0 > 0 }).count >= 2 else { return null("av_offset_ms: no visible events in the picture") }
        let sound = SoundWindow(envelope: env, first: onsets.entryTime(0), hop: Double(onsets.hop) / Double(onsets.rate))
        let frame = durations.sorted()[n / 2]
        let lags = Array(stride(from: -maxLag, through: maxLag, by: 1))
        // The same frames at every lag: those whose window stays in the sound over the whole search, so that no lag
        // gains or loses events at the clip's ends (a periodic beat's rival lags then tie with the true one).
        let used = (1..<n).filter { i in
            sound.mean(at: times[i] - maxLag / 1000, halfWidth: frame) != nil && sound.mean(at: times[i] + maxLag / 1000, halfWidth: frame) != nil
        }
        guard Double(used.count) * frame >= 2 else {
            return null("av_offset_ms: under 2 s of the picture lies within the sound at every lag searched (±\(Int(maxLag)) ms)")
        }
        let r = lags.map { AVOffset.correlation(v, times: times, frames: used, sound: sound, lag: $0 / 1000, width: frame) }
        guard let best = r.indices.filter({ r[$0] != nil }).max(by: { r[$0]! < r[$1]! }), let top = r[best] else {
            return null("av_offset_ms: no events in the frames compared")
        }
        // The strongest other local maximum at least two frames away.
        var rival = 0.0
        for j in r.indices where abs(lags[j] - lags[best]) >= 2 * frame * 1000 {
            guard let x = r[j] else { continue }
            let left = j > 0 ? r[j - 1] ?? -.infinity : -.infinity, right = j + 1 < r.count ? r[j + 1] ?? -.infinity : -.infinity
            if x >= left && x > right { rival = max(rival, x) }
        }
        let confidence = min(1, max(0, top - rival))
        var offset = lags[best]
        if best > 0, best + 1 < r.count, let a = r[best - 1], let c = r[best + 1] {
            let curvature = a - 2 * top + c
            if curvature < 0 { offset += 0.5 * (a - c) / curvature }
        }
        let curve = stride(from: 0, to: r.count, by: 10).map { r[$0].map { JSONValue.number((($0 * 1000).rounded()) / 1000) } ?? .null }
        let series: [Double?] = times.enumerated().map { i, t in sound.mean(at: t, halfWidth: durations[i]) }
        let extras: [(String, JSONValue)] = [("curve", .array(curve)), ("curve_step_ms", .number(10))]
        guard confidence >= minConfidence else {
            return MetricOutput(values: [(Self.info.name, nil), ("av_sync_confidence", confidence), ("av_offset_abs_ms", nil)],
                                extras: extras, series: series,
                                warnings: ["av_offset_ms: offset unclear (confidence \(String(format: "%.2f", confidence)) < \(minConfidence))"])
        }
        return MetricOutput(values: [(Self.info.name, offset), ("av_sync_confidence", confidence), ("av_offset_abs_ms", abs(offset))],
                            extras: extras, series: series)
    }

    /// The picture's onset strength per frame (0 at the first): the rise of the frame difference detrended by
    /// its median over ±0.5 s.
    public static func pictureOnsets(times: [Double], mads: [Double?]) -> [Double] {
        let m = mads.map { $0 ?? 0 }
        let detrended = m.indices.map { i -> Double in
            let near = m.indices.filter { abs(times[$0] - times[i]) <= 0.5 && mads[$0] != nil }.map { m[$0] }.sorted()
            return near.isEmpty ? 0 : max(0, m[i] - near[near.count / 2])
        }
        return detrended.indices.map { $0 == 0 ? 0 : max(0, detrended[$0] - detrended[$0 - 1]) }
    }

    /// Pearson r of v[i] with the sound around times[i] + lag over `frames` (whose windows lie in the sound);
    /// nil when either side is constant there.
    static func correlation(_ v: [Double], times: [Double], frames: [Int], sound: SoundWindow, lag: Double, width: Double) -> Double? {
        var xs: [Double] = [], ys: [Double] = []
        for i in frames {
            guard let a = sound.mean(at: times[i] + lag, halfWidth: width) else { continue }
            xs.append(v[i]); ys.append(a)
        }
        guard xs.count >= 2 else { return nil }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (x, y) in zip(xs, ys) { sxy += (x - mx) * (y - my); sxx += (x - mx) * (x - mx); syy += (y - my) * (y - my) }
        guard sxx > 0, syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }
}

/// The onset envelope read as a function of time: each value a point at its ``OnsetEnvelope/entryTime(_:)``,
/// read at t as the mean weighted by the triangle max(0, 1 − |τ_k − t|/w) (w: one frame duration). A box over one
/// frame would be flat while a short event's flux lies wholly inside it, so the correlation would have a plateau a
/// frame wide and its maximum would fall anywhere on it; the triangle peaks where the flux is centred.
struct SoundWindow {
    let first: Double
    let hop: Double
    let values: [Double]

    init(envelope: [Double], first: Double, hop: Double) {
        self.first = first
        self.hop = hop
        values = envelope
    }

    /// The triangle-weighted mean at `t` with half-width `w`, widened to at least one hop (a frame shorter than
    /// the envelope's hop, above about 345 fps at 48 kHz, would otherwise hold no envelope value); nil unless
    /// [t − w, t + w] lies within the envelope.
    func mean(at t: Double, halfWidth: Double) -> Double? {
        guard halfWidth > 0 else { return nil }
        let w = max(halfWidth, hop)
        let a = (t - w - first) / hop, b = (t + w - first) / hop
        guard a >= 0, b <= Double(values.count - 1) else { return nil }
        var sum = 0.0, weights = 0.0
        for k in Int(a.rounded(.up))...Int(b.rounded(.down)) {
            let weight = max(0, 1 - abs(first + Double(k) * hop - t) / w)
            sum += weight * values[k]
            weights += weight
        }
        return weights > 0 ? sum / weights : nil
    }
}
