import GallopCore
@testable import GallopMetrics
import GallopSynth
import XCTest

final class LoudnessTests: XCTestCase {
    /// Feeds channels to a meter in runs of `chunk` samples (uneven against the 100 ms hop).
    func meter(_ channels: [[Double]], rate: Int, roles: [AudioChannelRole], chunk: Int = 1000) -> LoudnessMeter {
        let m = LoudnessMeter(rate: rate, roles: roles)
        let buffers = channels.map { c -> UnsafeMutableBufferPointer<Double> in
            let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: c.count)
            _ = b.initialize(from: c)
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        var at = 0
        while at < channels[0].count {
            let n = min(chunk, channels[0].count - at)
            m.add(buffers.map { UnsafeBufferPointer(rebasing: $0[at..<(at + n)]) })
            at += n
        }
        return m
    }

    static func d(_ x: [Float]) -> [Double] { x.map(Double.init) }

    /// The signals of scripts/gallopcheck/loudness_fixtures.py, sample for sample (rate, roles, channels).
    static func signals() -> [String: (Int, [AudioChannelRole], [[Double]])] {
        typealias S = SyntheticAudio
        var out: [String: (Int, [AudioChannelRole], [[Double]])] = [:]
        out["sine1k_48k"] = (48000, [.other], [d(S.tone(frequency: 1000, amplitude: 0.1, seconds: 10, rate: 48000))])
        let a23 = d(S.tone(frequency: 1000, amplitude: pow(10, -23.0 / 20), seconds: 20, rate: 48000))
        out["ebu3341_1"] = (48000, [.other, .other], [a23, a23])
        let a33 = d(S.tone(frequency: 1000, amplitude: pow(10, -33.0 / 20), seconds: 20, rate: 48000))
        out["ebu3341_2"] = (48000, [.other, .other], [a33, a33])
        let left = S.noise(seed: 1, rms: 0.1, seconds: 10, rate: 44100) + S.noise(seed: 3, rms: 0.1, seconds: 10, rate: 44100).map { $0 * 0.25 }
        let right = S.noise(seed: 2, rms: 0.1, seconds: 10, rate: 44100) + S.noise(seed: 4, rms: 0.1, seconds: 10, rate: 44100).map { $0 * 0.25 }
        out["step_44k"] = (44100, [.other, .other], [d(left), d(right)])
        let s = S.tone(frequency: 220, amplitude: 0.3, seconds: 8, rate: 22050), p = S.noise(seed: 5, rms: 0.05, seconds: 8, rate: 22050, color: .pink)
        out["sine_pink_s16_22k"] = (22050, [.other], [zip(s, p).map { ((Double($0) + Double($1)) * 32768).rounded(.toNearestOrEven) / 32768 }])
        out["pink51_48k"] = (48000, [.other, .other, .other, .lowFrequency, .surround, .surround],
                             (0..<6).map { d(S.noise(seed: 10 + UInt64($0), rms: 0.05, seconds: 12, rate: 48000, color: .pink)) })
        out["bursts_32k"] = (32000, [.other], [(0..<8).flatMap { d(S.tone(frequency: 500, amplitude: $0 % 2 == 0 ? 0.3 : 0.01, seconds: 2, rate: 32000)) }])
        return out
    }

    /// FFmpeg 5.1.9's `ebur128=metadata=1:peak=true` on those signals (name, I, LRA, true peaks per channel),
    /// printed by `python3 -m gallopcheck.loudness_fixtures` (scripts/): the same numbers as FFmpeg 7.0.2's.
    static let ffmpeg: [(String, Double, Double, [Double])] = [
        ("sine1k_48k", -23.010, 0.000, [0.100000]),
        ("ebu3341_1", -23.000, 0.000, [0.071000, 0.071000]),
        ("ebu3341_2", -33.000, 0.000, [0.022000, 0.022000]),
        ("step_44k", -16.619, 12.050, [0.325000, 0.321000]),
        ("sine_pink_s16_22k", -14.117, 0.020, [0.507000]),
        ("pink51_48k", -18.490, 0.020, [0.231000, 0.227000, 0.219000, 0.216000, 0.228000, 0.216000]),
        ("bursts_32k", -14.645, 3.000, [0.300000]),
    ]

    /// Integrated loudness and loudness range equal FFmpeg's to its printed 0.001 (within 0.002 for rounding)
    /// on tones (EBU Tech 3341 cases 1 and 2: −23.0 and −33.0), noise with a 12 dB step, a 16-bit mix at
    /// 22.05 kHz, 5.1 pink noise (LFE left out, surround 1.41) and gated bursts at 32 kHz.
    func testMatchesFFmpegEBUR128() {
        let signals = LoudnessTests.signals()
        for (name, i, lra, _) in LoudnessTests.ffmpeg {
            let (rate, roles, channels) = signals[name]!
            let m = meter(channels, rate: rate, roles: roles)
            XCTAssertEqual(m.integrated ?? .nan, i, accuracy: 0.002, name)
            XCTAssertEqual(m.range ?? .nan, lra, accuracy: 0.002, name)
            XCTAssertEqual(m.momentary.count, channels[0].count / (rate / 10) - 3, name)
        }
    }

    /// The chunking of the input does not change a number.
    func testChunkingDoesNotMatter() {
        let (rate, roles, channels) = LoudnessTests.signals()["step_44k"]!
        let a = meter(channels, rate: rate, roles: roles, chunk: 1), b = meter(channels, rate: rate, roles: roles, chunk: 44100 * 7)
        XCTAssertEqual(a.integrated, b.integrated)
        XCTAssertEqual(a.range, b.range)
        XCTAssertEqual(a.momentary, b.momentary)
    }

    /// At 48 kHz FFmpeg's recomputed K-weighting equals BS.1770-4's published coefficients (to 1e-8).
    func testKWeightingAt48k() {
        let (pre, rlb) = LoudnessMeter.coefficients(rate: 48000)
        for (x, y) in zip(pre.b + pre.a[1...] + rlb.a[1...], [1.53512485958697, -2.69169618940638, 1.19839281085285,
                                                               -1.69065929318241, 0.73248077421585, -1.99004745483398, 0.99007225036621]) {
            XCTAssertEqual(x, y, accuracy: 1e-8)
        }
    }

    /// Digital silence and anything under the absolute gate have no integrated loudness (FFmpeg prints −70);
    /// a clip under 3 s has no loudness range (FFmpeg prints 0), and under 400 ms no momentary block.
    func testNullCases() {
        let silent = meter([[Double](repeating: 0, count: 48000 * 5)], rate: 48000, roles: [.other])
        XCTAssertNil(silent.integrated)
        XCTAssertNil(silent.range)
        XCTAssertEqual(silent.momentary.count, 47)
        XCTAssertTrue(silent.momentary.allSatisfy { $0 < -100 })
        let short = meter([LoudnessTests.d(SyntheticAudio.tone(frequency: 1000, amplitude: 0.1, seconds: 2, rate: 48000))], rate: 48000, roles: [.other])
        XCTAssertEqual(short.integrated ?? .nan, -23.01, accuracy: 0.01)
        XCTAssertNil(short.range)
        let tiny = meter([[Double](repeating: 0.5, count: 9000)], rate: 48000, roles: [.other])
        XCTAssertNil(tiny.integrated)
        XCTAssertEqual(tiny.momentary, [])
        // Only the LFE channel sounds: weight 0, so nothing is measured.
        let lfe = meter([[Double](repeating: 0, count: 96000), LoudnessTests.d(SyntheticAudio.tone(frequency: 60, amplitude: 0.5, seconds: 2, rate: 48000))],
                        rate: 48000, roles: [.other, .lowFrequency])
        XCTAssertNil(lfe.integrated)
    }
}
