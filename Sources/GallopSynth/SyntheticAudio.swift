import Foundation
import GallopCore

/// Deterministic sounds for test clips and the demo: tones, seeded noise and clicks, as mono float
/// samples in −1…1 (``interleave(_:)`` makes a multichannel track of several). The same arguments give
/// the same samples on every platform.
public enum SyntheticAudio {
    public enum NoiseColor: String, Sendable, CaseIterable {
        /// Flat spectrum: uniform samples.
        case white
        /// −3 dB an octave: white noise through Paul Kellet's economy three-pole filter.
        case pink
    }

    /// A sine of `frequency` Hz whose peak is `amplitude` (1: full scale), `seconds` long at `rate`.
    public static func tone(frequency: Double, amplitude: Double, seconds: Double, rate: Int, phase: Double = 0) -> [Float] {
        let n = Int((seconds * Double(rate)).rounded())
        let w = 2 * Double.pi * frequency / Double(rate)
        return (0..<n).map { Float(amplitude * sin(w * Double($0) + phase)) }
    }

    /// Seeded noise scaled to the root-mean-square `rms` (1: a full-scale square wave's), `seconds` long.
    public static func noise(seed: UInt64, rms: Double, seconds: Double, rate: Int, color: NoiseColor = .white) -> [Float] {
        let n = Int((seconds * Double(rate)).rounded())
        var rng = SplitMix64(seed: seed)
        var raw = [Double](repeating: 0, count: n)
        var b0 = 0.0, b1 = 0.0, b2 = 0.0
        for i in 0..<n {
            let white = 2 * rng.uniform() - 1
            switch color {
            case .white:
                raw[i] = white
            case .pink:
                b0 = 0.99765 * b0 + white * 0.0990460
                b1 = 0.96300 * b1 + white * 0.2965164
                b2 = 0.57000 * b2 + white * 1.0526913
                raw[i] = b0 + b1 + b2 + white * 0.1848
            }
        }
        let power = raw.reduce(0) { $0 + $1 * $1 } / Double(max(n, 1))
        let gain = power > 0 ? rms / power.squareRoot() : 0
        return raw.map { Float($0 * gain) }
    }

    /// Adds a click at `time` (s): a 3 kHz tone of peak `amplitude` that starts at full level and decays
    /// by e every 6 ms (−40 dB by 30 ms), so its onset is sharp and lands on one sample.
    public static func addClick(to samples: inout [Float], at time: Double, rate: Int, amplitude: Double = 0.5) {
        let start = Int((time * Double(rate)).rounded())
        let length = Int(0.03 * Double(rate))
        let w = 2 * Double.pi * 3000 / Double(rate)
        for k in 0..<length where start + k >= 0 && start + k < samples.count {
            let t = Double(k) / Double(rate)
            samples[start + k] += Float(amplitude * exp(-t / 0.006) * sin(w * Double(k) + .pi / 2))
        }
    }

    /// Channels (equal lengths) interleaved sample by sample, as ``VideoWriter/appendAudio(_:)`` takes them.
    public static func interleave(_ channels: [[Float]]) -> [Float] {
        guard let n = channels.first?.count else { return [] }
        precondition(channels.allSatisfy { $0.count == n }, "channels of different lengths")
        var out = [Float](repeating: 0, count: n * channels.count)
        for (c, channel) in channels.enumerated() {
            for i in 0..<n { out[i * channels.count + c] = channel[i] }
        }
        return out
    }
}
