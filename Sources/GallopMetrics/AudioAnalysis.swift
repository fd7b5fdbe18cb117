import GallopCore

/// A clip's sound, measured once for every audio metric as it decodes (``MetricEngine/consumeAudio(_:)``)
/// and handed to them when the clip ends (``ClipAnalyses/audio``): FFmpeg `ebur128`'s loudness
/// (``LoudnessMeter``), the largest sample and true peak, and the samples at full scale. Its memory is
/// the meter's rings (3.4 s of doubles a channel) and ten numbers a second of momentary loudness; with `onsets`,
/// also the onset envelope of the sync metrics (``OnsetEnvelope/forSync(rate:)``, one dB frame a 5.8 ms hop).
public final class AudioAnalysis: @unchecked Sendable {
    public let rate: Int
    public let roles: [AudioChannelRole]
    public let loudness: LoudnessMeter
    /// Largest |sample| over every channel.
    public private(set) var samplePeak = 0.0
    /// Largest |sample| after resampling to 192 kHz (FFmpeg's true peak); nil when the reader gave none.
    public private(set) var truePeak: Double?
    /// Samples (every channel) at or beyond full scale: |x| ≥ 32767/32768, the largest 16-bit value; decoded
    /// float (AAC) can go beyond 1.0, and those count too.
    public private(set) var clippedSamples = 0
    /// Samples over every channel.
    public private(set) var totalSamples = 0
    /// The onset envelope of the mono downmix (the mean of the channels other than low-frequency effects: the
    /// scale does not matter to a log-spectral flux), nil unless asked for.
    public let onsets: OnsetEnvelope?

    public static let fullScale = 32767.0 / 32768.0

    public init(rate: Int, roles: [AudioChannelRole], onsets: Bool = false) {
        self.rate = rate
        self.roles = roles
        loudness = LoudnessMeter(rate: rate, roles: roles)
        self.onsets = onsets ? OnsetEnvelope.forSync(rate: rate) : nil
    }

    /// Adds a run of samples (its rate and channels are the first run's: the reader converts every later one to them).
    public func add(_ chunk: AudioChunk) {
        precondition(chunk.rate == rate && chunk.roles.count == roles.count, "audio format changed between chunks")
        loudness.add(chunk.planes)
        var peak = samplePeak, clipped = 0
        for plane in chunk.planes {
            for x in plane {
                let a = abs(x)
                if a > peak { peak = a }
                if a >= AudioAnalysis.fullScale { clipped += 1 }
            }
        }
        samplePeak = peak
        clippedSamples += clipped
        totalSamples += chunk.count * chunk.planes.count
        if let peaks = chunk.truePeaks { truePeak = max(truePeak ?? 0, peaks.max() ?? 0) }
        if let onsets {
            let used = chunk.planes.indices.filter { roles[$0] != .lowFrequency }
            let channels = used.isEmpty ? Array(chunk.planes.indices) : used
            var mono = [Double](repeating: 0, count: chunk.count)
            for c in channels { for (i, x) in chunk.planes[c].enumerated() { mono[i] += x } }
            let scale = 1 / Double(channels.count)
            onsets.add(mono.lazy.map { $0 * scale }, time: chunk.time)
        }
    }

    /// Seconds of sound.
    public var seconds: Double { loudness.seconds }
}
