import Foundation

/// The spectra of the sound's onset envelope: an in-place radix-2 FFT in double (GallopMetrics does not link
/// FFmpeg, so not `av_tx`).
public enum Spectrum {
    /// The discrete Fourier transform X_k = Σ_n x_n e^{−2πikn/N} of `re` + i·`im`, in place; N a power of two.
    /// Iterative Cooley–Tukey: bit-reversal permutation, then log2 N butterfly stages whose twiddles are
    /// computed directly (cos/sin of each angle, no recurrence), so the error stays at a few ulps times log2 N.
    public static func fft(_ re: inout [Double], _ im: inout [Double]) {
        let n = re.count
        precondition(n == im.count && n > 0 && n & (n - 1) == 0, "the FFT needs a power-of-two length")
        var j = 0
        for i in 1..<max(n, 1) {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { re.swapAt(i, j); im.swapAt(i, j) }
        }
        var size = 2
        while size <= n {
            let half = size / 2
            let step = -2 * Double.pi / Double(size)
            for k in 0..<half {
                let wr = cos(step * Double(k)), wi = sin(step * Double(k))
                var start = k
                while start < n {
                    let a = start, b = start + half
                    let tr = wr * re[b] - wi * im[b], ti = wr * im[b] + wi * re[b]
                    re[b] = re[a] - tr; im[b] = im[a] - ti
                    re[a] += tr; im[a] += ti
                    start += size
                }
            }
            size *= 2
        }
    }

    /// |X_k|² for k = 0…N/2 of a real frame `x` (N = x.count, a power of two).
    public static func power(_ x: [Double]) -> [Double] {
        var re = x, im = [Double](repeating: 0, count: x.count)
        fft(&re, &im)
        return (0...(x.count / 2)).map { re[$0] * re[$0] + im[$0] * im[$0] }
    }

    /// The periodic Hann window of length n (scipy's `get_window("hann", n, fftbins=True)`, librosa's STFT window).
    public static func hann(_ n: Int) -> [Double] {
        (0..<n).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n)) }
    }
}

/// librosa 0.11.0's mel filter bank (`librosa.filters.mel`, its defaults: Slaney's mel scale, `htk=False`, and
/// Slaney's area normalisation, `norm="slaney"`): `bands` triangles over the FFT bins k·rate/nfft, k = 0…nfft/2,
/// their corners at `bands` + 2 frequencies evenly spaced in mel between `fmin` and `fmax`, each scaled by
/// 2 / (its upper corner − its lower corner) in Hz. librosa rounds the weights to float32; these stay double.
public struct MelBank: Sendable {
    public let bands: Int
    public let bins: Int
    /// Weight of bin k in band b: `weights[b][k]`.
    public let weights: [[Double]]

    public init(rate: Int, nfft: Int, bands: Int, fmin: Double = 0, fmax: Double? = nil) {
        let fmax = fmax ?? Double(rate) / 2
        self.bands = bands
        bins = nfft / 2 + 1
        let lo = MelBank.mel(fmin), hi = MelBank.mel(fmax)
        let corners = (0..<(bands + 2)).map { MelBank.hertz(lo + (hi - lo) * Double($0) / Double(bands + 1)) }
        let freqs = (0..<bins).map { Double($0) * Double(rate) / Double(nfft) }
        weights = (0..<bands).map { b in
            let below = corners[b + 1] - corners[b], above = corners[b + 2] - corners[b + 1]
            let norm = 2 / (corners[b + 2] - corners[b])
            return freqs.map { f in max(0, min((f - corners[b]) / below, (corners[b + 2] - f) / above)) * norm }
        }
    }

    /// Slaney's mel scale (librosa `hz_to_mel`, htk=False): linear below 1 kHz (200/3 Hz a mel), logarithmic above.
    public static func mel(_ hz: Double) -> Double {
        hz >= 1000 ? 15 + log(hz / 1000) / (log(6.4) / 27) : hz / (200.0 / 3)
    }

    /// The inverse of ``mel(_:)`` (librosa `mel_to_hz`).
    public static func hertz(_ mel: Double) -> Double {
        mel >= 15 ? 1000 * exp(log(6.4) / 27 * (mel - 15)) : mel * 200.0 / 3
    }
}

/// The onset-strength envelope of a mono signal as librosa 0.11.0's `onset.onset_strength` defines it: spectral
/// flux of the log-mel spectrogram. Frames of `nfft` samples every `hop`, centred (`center=True`: the signal is
/// padded with nfft/2 zeros at both ends), periodic Hann window, power spectrum, the Slaney ``MelBank``, then
/// `power_to_db` (10·log10(max(1e-10, S)), floored at the clip-wide maximum − 80 dB); the envelope at frame t is
/// the mean over bands of max(0, S[t] − S[t−1]), shifted later by 1 + nfft/(2·hop) frames (librosa's padding: a
/// frame's flux is dated at its window's leading edge, where a new sound first enters it), zero at the first of
/// those frames and trimmed to the frame count. Frame t is at time `start` + t·hop/rate as librosa's
/// `frames_to_time` dates it (AV-Align's peaks keep that date); ``entryTime(_:)`` is the time its flux stands for.
///
/// Samples arrive in runs (``add(_:)``); memory is one dB frame (`bands` floats) a hop, because the floor needs
/// the clip-wide maximum: at 5.8 ms hops and 64 bands, 44 KB a second of sound.
public final class OnsetEnvelope {
    public let rate: Int
    public let nfft: Int
    public let hop: Int
    public let bank: MelBank
    /// Time of the first sample (the first run's).
    public private(set) var start: Double?
    private let window: [Double]
    private var pending: [Double]
    private var samples = 0
    private var frames: [[Float]] = []

    /// librosa's `onset_strength` defaults at 22050 Hz: nfft 2048, hop 512, 128 bands.
    public init(rate: Int, nfft: Int = 2048, hop: Int = 512, bands: Int = 128) {
        precondition(nfft & (nfft - 1) == 0 && hop > 0 && hop <= nfft)
        self.rate = rate
        self.nfft = nfft
        self.hop = hop
        bank = MelBank(rate: rate, nfft: nfft, bands: bands)
        window = Spectrum.hann(nfft)
        pending = [Double](repeating: 0, count: nfft / 2)
    }

    /// The envelope for sync (``AVOffset``) at any rate: librosa's definition with frames of the power of two
    /// nearest 46 ms (1024 samples at 22050 Hz, 2048 at 44.1 and 48 kHz), hops of 128/22050 s (5.8 ms) rounded
    /// to whole samples, and 64 bands (128 would leave the lowest bands empty at these frame sizes).
    public static func forSync(rate: Int) -> OnsetEnvelope {
        let target = Double(rate) * 1024 / 22050
        var nfft = 1
        while Double(nfft * 2) <= target * 1.4142 { nfft *= 2 }
        return OnsetEnvelope(rate: rate, nfft: max(nfft, 64), hop: max(1, Int((Double(rate) * 128 / 22050).rounded())), bands: 64)
    }

    /// A run of mono samples starting at `time` (s); later runs are taken as following on without a gap.
    public func add(_ x: some Collection<Double>, time: Double = 0) {
        if start == nil { start = time }
        pending.append(contentsOf: x)
        samples += x.count
        drain(until: pending.count)
    }

    /// Frames whose window lies within the first `available` pending samples.
    private func drain(until available: Int) {
        var offset = 0
        while offset + nfft <= available {
            frame(at: offset)
            offset += hop
        }
        if offset > 0 { pending.removeFirst(min(offset, pending.count)) }
    }

    private func frame(at offset: Int) {
        var x = [Double](repeating: 0, count: nfft)
        for i in 0..<nfft { x[i] = offset + i < pending.count ? pending[offset + i] * window[i] : 0 }
        let p = Spectrum.power(x)
        frames.append(bank.weights.map { w in
            var s = 0.0
            for k in 0..<p.count where w[k] != 0 { s += w[k] * p[k] }
            return Float(10 * log10(max(1e-10, s)))
        })
    }

    /// Seconds of sound added.
    public var seconds: Double { Double(samples) / Double(rate) }

    /// The time (s) that value k of ``envelope()`` stands for: the moment the sound its flux measures entered the
    /// analysis. Value k is the flux between STFT frames j − 1 and j, j = k − nfft/(2·hop) (librosa's shift, an
    /// integer division), and frame j's window covers samples [j·hop − nfft/2, j·hop + nfft/2) after `start`;
    /// what frame j has and frame j − 1 has not is the hop [j·hop + nfft/2 − hop, j·hop + nfft/2), dated at its
    /// middle. librosa's `frames_to_time` dates value k at k·hop, which is this time plus hop/2 −
    /// (nfft/2 mod hop): 11.6 ms later at its defaults (22050 Hz, nfft 2048, hop 512), 1.0 ms earlier for sync at
    /// 48 kHz (nfft 2048, hop 279). The envelope and its onset frames stay librosa's; only their dates differ.
    public func entryTime(_ k: Int) -> Double {
        let j = k - nfft / (2 * hop)
        return (start ?? 0) + (Double(j * hop + nfft / 2) - Double(hop) / 2) / Double(rate)
    }

    /// The envelope, one value a hop (librosa's frame count, 1 + samples/hop); empty without sound.
    public func envelope() -> [Double] {
        guard samples > 0 else { return [] }
        let count = 1 + samples / hop
        // The end padding: nfft/2 zeros after the last sample, then every frame librosa has.
        pending.append(contentsOf: repeatElement(0, count: nfft / 2 + nfft))
        while frames.count < count {
            let before = frames.count
            drain(until: pending.count)
            if frames.count == before { break }
        }
        if frames.count > count { frames.removeLast(frames.count - count) }
        let top = frames.lazy.flatMap { $0 }.max() ?? 0
        let floor = top - 80
        let lag = 1 + nfft / (2 * hop)
        var env = [Double](repeating: 0, count: count)
        var previous = frames[0].map { max($0, floor) }
        for t in 1..<max(frames.count, 1) {
            let current = frames[t].map { max($0, floor) }
            var s = 0.0
            for b in 0..<current.count { s += Double(max(0, current[b] - previous[b])) }
            if t - 1 + lag < count { env[t - 1 + lag] = s / Double(current.count) }
            previous = current
        }
        return env
    }

    /// Frames librosa's `onset_detect` picks in `envelope` (its defaults: the envelope normalised to [0, 1],
    /// then ``peakPick(_:preMax:postMax:preAvg:postAvg:delta:wait:)`` with 30 ms, 0 ms + 1 frame, 100 ms,
    /// 100 ms + 1 frame, δ 0.07 and a 30 ms wait, in frames at this rate and hop, rounded down as librosa's `//`).
    public func onsets(_ envelope: [Double]) -> [Int] {
        guard let lo = envelope.min(), let hi = envelope.max(), hi > lo else { return [] }
        let x = envelope.map { ($0 - lo) / (hi - lo + Double(Float.leastNormalMagnitude)) }
        func frames(_ s: Double) -> Int { Int((s * Double(rate) / Double(hop)).rounded(.down)) }
        return OnsetEnvelope.peakPick(x, preMax: frames(0.03), postMax: frames(0) + 1, preAvg: frames(0.10),
                                      postAvg: frames(0.10) + 1, delta: 0.07, wait: frames(0.03))
    }

    /// librosa's `util.peak_pick`: n is a peak when x[n] = max(x[n − preMax ..< n + postMax]) and
    /// x[n] ≥ mean(x[n − preAvg ..< n + postAvg]) + delta (windows cut at the ends), scanning left to right and
    /// skipping `wait` frames after each peak; frame 0 compares only with the frames after it.
    public static func peakPick(_ x: [Double], preMax: Int, postMax: Int, preAvg: Int, postAvg: Int, delta: Double, wait: Int) -> [Int] {
        let n = x.count
        guard n > 0 else { return [] }
        func maxOf(_ a: Int, _ b: Int) -> Double { x[max(0, a)..<min(b, n)].max() ?? -.infinity }
        func meanOf(_ a: Int, _ b: Int) -> Double {
            let s = x[max(0, a)..<min(b, n)]
            return s.reduce(0, +) / Double(s.count)
        }
        var peaks: [Int] = []
        var i = 1
        if x[0] >= maxOf(0, postMax) && x[0] >= meanOf(0, postAvg) + delta {
            peaks.append(0)
            i = wait + 1
        }
        while i < n {
            if x[i] == maxOf(i - preMax, i + postMax) && x[i] >= meanOf(i - preAvg, i + postAvg) + delta {
                peaks.append(i)
                i += wait + 1
            } else {
                i += 1
            }
        }
        return peaks
    }
}
