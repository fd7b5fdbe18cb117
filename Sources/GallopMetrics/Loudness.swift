import Foundation
import GallopCore

/// Loudness as FFmpeg's `ebur128` filter measures it (libavfilter/f_ebur128.c, the same in 5.1 and 7.x),
/// streaming over a clip's sound: ITU-R BS.1770-4 integrated loudness with its gates, EBU Tech 3342's
/// loudness range, and the 400 ms momentary loudness every 100 ms.
///
/// The method, copied with FFmpeg's quirks so the numbers are FFmpeg's to the last digit it prints:
/// - K-weighting: two biquads (the high shelf "pre" filter and the RLB high pass) whose coefficients are
///   computed for the stream's own rate from the analogue prototype (f0, G, Q below), not BS.1770's
///   48 kHz table: FFmpeg does not resample to 48 kHz. Direct form I in double, states from zero.
/// - Channels are weighted before summing (LFE 0, back, side and top-back surround 1.41, FFmpeg's constant,
///   all else 1) and never downmixed: a mono downmix would read 3 to 6 dB louder.
/// - Two running sums of the squared K-weighted samples per channel, over the last `rate·4/10` (400 ms) and
///   `rate·3` (3 s) samples. Every `rate/10` samples a block: power = (1e-12 + Σ w·sum) / ring size once the
///   ring has filled (else 1e-12), loudness = −0.691 + 10·log10(power). A tail shorter than a hop is not a block.
/// - Gating by histogram: blocks at or above −70 LUFS go to 8001 bins of 1/100 LU from −70 LUFS
///   (truncated), and the relative gate (−10 LU for I, −20 LU for LRA) is the loudness of the mean of the
///   exact kept powers. I is the loudness of the mean of the bins' lower-edge energies from the gate's bin
///   up (so I is quantised and lower by at most 0.01 LU); LRA is the 95th minus the 10th percentile bin,
///   by FFmpeg's rounding of the counts.
public final class LoudnessMeter {
    public let rate: Int
    public let weights: [Double]
    /// Samples between blocks (100 ms, integer division).
    public let hop: Int
    private let short: Int, long: Int
    private let pre: (b: [Double], a: [Double]), rlb: (b: [Double], a: [Double])
    /// Per channel: x[−1], x[−2], y[−1], y[−2], z[−1], z[−2].
    private var state: [Double]
    private var ring400: [Double], ring3000: [Double]
    private var sum400: [Double], sum3000: [Double]
    private var position400 = 0, position3000 = 0
    private var samples = 0
    private var sinceBlock = 0
    private var gate400 = Gate(relative: -10), gate3000 = Gate(relative: -20)
    /// The momentary loudness (LUFS) of every 400 ms block once 400 ms have gone by, one every 100 ms
    /// (−∞ for a block with no power left).
    public private(set) var momentary: [Double] = []

    /// BS.1770's weight of a channel, as FFmpeg gives it.
    public static func weight(_ role: AudioChannelRole) -> Double {
        switch role {
        case .lowFrequency: return 0
        case .surround: return 1.41
        case .other: return 1
        }
    }

    /// The two K-weighting biquads at `rate` (FFmpeg's `config_audio_input`).
    static func coefficients(rate: Int) -> (pre: (b: [Double], a: [Double]), rlb: (b: [Double], a: [Double])) {
        let r = Double(rate)
        var f0 = 1681.974450955533, q = 0.7071752369554196
        let g = 3.999843853973347
        var k = tan(Double.pi * f0 / r)
        let vh = pow(10, g / 20), vb = pow(vh, 0.4996667741545416)
        let a0 = 1 + k / q + k * k
        let preB = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
        let preA = [1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
        f0 = 38.13547087602444
        q = 0.5003270373238773
        k = tan(Double.pi * f0 / r)
        let d = 1 + k / q + k * k
        return ((preB, preA), ([1, -2, 1], [1, 2 * (k * k - 1) / d, (1 - k / q + k * k) / d]))
    }

    public init(rate: Int, roles: [AudioChannelRole]) {
        precondition(rate > 0 && !roles.isEmpty)
        self.rate = rate
        weights = roles.map(LoudnessMeter.weight)
        hop = max(1, rate / 10)
        short = max(1, rate * 4 / 10)
        long = max(1, rate * 3)
        (pre, rlb) = LoudnessMeter.coefficients(rate: rate)
        let n = roles.count
        state = [Double](repeating: 0, count: 6 * n)
        ring400 = [Double](repeating: 0, count: short * n)
        ring3000 = [Double](repeating: 0, count: long * n)
        sum400 = [Double](repeating: 0, count: n)
        sum3000 = [Double](repeating: 0, count: n)
    }

    /// Adds a run of samples: one buffer per channel (the meter's channel order), of equal length.
    public func add(_ planes: [UnsafeBufferPointer<Double>]) {
        precondition(planes.count == weights.count)
        let n = planes.first?.count ?? 0
        var done = 0
        while done < n {
            let run = min(n - done, hop - sinceBlock)
            for c in planes.indices where weights[c] != 0 { filter(channel: c, planes[c].baseAddress! + done, count: run) }
            position400 = (position400 + run) % short
            position3000 = (position3000 + run) % long
            samples += run
            sinceBlock += run
            done += run
            if sinceBlock == hop {
                sinceBlock = 0
                block()
            }
        }
    }

    private func filter(channel c: Int, _ x: UnsafePointer<Double>, count: Int) {
        let pb0 = pre.b[0], pb1 = pre.b[1], pb2 = pre.b[2], pa1 = pre.a[1], pa2 = pre.a[2]
        let rb0 = rlb.b[0], rb1 = rlb.b[1], rb2 = rlb.b[2], ra1 = rlb.a[1], ra2 = rlb.a[2]
        state.withUnsafeMutableBufferPointer { s in
            var x1 = s[6 * c], x2 = s[6 * c + 1], y1 = s[6 * c + 2], y2 = s[6 * c + 3], z1 = s[6 * c + 4], z2 = s[6 * c + 5]
            var sum4 = sum400[c], sum30 = sum3000[c]
            var p4 = position400, p30 = position3000
            ring400.withUnsafeMutableBufferPointer { r4 in
                ring3000.withUnsafeMutableBufferPointer { r30 in
                    let b4 = c * short, b30 = c * long
                    for i in 0..<count {
                        let x0 = x[i]
                        let y0 = x0 * pb0 + x1 * pb1 + x2 * pb2 - y1 * pa1 - y2 * pa2
                        x2 = x1; x1 = x0
                        let z0 = y0 * rb0 + y1 * rb1 + y2 * rb2 - z1 * ra1 - z2 * ra2
                        y2 = y1; y1 = y0
                        z2 = z1; z1 = z0
                        let bin = z0 * z0
                        sum4 = sum4 + bin - r4[b4 + p4]
                        sum30 = sum30 + bin - r30[b30 + p30]
                        r4[b4 + p4] = bin
                        r30[b30 + p30] = bin
                        p4 += 1; if p4 == short { p4 = 0 }
                        p30 += 1; if p30 == long { p30 = 0 }
                    }
                }
            }
            s[6 * c] = x1; s[6 * c + 1] = x2; s[6 * c + 2] = y1; s[6 * c + 3] = y2; s[6 * c + 4] = z1; s[6 * c + 5] = z2
            sum400[c] = sum4
            sum3000[c] = sum30
        }
    }

    static func loudness(_ power: Double) -> Double { -0.691 + 10 * log10(power) }

    private func block() {
        var p400 = 1e-12, p3000 = 1e-12
        if samples >= short {
            for c in weights.indices { p400 += weights[c] * sum400[c] }
            p400 /= Double(short)
        }
        if samples >= long {
            for c in weights.indices { p3000 += weights[c] * sum3000[c] }
            p3000 /= Double(long)
        }
        let l400 = LoudnessMeter.loudness(p400), l3000 = LoudnessMeter.loudness(p3000)
        // After a loud passage the running sums can drift below zero by rounding (FFmpeg's drift alike) and
        // the loudness is NaN, which no gate keeps: as a momentary value that is silence.
        if samples >= short { momentary.append(l400.isNaN ? -.infinity : l400) }
        if l400 >= -70 { gate400.add(power: p400, loudness: l400) }
        if l3000 >= -70 { gate3000.add(power: p3000, loudness: l3000) }
    }

    /// Integrated loudness (LUFS); nil when no 400 ms block reached −70 LUFS (silence, or under 400 ms).
    public var integrated: Double? { gate400.integrated }

    /// Loudness range (LU); nil when no 3 s block reached −70 LUFS (silence, or a clip under 3 s).
    public var range: Double? { gate3000.range }

    /// Seconds of sound added.
    public var seconds: Double { Double(samples) / Double(rate) }

    /// FFmpeg's histogram of gated blocks (`struct integrator`).
    struct Gate {
        static let bins = 8001
        static let energies: [Double] = (0..<bins).map { pow(10, ((Double($0) / 100 - 70) + 0.691) / 10) }
        let relative: Double
        var counts = [Int](repeating: 0, count: Gate.bins)
        var keptPower = 0.0
        var kept = 0

        init(relative: Double) { self.relative = relative }

        static func bin(_ loudness: Double) -> Int { min(max(Int((loudness + 70) * 100), 0), bins - 1) }

        mutating func add(power: Double, loudness: Double) {
            counts[Gate.bin(loudness)] += 1
            keptPower += power
            kept += 1
        }

        /// The bin of the relative gate.
        var gateBin: Int {
            var mean = keptPower / Double(kept)
            if mean == 0 { mean = 1e-12 }
            return Gate.bin(LoudnessMeter.loudness(mean) + relative)
        }

        var integrated: Double? {
            guard kept > 0 else { return nil }
            var n = 0, energy = 0.0
            for i in gateBin..<Gate.bins where counts[i] > 0 {
                n += counts[i]
                energy += Double(counts[i]) * Gate.energies[i]
            }
            return n > 0 ? LoudnessMeter.loudness(energy / Double(n)) : nil
        }

        var range: Double? {
            guard kept > 0 else { return nil }
            let gate = gateBin
            let n = counts[gate...].reduce(0, +)
            guard n > 0 else { return nil }
            let lowCount = Int(10 * Double(n) * 0.01 + 0.5)
            var low = 0.0, high = 0.0, c = 0
            for i in gate..<Gate.bins {
                c += counts[i]
                if c >= lowCount { low = Double(i) / 100 - 70; break }
            }
            let highCount = Int(95 * Double(n) * 0.01 + 0.5)
            c = n
            for i in stride(from: Gate.bins - 1, through: 0, by: -1) {
                c -= min(c, counts[i])
                if c < highCount { high = Double(i) / 100 - 70; break }
            }
            return high - low
        }
    }
}
