import Foundation
import GallopMetrics
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

    /// peak_pick's rules on small series: the first frame's own rule, the wait, and the mean threshold.
    func testPeakPick() {
        XCTAssertEqual(OnsetEnvelope.peakPick([1, 0, 0, 0, 0], preMax: 1, postMax: 1, preAvg: 1, postAvg: 2, delta: 0.1, wait: 1), [0])
        XCTAssertEqual(OnsetEnvelope.peakPick([0, 1, 1, 0, 1, 0], preMax: 1, postMax: 1, preAvg: 1, postAvg: 2, delta: 0, wait: 1), [1, 4])
        XCTAssertEqual(OnsetEnvelope.peakPick([0, 1, 0.95, 0], preMax: 1, postMax: 1, preAvg: 1, postAvg: 2, delta: 0.2, wait: 0), [1])
        XCTAssertEqual(OnsetEnvelope(rate: 22050).onsets([0, 0, 0]), [])
    }
}
