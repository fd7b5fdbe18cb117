import CFFmpeg
import Foundation
import GallopCore
import GallopSynth
import GallopTestSupport
@testable import GallopVideo
import XCTest

final class AudioTests: XCTestCase {
    /// libswresample's default downmix to mono, which the analysis stream uses: a unit step on each channel
    /// of a 7.1 stream in turn comes out as that channel's matrix weight (FL/FR 0.7071, FC 1, LFE 0, back and
    /// side 0.5), and stereo to mono is 0.7071 a side.
    func testDefaultDownmixToMono() throws {
        let mono = ChannelLayoutBox(defaultFor: 1)
        XCTAssertEqual(mono.name, "mono")
        for (channels, expected) in [(8, [0.7071, 0.7071, 1, 0, 0.5, 0.5, 0.5, 0.5]), (2, [0.7071, 0.7071]), (1, [1.0])] {
            let input = ChannelLayoutBox(defaultFor: channels)
            XCTAssertFalse(input.unspecified)
            if channels == 8 {
                XCTAssertEqual(input.name, "7.1")
                XCTAssertEqual(input.channels[3], AV_CHAN_LOW_FREQUENCY)
            }
            var found: [Double] = []
            for c in 0..<channels {
                let resampler = try XCTUnwrap(ResampleHandle(outLayout: mono, outFormat: AV_SAMPLE_FMT_FLT, outRate: 48000,
                                                             inLayout: input, inFormat: AV_SAMPLE_FMT_FLT, inRate: 48000))
                let source = SampleBuffer(format: AV_SAMPLE_FMT_FLT, channels: channels)
                source.reserve(4800)
                let s = source.samples(0, as: Float.self, count: 4800)
                for i in 0..<4800 { for k in 0..<channels { s[i * channels + k] = k == c ? 1 : 0 } }
                let out = SampleBuffer(format: AV_SAMPLE_FMT_FLT, channels: 1)
                let n = resampler.convert(source, count: 4800, into: out)
                XCTAssertGreaterThan(n, 0)
                found.append(Double(out.samples(0, as: Float.self, count: Int(n))[Int(n) / 2]))
            }
            for (f, e) in zip(found, expected) { XCTAssertEqual(f, e, accuracy: 1e-4, "\(channels) channels: \(found)") }
        }
    }

    /// A resampler that cannot be made (0 Hz input) is nil, not a crash.
    func testResamplerRefusesZeroRate() {
        let mono = ChannelLayoutBox(defaultFor: 1)
        XCTAssertNil(ResampleHandle(outLayout: mono, outFormat: AV_SAMPLE_FMT_DBL, outRate: 48000,
                                    inLayout: mono, inFormat: AV_SAMPLE_FMT_DBL, inRate: 0))
    }

    // MARK: - Writing clips with sound

    /// What libavformat reads back of a file's audio stream: codec, rate, channels, layout, the first packet's
    /// time and the end of the last (s).
    struct AudioProbe {
        var codec = "", rate = 0, channels = 0, layout = "", first = 0.0, end = 0.0, video = false
    }

    func probe(_ path: String) throws -> AudioProbe {
        var fmt: UnsafeMutablePointer<AVFormatContext>?
        XCTAssertEqual(avformat_open_input(&fmt, path, nil, nil), 0)
        defer { avformat_close_input(&fmt) }
        let f = try XCTUnwrap(fmt)
        XCTAssertGreaterThanOrEqual(avformat_find_stream_info(f, nil), 0)
        var out = AudioProbe()
        var audioIndex: Int32 = -1
        for i in 0..<Int(f.pointee.nb_streams) {
            let par = f.pointee.streams[i]!.pointee.codecpar!
            if par.pointee.codec_type == AVMEDIA_TYPE_VIDEO { out.video = true }
            guard par.pointee.codec_type == AVMEDIA_TYPE_AUDIO else { continue }
            audioIndex = Int32(i)
            out.codec = String(cString: avcodec_get_name(par.pointee.codec_id))
            out.rate = Int(par.pointee.sample_rate)
            out.channels = Int(par.pointee.ch_layout.nb_channels)
            var name = [CChar](repeating: 0, count: 64)
            _ = av_channel_layout_describe(&par.pointee.ch_layout, &name, name.count)
            out.layout = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        XCTAssertGreaterThanOrEqual(audioIndex, 0, "\(path) has no audio stream")
        let tb = av_q2d(f.pointee.streams[Int(max(audioIndex, 0))]!.pointee.time_base)
        let packet = av_packet_alloc()
        defer { var p = packet; av_packet_free(&p) }
        var first: Double?
        while av_read_frame(f, packet) >= 0 {
            if packet!.pointee.stream_index == audioIndex {
                if first == nil { first = Double(packet!.pointee.pts) * tb }
                out.end = max(out.end, Double(packet!.pointee.pts + packet!.pointee.duration) * tb)
            }
            av_packet_unref(packet)
        }
        out.first = first ?? -1
        return out
    }

    /// A clip with sound in each container and codec the tests use: the stream is there with its codec, rate,
    /// channel count and layout, starts when the track says, and holds the samples written.
    func testWriterAddsAudioTrack() throws {
        let dir = TempDir()
        let frames = (0..<24).map { Planes.constant(32, 24, UInt8(40 + $0)) }
        let cases: [(String, VideoWriter.AudioTrack, String, String)] = [
            // Matroska keeps no layout for PCM, only the count.
            ("pcm.mkv", .init(sampleRate: 48000, channels: 1, codec: .pcm16), "pcm_s16le", "1 channels"),
            ("late.mkv", .init(sampleRate: 44100, channels: 2, codec: .pcm16, start: 0.3), "pcm_s16le", "2 channels"),
            ("aac.mp4", .init(sampleRate: 48000, channels: 2, codec: .aac(bitrate: 128_000)), "aac", "stereo"),
            ("flac71.mkv", .init(sampleRate: 48000, channels: 8, codec: .flac), "flac", "7.1"),
            ("opus.mkv", .init(sampleRate: 48000, channels: 2, codec: .opus), "opus", "stereo"),
        ]
        for (name, track, codec, layout) in cases {
            let path = dir.file(name)
            let writer = try VideoWriter(path: path, width: 32, height: 24, fps: 24, codec: name.hasSuffix(".mp4") ? .mpeg4(q: 4) : .ffv1,
                                         audio: track)
            let tone = SyntheticAudio.tone(frequency: 440, amplitude: 0.25, seconds: 1, rate: track.sampleRate)
            let samples = SyntheticAudio.interleave(Array(repeating: tone, count: track.channels))
            // In three uneven pieces: the writer cuts its own encoder frames.
            try writer.appendAudio(Array(samples[0..<(1001 * track.channels)]))
            try writer.appendAudio(Array(samples[(1001 * track.channels)..<(30_000 * track.channels)]))
            try writer.appendAudio(Array(samples[(30_000 * track.channels)...]))
            for f in frames { try writer.append(luma: f) }
            try writer.finish()
            let p = try probe(path)
            XCTAssertTrue(p.video, name)
            XCTAssertEqual(p.codec, codec, name)
            XCTAssertEqual(p.rate, track.sampleRate, name)
            XCTAssertEqual(p.channels, track.channels, name)
            XCTAssertEqual(p.layout, layout, name)
            if case .pcm16 = track.codec {
                XCTAssertEqual(p.first, track.start, accuracy: 0.0011, name)
                XCTAssertEqual(p.end, track.start + 1, accuracy: 0.0011, name)
            } else {
                XCTAssertEqual(p.end, 1, accuracy: 0.05, name)
            }
        }
    }

    /// The writer refuses what it cannot write, naming the file and the cause.
    func testWriterRefusesBadAudio() throws {
        let dir = TempDir()
        let path = dir.file("bad.mkv")
        XCTAssertThrowsError(try VideoWriter(path: path, width: 32, height: 24, audio: .init(channels: 9))) { e in
            XCTAssertEqual("\(e)", "\(path): cannot write the clip: an audio track of 9 channels (1 to 8 are written)")
        }
        let writer = try VideoWriter(path: path, width: 32, height: 24, audio: .init(channels: 2))
        XCTAssertThrowsError(try writer.appendAudio([0, 0, 0]))
        let silent = try VideoWriter(path: dir.file("silent.mkv"), width: 32, height: 24)
        XCTAssertThrowsError(try silent.appendAudio([0])) { e in
            XCTAssertTrue("\(e)".hasSuffix("the clip was opened without an audio track"))
        }
    }

    /// The generators: a tone's peak, noise at its RMS (white and pink, the same for the same seed), a click's
    /// onset on its sample.
    func testSyntheticAudio() {
        let tone = SyntheticAudio.tone(frequency: 1000, amplitude: 0.1, seconds: 1, rate: 48000)
        XCTAssertEqual(tone.count, 48000)
        XCTAssertEqual(Double(tone.map(abs).max()!), 0.1, accuracy: 1e-6)
        for color in SyntheticAudio.NoiseColor.allCases {
            let n = SyntheticAudio.noise(seed: 7, rms: 0.2, seconds: 0.5, rate: 22050, color: color)
            let rms = (n.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n.count)).squareRoot()
            XCTAssertEqual(rms, 0.2, accuracy: 1e-5)
            XCTAssertEqual(n, SyntheticAudio.noise(seed: 7, rms: 0.2, seconds: 0.5, rate: 22050, color: color))
            XCTAssertNotEqual(n, SyntheticAudio.noise(seed: 8, rms: 0.2, seconds: 0.5, rate: 22050, color: color))
        }
        var clicks = [Float](repeating: 0, count: 48000)
        SyntheticAudio.addClick(to: &clicks, at: 0.25, rate: 48000)
        XCTAssertEqual(clicks.firstIndex { $0 != 0 }, 12000)
        XCTAssertEqual(Double(clicks[12000]), 0.5, accuracy: 1e-6)
        XCTAssertEqual(SyntheticAudio.interleave([[1, 2], [3, 4]]), [1, 3, 2, 4])
    }
}
