import Foundation
import GallopMetrics
import GallopSynth
import XCTest

/// The onset envelope's parts against a naive DFT and librosa 0.11.0 (numbers printed by
/// scripts/gallopcheck/onset_fixtures.py into the lines below).
final class OnsetTests: XCTestCase {
    typealias MelFixture = (rate: Int, nfft: Int, bands: Int, sum: Double, first: Double, last: Double, entries: [(Int, Int, Double)])
    static let melBanks: [MelFixture] = [
    // librosa.filters.mel(sr=22050, n_fft=2048, n_mels=128): sum, band sums 0 and last, entries (band, bin, weight)
    (rate: 22050, nfft: 2048, bands: 128, sum: 11.886681291211517, first: 0.09034588187932968, last: 0.09286924219850334,
     entries: [(0, 2, 0.03236570581793785), (64, 187, 0.01727883145213127), (127, 997, 0.0034852505195885897), (42, 105, 0.020919186994433403)]),
    // librosa.filters.mel(sr=48000, n_fft=2048, n_mels=64): sum, band sums 0 and last, entries (band, bin, weight)
    (rate: 48000, nfft: 2048, bands: 64, sum: 2.7300232067613592, first: 0.04205516679212451, last: 0.04266618904784991,
     entries: [(0, 3, 0.014018388465046883), (32, 129, 0.005059192888438702), (63, 960, 0.0006837175460532308), (21, 64, 0.008526092395186424)]),
    // librosa.filters.mel(sr=22050, n_fft=1024, n_mels=64): sum, band sums 0 and last, entries (band, bin, weight)
    (rate: 22050, nfft: 1024, bands: 64, sum: 2.971179098103036, first: 0.045270276721566916, last: 0.046431984706941876,
     entries: [(0, 2, 0.016434721648693085), (32, 95, 0.00846191681921482), (63, 486, 0.0017878725193440914), (21, 54, 0.010212584398686886)]),
    ]
    // librosa.onset.onset_strength / onset_detect of the click train, 22050 Hz, hop 512, n_fft 2048
    static let clickFrames = [7, 28, 48, 73, 101, 130, 157]
    static let envelopeCount = 173
    static let envelopeMax = 38.03881072998047
    static let envelopeAtOnsets: [Double] = [33.30671691894531, 32.698143005371094, 37.979156494140625, 34.463069915771484, 38.03881072998047, 37.983890533447266, 34.78803634643555]
    static let envelopeSum = 313.8846066892147

    /// The FFT equals the naive O(N²) DFT (in long double-free double sums) within 1e-9 × N on random complex
    /// input of lengths 1 to 1024, and power() is |X_k|² of a real frame.
    func testFFTAgainstNaiveDFT() {
        var state: UInt64 = 12345
        func random() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
        for n in [1, 2, 4, 8, 64, 1024] {
            let xr = (0..<n).map { _ in random() }, xi = (0..<n).map { _ in random() }
            var re = xr, im = xi
            Spectrum.fft(&re, &im)
            var worst = 0.0
            for k in 0..<n {
                var sr = 0.0, si = 0.0
                for j in 0..<n {
                    let a = -2 * Double.pi * Double((k * j) % n) / Double(n)
                    sr += xr[j] * cos(a) - xi[j] * sin(a)
                    si += xr[j] * sin(a) + xi[j] * cos(a)
                }
                worst = max(worst, abs(sr - re[k]), abs(si - im[k]))
            }
            XCTAssertLessThan(worst, 1e-9 * Double(n), "n = \(n)")
        }
        let p = Spectrum.power([1, 0, -1, 0])
        XCTAssertEqual(p, [0, 4, 0])
    }

    /// The Slaney mel bank equals librosa.filters.mel (float32 weights: 1e-6 relative) in its sums and entries.
    func testMelBankMatchesLibrosa() {
        for f in OnsetTests.melBanks {
            let bank = MelBank(rate: f.rate, nfft: f.nfft, bands: f.bands)
            XCTAssertEqual(bank.weights.count, f.bands)
            XCTAssertEqual(bank.bins, f.nfft / 2 + 1)
            XCTAssertEqual(bank.weights.joined().reduce(0, +), f.sum, accuracy: f.sum * 1e-6)
            XCTAssertEqual(bank.weights[0].reduce(0, +), f.first, accuracy: f.first * 1e-6)
            XCTAssertEqual(bank.weights[f.bands - 1].reduce(0, +), f.last, accuracy: f.last * 1e-6)
            for (b, k, w) in f.entries { XCTAssertEqual(bank.weights[b][k], w, accuracy: w * 1e-6, "\(f.rate) \(f.nfft) [\(b)][\(k)]") }
        }
    }

    /// The click train of onset_fixtures.py (float32 samples), fed in uneven runs.
    static func clickTrain() -> [Double] {
        let rate = 22050.0
        var y = [Double](repeating: 0, count: 22050 * 4)
        for c in [3000, 14000, 24100, 37000, 51234, 66000, 80000] {
            for n in c..<y.count {
                let k = Double(n - c)
                y[n] += 0.5 * sin(2 * Double.pi * 3000 * k / rate) * exp(-k / (0.01 * rate))
            }
        }
        return y.map { Double(Float($0)) }
    }

    /// librosa's onset_strength and onset_detect on the click train: the same frame count, the same onset frames
    /// (each within two hops after its click: the frame whose window's leading edge has just taken it in), and the
    /// envelope at them and its sum within 1e-3 relative (librosa computes in float32).
    func testClickTrainOnsetsMatchLibrosa() {
        let y = OnsetTests.clickTrain()
        let envelope = OnsetEnvelope(rate: 22050)
        var at = 0, run = 1000
        while at < y.count {
            envelope.add(y[at..<min(y.count, at + run)], time: 0)
            at += run
            run = run == 1000 ? 4096 : 1000
        }
        let env = envelope.envelope()
        XCTAssertEqual(env.count, OnsetTests.envelopeCount)
        let frames = envelope.onsets(env)
        XCTAssertEqual(frames, OnsetTests.clickFrames)
        for (f, c) in zip(frames, [3000, 14000, 24100, 37000, 51234, 66000, 80000]) {
            XCTAssert((0..<1024).contains(f * 512 - c), "frame \(f) for the click at sample \(c)")
        }
        XCTAssertEqual(env.max()!, OnsetTests.envelopeMax, accuracy: OnsetTests.envelopeMax * 1e-3)
        for (f, v) in zip(frames, OnsetTests.envelopeAtOnsets) { XCTAssertEqual(env[f], v, accuracy: v * 1e-3, "frame \(f)") }
        XCTAssertEqual(env.reduce(0, +), OnsetTests.envelopeSum, accuracy: OnsetTests.envelopeSum * 1e-3)
    }

    /// A sound that starts at `at` (s) in 2 s of 48 kHz silence: a click (3 kHz, decaying by e every 6 ms), a tone
    /// burst (1 kHz, 150 ms, starting at full level) or a noise burst (seeded white, 150 ms, rms 0.1).
    static func burst(_ kind: String, at: Double, rate: Int = 48000) -> [Double] {
        var y = [Float](repeating: 0, count: 2 * rate)
        let first = Int((at * Double(rate)).rounded())
        switch kind {
        case "click": SyntheticAudio.addClick(to: &y, at: at, rate: rate)
        case "tone":
            let tone = SyntheticAudio.tone(frequency: 1000, amplitude: 0.5, seconds: 0.15, rate: rate)
            for (i, x) in tone.enumerated() { y[first + i] = x }
        default:
            let noise = SyntheticAudio.noise(seed: 3, rms: 0.1, seconds: 0.15, rate: rate)
            for (i, x) in noise.enumerated() { y[first + i] = x }
        }
        return y.map(Double.init)
    }

    /// Where the envelope dates a sound that starts at a known time: the onset frame onset_detect picks, and the
    /// flux-weighted mean of the entry times over the 60 ms after the start (the event's flux), against the start,
    /// for starts at eight phases within a hop (sync's envelope at 48 kHz: nfft 2048, hop 279, 5.8 ms).
    static func dating(_ kind: String) -> (frame: [Double], centre: [Double]) {
        var frame: [Double] = [], centre: [Double] = []
        for phase in 0..<8 {
            let at = 0.7 + Double(phase) * 279 / 8 / 48000
            let envelope = OnsetEnvelope.forSync(rate: 48000)
            envelope.add(burst(kind, at: at), time: 0)
            let env = envelope.envelope()
            let onsets = envelope.onsets(env)
            frame.append(onsets.first.map { envelope.entryTime($0) - at } ?? .nan)
            var sum = 0.0, weight = 0.0
            for k in env.indices where envelope.entryTime(k) > at - 0.03 && envelope.entryTime(k) < at + 0.06 {
                sum += env[k] * (envelope.entryTime(k) - at)
                weight += env[k]
            }
            centre.append(sum / weight)
        }
        return (frame, centre)
    }

    /// A click, a tone burst and a noise burst at known starts: the first onset frame's entry time within one hop
    /// (5.8 ms) of the start at every phase; the flux-weighted centre 4 to 9 ms after it (measured: click 5.7–6.3,
    /// tone 6.0–6.6, noise 7.5–8.4 ms), the residual that av_offset_ms keeps (AVOffset's doc comment): the Hann
    /// window takes a sound in gradually, so its log-mel energy goes on rising for the hops after it enters.
    func testEntryTimeDatesABurst() {
        let hop = 279.0 / 48000
        for kind in ["click", "tone", "noise"] {
            let (frame, centre) = OnsetTests.dating(kind)
            print(kind, "first onset − start (ms):", frame.map { String(format: "%.2f", $0 * 1000) }.joined(separator: " "),
                  "flux centre − start (ms):", centre.map { String(format: "%.2f", $0 * 1000) }.joined(separator: " "))
            for (phase, (f, c)) in zip(frame, centre).enumerated() {
                XCTAssertLessThanOrEqual(abs(f), hop, "\(kind), phase \(phase)")
                XCTAssert(c > 0.004 && c < 0.009, "\(kind), phase \(phase): flux centre \(c * 1000) ms after the start")
            }
        }
    }

    /// peak_pick's rules on small series: the first frame's own rule, the wait, and the mean threshold.
    func testPeakPick() {
        XCTAssertEqual(OnsetEnvelope.peakPick([1, 0, 0, 0, 0], preMax: 1, postMax: 1, preAvg: 1, postAvg: 2, delta: 0.1, wait: 1), [0])
        XCTAssertEqual(OnsetEnvelope.peakPick([0, 1, 1, 0, 1, 0], preMax: 1, postMax: 1, preAvg: 1, postAvg: 2, delta: 0, wait: 1), [1, 4])
        XCTAssertEqual(OnsetEnvelope.peakPick([0, 1, 0.95, 0], preMax: 1, postMax: 1, preAvg: 1, postAvg: 2, delta: 0.2, wait: 0), [1])
        XCTAssertEqual(OnsetEnvelope(rate: 22050).onsets([0, 0, 0]), [])
    }
}
