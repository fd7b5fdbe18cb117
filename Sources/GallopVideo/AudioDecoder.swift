import CFFmpeg
import GallopCore

/// What the reader decodes of a clip's sound (``ReadOptions/audio``; nil: the sound track is never
/// demuxed, so a video-only read does no audio work at all).
public struct AudioRequest: Sendable, Hashable {
    /// Also resample each run of samples to 192 kHz and hand out each channel's largest |sample|
    /// (``AudioChunk/truePeaks``): FFmpeg's `ebur128=peak=true` true peak, which is this resampler with
    /// libswresample's default filter, never flushed (so the last few input samples are not examined, as there).
    public var truePeak: Bool

    public init(truePeak: Bool = true) {
        self.truePeak = truePeak
    }
}

/// The sound track as the reader found it.
public enum AudioStatus: Sendable, Equatable {
    /// Not asked for (``ReadOptions/audio`` nil).
    case notRequested
    /// The file has no audio stream.
    case absent
    /// There is an audio stream, but it cannot be decoded (the reason); the picture is read as usual.
    case unusable(String)
    /// Decoded: its codec, rate, channel count and layout name (FFmpeg's: "mono", "stereo", "7.1").
    case decoded(codec: String, rate: Int, channels: Int, layout: String)

    /// Whether the file carries sound at all (an unusable stream counts: the clip has a sound track).
    public var present: Bool {
        switch self {
        case .notRequested, .absent: return false
        case .unusable, .decoded: return true
        }
    }
}

/// Decodes the clip's first audio stream (the one FFmpeg relates to the chosen video stream) inside the
/// reader's single pass: the reader routes that stream's packets here and video packets to its own decoder.
///
/// Each decoded frame is converted by libswresample to planar double at the stream's own rate and layout
/// (what the ffmpeg CLI's automatic `aresample` does before `ebur128`) and, when asked, also to 192 kHz for
/// the true peak; then it is lent to the sink as an ``AudioChunk`` and dropped, so memory stays constant.
/// Frames decoded before the picture's first frame is known wait (references, not copies: the demuxer
/// interleaves the streams within about a second), so every chunk's time is on the picture's clock.
///
/// Nothing here throws to the reader: a stream that cannot be opened is ``AudioStatus/unusable(_:)`` with
/// its reason, and damaged packets become one warning with their count, the metrics being over the audio
/// that decoded.
final class AudioDecoder {
    let streamIndex: Int32
    private let codec: CodecContextHandle
    private let timeBase: AVRational
    private let request: AudioRequest
    private let packetFrame: FrameHandle
    /// The layout channels are taken in: the stream's, or FFmpeg's default for its count when unspecified.
    private var layout: ChannelLayoutBox
    private var roles: [AudioChannelRole] = []
    /// The first frame's rate and layout, which every chunk is converted to.
    private var rate = 0
    private var measurement: ResampleHandle?
    private var truePeak: ResampleHandle?
    private var key: (rate: Int32, format: Int32, channels: Int32)?
    private var measured: SampleBuffer
    private var oversampled: SampleBuffer
    private var waiting: [FrameHandle] = []
    /// Where the next chunk starts on the stream's clock (s), for frames without a timestamp.
    private var nextTime: Double?
    private(set) var decodedSamples = 0
    private(set) var firstTime: Double?
    private(set) var endTime: Double?
    private var corrupt = 0
    private var firstError: String?
    private(set) var warnings: [String] = []

    /// The decoder for `fmt`'s audio stream related to `videoIndex`, or the status saying why there is none.
    static func open(format fmt: UnsafeMutablePointer<AVFormatContext>, videoIndex: Int32, request: AudioRequest) -> (AudioDecoder?, AudioStatus) {
        var index = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, videoIndex, nil, 0)
        if index < 0 {
            // FFmpeg passes over an audio stream that declares no channels or no rate: that one is unusable, not absent.
            guard let first = (0..<Int(fmt.pointee.nb_streams)).first(where: { fmt.pointee.streams[$0]!.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO })
            else { return (nil, .absent) }
            index = Int32(first)
        }
        let stream = fmt.pointee.streams[Int(index)]!
        let par = stream.pointee.codecpar!
        let channels = Int(par.pointee.ch_layout.nb_channels)
        // Checked before the decoder opens: FFmpeg refuses the first and fails on the data with the second.
        if channels <= 0 { return (nil, .unusable("the audio stream declares no channels: not decoded")) }
        if par.pointee.sample_rate <= 0 { return (nil, .unusable("the audio stream declares 0 Hz: not decoded")) }
        if channels > 64 { return (nil, .unusable("the audio stream declares \(channels) channels (64 at most): not decoded")) }
        let name = String(cString: avcodec_get_name(par.pointee.codec_id))
        guard let decoder = avcodec_find_decoder(par.pointee.codec_id) else {
            return (nil, .unusable("no decoder for audio codec '\(name)' in this FFmpeg build"))
        }
        guard let codec = CodecContextHandle(codec: decoder), let frame = FrameHandle() else {
            return (nil, .unusable("out of memory allocating the \(name) decoder"))
        }
        let ctx = codec.pointer
        var rc = avcodec_parameters_to_context(ctx, par)
        if rc < 0 { return (nil, .unusable("cannot copy the audio codec parameters: \(ffmpegErrorString(rc))")) }
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        ctx.pointee.thread_count = 1
        rc = avcodec_open2(ctx, decoder, nil)
        if rc < 0 { return (nil, .unusable("the \(name) audio decoder could not start: \(ffmpegErrorString(rc))")) }
        // The demuxer skips a discarded stream's packets: this one is read from now on.
        stream.pointee.discard = AVDISCARD_DEFAULT
        let decoderObject = AudioDecoder(index: index, codec: codec, frame: frame, timeBase: stream.pointee.time_base,
                                         request: request, layout: par.pointee.ch_layout)
        let box = decoderObject.layout
        return (decoderObject, .decoded(codec: name, rate: Int(par.pointee.sample_rate), channels: box.count, layout: box.name))
    }

    private init(index: Int32, codec: CodecContextHandle, frame: FrameHandle, timeBase: AVRational, request: AudioRequest,
                 layout declared: AVChannelLayout) {
        streamIndex = index
        self.codec = codec
        packetFrame = frame
        self.timeBase = timeBase
        self.request = request
        var declared = declared
        layout = AudioDecoder.usableLayout(&declared, warnings: &warnings)
        measured = SampleBuffer(format: AV_SAMPLE_FMT_DBLP, channels: layout.count)
        oversampled = SampleBuffer(format: AV_SAMPLE_FMT_DBLP, channels: layout.count)
    }

    /// A layout with positions: the stream's own, or for one that gives only a count FFmpeg's default for
    /// that count, as the ffmpeg CLI guesses it (its loudness weights are computed on the guess), with a
    /// warning when the guess gives some channel a weight other than 1 (an LFE or surround channel).
    private static func usableLayout(_ declared: UnsafeMutablePointer<AVChannelLayout>, warnings: inout [String]) -> ChannelLayoutBox {
        let n = Int(declared.pointee.nb_channels)
        if declared.pointee.order != AV_CHANNEL_ORDER_UNSPEC, let copy = ChannelLayoutBox(copying: declared) { return copy }
        let guess = ChannelLayoutBox(defaultFor: n)
        if !guess.unspecified, guess.channels.contains(where: { role(of: $0) != .other }) {
            let text = "audio layout unspecified (\(n) channels): taken as \(guess.name)"
            if !warnings.contains(text) { warnings.append(text) }
        }
        return guess
    }

    static func role(of channel: AVChannel) -> AudioChannelRole {
        switch channel {
        case AV_CHAN_LOW_FREQUENCY, AV_CHAN_LOW_FREQUENCY_2:
            return .lowFrequency
        case AV_CHAN_BACK_LEFT, AV_CHAN_BACK_CENTER, AV_CHAN_BACK_RIGHT, AV_CHAN_TOP_BACK_LEFT, AV_CHAN_TOP_BACK_CENTER,
             AV_CHAN_TOP_BACK_RIGHT, AV_CHAN_SIDE_LEFT, AV_CHAN_SIDE_RIGHT, AV_CHAN_SURROUND_DIRECT_LEFT, AV_CHAN_SURROUND_DIRECT_RIGHT:
            return .surround
        default:
            return .other
        }
    }

    /// Decodes one of the stream's packets; `start` is the picture's first frame time on the stream clock
    /// (s; nil while not known).
    func decode(_ packet: UnsafeMutablePointer<AVPacket>?, start: Double?, sink: ((AudioChunk) -> Void)?) {
        let rc = avcodec_send_packet(codec.pointer, packet)
        if rc < 0 && rc != averrorEOF { note(rc) }
        receive(start: start, sink: sink)
    }

    /// At the end of the input: drains the decoder.
    func flush(start: Double?, sink: ((AudioChunk) -> Void)?) {
        decode(nil, start: start, sink: sink)
    }

    /// At the end of the read: lends the frames still waiting for the picture's first time (0 when it never came).
    func end(start: Double?, sink: ((AudioChunk) -> Void)?) {
        release(start: start ?? 0, sink: sink)
    }

    private func receive(start: Double?, sink: ((AudioChunk) -> Void)?) {
        let f = packetFrame.pointer
        while true {
            let rc = avcodec_receive_frame(codec.pointer, f)
            if rc == averrorEAGAIN || rc == averrorEOF { return }
            if rc < 0 {
                note(rc)
                return
            }
            if f.pointee.decode_error_flags != 0 || (f.pointee.flags & AV_FRAME_FLAG_CORRUPT) != 0 { note(nil) }
            if let start {
                release(start: start, sink: sink)
                convert(f, start: start, sink: sink)
                av_frame_unref(f)
            } else if let held = FrameHandle() {
                av_frame_move_ref(held.pointer, f)
                waiting.append(held)
            } else {
                av_frame_unref(f)
            }
        }
    }

    private func release(start: Double, sink: ((AudioChunk) -> Void)?) {
        let held = waiting
        waiting = []
        for h in held { convert(h.pointer, start: start, sink: sink) }
    }

    private func note(_ rc: Int32?) {
        corrupt += 1
        if firstError == nil, let rc { firstError = ffmpegErrorString(rc) }
    }

    /// Makes the converters for a frame of a new rate, format or channel count: the first frame's rate and
    /// layout are what every later frame is converted to.
    private func prepare(_ f: UnsafeMutablePointer<AVFrame>) -> Bool {
        let k = (f.pointee.sample_rate, f.pointee.format, f.pointee.ch_layout.nb_channels)
        if let key, key == k { return measurement != nil }
        guard k.0 > 0, k.2 > 0 else { return false }
        let first = key == nil
        if !first {
            let text = "audio format changes mid-stream (\(key!.rate) Hz, \(key!.channels) ch to \(k.0) Hz, \(k.2) ch); later audio is converted to the first format"
            if !warnings.contains(text) { warnings.append(text) }
        }
        key = k
        var inputLayout = first ? layout : AudioDecoder.usableLayout(&f.pointee.ch_layout, warnings: &warnings)
        if first {
            if f.pointee.ch_layout.nb_channels != Int32(layout.count) || f.pointee.ch_layout.order != AV_CHANNEL_ORDER_UNSPEC
                && av_channel_layout_compare(&f.pointee.ch_layout, &layout.layout) != 0 {
                layout = AudioDecoder.usableLayout(&f.pointee.ch_layout, warnings: &warnings)
                measured = SampleBuffer(format: AV_SAMPLE_FMT_DBLP, channels: layout.count)
                oversampled = SampleBuffer(format: AV_SAMPLE_FMT_DBLP, channels: layout.count)
            }
            inputLayout = layout
            rate = Int(k.0)
            roles = layout.channels.map(AudioDecoder.role)
            if request.truePeak {
                truePeak = ResampleHandle(outLayout: layout, outFormat: AV_SAMPLE_FMT_DBLP, outRate: 192_000,
                                          inLayout: layout, inFormat: AV_SAMPLE_FMT_DBLP, inRate: k.0)
                if truePeak == nil { warnings.append("libswresample cannot resample this audio to 192 kHz: no true peak") }
            }
        }
        measurement = ResampleHandle(outLayout: layout, outFormat: AV_SAMPLE_FMT_DBLP, outRate: Int32(rate),
                                     inLayout: inputLayout, inFormat: AVSampleFormat(rawValue: k.1), inRate: k.0)
        if measurement == nil {
            let text = "libswresample cannot convert this audio (\(k.0) Hz, \(k.2) channels): the rest is not measured"
            if !warnings.contains(text) { warnings.append(text) }
        }
        return measurement != nil
    }

    private func convert(_ f: UnsafeMutablePointer<AVFrame>, start: Double, sink: ((AudioChunk) -> Void)?) {
        guard f.pointee.nb_samples > 0, prepare(f), let measurement else { return }
        let n = Int(measurement.convert(UnsafePointer(f), into: measured))
        if n < 0 { note(Int32(n)); return }
        guard n > 0 else { return }
        let ts = f.pointee.best_effort_timestamp
        let time = ts != gallop_nopts_value() ? Double(ts) * av_q2d(timeBase) : (nextTime ?? start)
        if firstTime == nil { firstTime = time }
        nextTime = time + Double(n) / Double(rate)
        endTime = max(endTime ?? nextTime!, nextTime!)
        decodedSamples += n
        var peaks: [Double]?
        if let truePeak {
            let m = Int(truePeak.convert(measured, count: n, into: oversampled))
            peaks = (0..<layout.count).map { c in
                m > 0 ? oversampled.samples(c, as: Double.self, count: m).reduce(0) { max($0, abs($1)) } : 0
            }
        }
        guard let sink else { return }
        let planes = (0..<layout.count).map { UnsafeBufferPointer(measured.samples($0, as: Double.self, count: n)) }
        sink(AudioChunk(time: time - start, rate: rate, roles: roles, planes: planes, truePeaks: peaks))
    }

    /// The warnings of the read so far, with the damaged packets counted (`early`: the picture stopped early at `videoEnd`).
    func finalWarnings(videoEnd: Double?, start: Double?, early: Bool) -> [String] {
        var out = warnings
        if corrupt > 0 {
            out.append("\(corrupt) corrupt audio packet(s) or frame(s)\(firstError.map { " (\($0))" } ?? ""); the audio measures are over the audio that decoded")
        }
        if decodedSamples == 0 {
            out.append("the audio stream holds no decodable sample")
        } else if let start, let endTime, let videoEnd {
            if early {
                out.append(String(format: "audio read up to %.3f s (max_frames)", endTime - start))
            } else if endTime - start < videoEnd - 0.5 {
                out.append(String(format: "the audio ends at %.3f s, %.3f s before the picture", endTime - start, videoEnd - (endTime - start)))
            }
        }
        return out
    }

    /// Seconds of audio decoded.
    var duration: Double { rate > 0 ? Double(decodedSamples) / Double(rate) : 0 }
}
