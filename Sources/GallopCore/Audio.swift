/// What a channel of a sound track is for the loudness measure (ITU-R BS.1770's weights, as FFmpeg's
/// `ebur128` assigns them from the channel's position).
public enum AudioChannelRole: Sendable, Equatable {
    /// Low-frequency effects: left out of loudness (weight 0).
    case lowFrequency
    /// Back, side and top-back surround channels (weight 1.41).
    case surround
    /// Every other position, and channels whose position is not known (weight 1).
    case other
}

/// A run of decoded samples from a clip's sound track, lent to a closure as ``Frame`` is: valid only during
/// the call. The samples are the stream's own channels at its own rate, converted to double (16-bit samples
/// as x / 32768, exactly): nothing is downmixed or resampled, so loudness is measured as FFmpeg's
/// `ebur128` measures it.
public struct AudioChunk: @unchecked Sendable {
    /// Seconds of the first sample on the picture's clock: 0 is the first video frame's presentation time,
    /// as ``Frame/time``; negative for sound before the first frame.
    public let time: Double
    /// Samples per second.
    public let rate: Int
    /// One role per channel, in the stream's channel order.
    public let roles: [AudioChannelRole]
    /// One buffer per channel, `count` samples each.
    public let planes: [UnsafeBufferPointer<Double>]
    /// Each channel's largest |sample| after resampling this run to 192 kHz (FFmpeg's true peak; see the
    /// reader's `AudioRequest`), nil when not asked for.
    public let truePeaks: [Double]?

    public var count: Int { planes.first?.count ?? 0 }

    public init(time: Double, rate: Int, roles: [AudioChannelRole], planes: [UnsafeBufferPointer<Double>], truePeaks: [Double]? = nil) {
        precondition(roles.count == planes.count && planes.allSatisfy { $0.count == planes[0].count })
        self.time = time
        self.rate = rate
        self.roles = roles
        self.planes = planes
        self.truePeaks = truePeaks
    }
}
