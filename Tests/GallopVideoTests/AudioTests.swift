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

    // MARK: - Decoding the sound in the reader's pass

    /// Writes a 32×24 FFV1 clip of `frames` frames at 24 fps with `samples` (interleaved) on `track`.
    @discardableResult
    func writeClip(_ path: String, frames: Int = 24, track: VideoWriter.AudioTrack, samples: [Float]) throws -> String {
        let writer = try VideoWriter(path: path, width: 32, height: 24, fps: 24, codec: path.hasSuffix(".mp4") ? .mpeg4(q: 4) : .ffv1,
                                     audio: track)
        try writer.appendAudio(samples)
        for i in 0..<frames { try writer.append(luma: Planes.constant(32, 24, UInt8(40 + 4 * i))) }
        try writer.finish()
        return path
    }

    /// Reads a clip with its sound: the frames' luma, the chunks (samples per channel, copied) and the reader.
    func readWithAudio(_ path: String, truePeak: Bool = true, maxFrames: Int? = nil)
        throws -> (reader: VideoReader, frames: [PlaneBuffer], chunks: [(time: Double, rate: Int, roles: [AudioChannelRole], planes: [[Double]], peaks: [Double]?)]) {
        let reader = try VideoReader(path: path, options: ReadOptions(maxFrames: maxFrames, audio: AudioRequest(truePeak: truePeak)))
        var chunks: [(time: Double, rate: Int, roles: [AudioChannelRole], planes: [[Double]], peaks: [Double]?)] = []
        reader.audioSink = { c in chunks.append((c.time, c.rate, c.roles, c.planes.map(Array.init), c.truePeaks)) }
        var frames: [PlaneBuffer] = []
        try reader.forEachFrame { frames.append(PlaneBuffer(copying: $0.luma)) }
        return (reader, frames, chunks)
    }

    /// 16-bit PCM comes back sample for sample (k/32768 exactly), from time 0, with every chunk's time
    /// following on from the last; a track starting 0.3 s after the picture starts at 0.3 s. (0.7 s of sound
    /// under 1 s of picture: Matroska's duration is the longest stream's, which the reader compares the
    /// picture's end with.)
    func testPCMRoundTripAndStartTime() throws {
        let dir = TempDir()
        var rng = TestRNG(seed: 3)
        let written = (0..<33600).map { _ in Float(Int(rng.next() % 65536) - 32768) / 32768 }
        for start in [0.0, 0.3] {
            let path = try writeClip(dir.file("pcm\(start).mkv"), track: .init(sampleRate: 48000, channels: 1, codec: .pcm16, start: start),
                                     samples: written)
            let (reader, frames, chunks) = try readWithAudio(path)
            XCTAssertEqual(frames.count, 24)
            XCTAssertEqual(reader.audio, .decoded(codec: "pcm_s16le", rate: 48000, channels: 1, layout: "mono"))
            XCTAssertEqual(reader.audioDuration, 0.7)
            XCTAssertEqual(chunks.flatMap { $0.planes[0] }, written.map(Double.init))
            XCTAssertEqual(chunks[0].time, start, accuracy: 1e-9)
            var next = start
            for c in chunks {
                XCTAssertEqual(c.time, next, accuracy: 0.0011)
                next = c.time + Double(c.planes[0].count) / 48000
                XCTAssertEqual(c.rate, 48000)
                XCTAssertEqual(c.roles, [.other])
            }
            XCTAssertEqual(reader.warnings, [])
        }
    }

    /// AAC in MP4: the encoder's 1024-sample priming is dropped by the demuxer, so a click written at 0.5 s
    /// decodes at 0.5 s (within a millisecond); the true peak of a 0.5 tone is 0.5 within 1%.
    func testAACClickTimeAndTruePeak() throws {
        let dir = TempDir()
        var samples = [Float](repeating: 0, count: 48000)
        SyntheticAudio.addClick(to: &samples, at: 0.5, rate: 48000, amplitude: 0.8)
        let path = try writeClip(dir.file("aac.mp4"), track: .init(sampleRate: 48000, channels: 1, codec: .aac(bitrate: 192_000)),
                                 samples: samples)
        let (reader, _, chunks) = try readWithAudio(path)
        XCTAssertEqual(reader.audio, .decoded(codec: "aac", rate: 48000, channels: 1, layout: "mono"))
        let all = chunks.flatMap { $0.planes[0] }
        let onset = try XCTUnwrap(all.firstIndex { abs($0) > 0.4 })
        XCTAssertEqual(chunks[0].time + Double(onset) / 48000, 0.5, accuracy: 0.001)

        let tone = SyntheticAudio.tone(frequency: 997, amplitude: 0.5, seconds: 1, rate: 48000)
        let tonePath = try writeClip(dir.file("tone.mkv"), track: .init(sampleRate: 48000, channels: 1, codec: .pcm16), samples: tone)
        let peaks = try readWithAudio(tonePath).chunks.compactMap { $0.peaks?[0] }
        XCTAssertEqual(peaks.max()!, 0.5, accuracy: 0.005)
        XCTAssertTrue(try readWithAudio(tonePath, truePeak: false).chunks.allSatisfy { $0.peaks == nil })
    }

    /// PCM 7.1 in Matroska keeps only the channel count: the layout is guessed as 7.1 (as the ffmpeg CLI
    /// guesses it), with a warning, and the roles follow (LFE, then back and side surround); FLAC keeps 7.1.
    func testSevenOneLayouts() throws {
        let dir = TempDir()
        let tone = SyntheticAudio.tone(frequency: 440, amplitude: 0.1, seconds: 1, rate: 48000)
        let samples = SyntheticAudio.interleave(Array(repeating: tone, count: 8))
        let roles: [AudioChannelRole] = [.other, .other, .other, .lowFrequency, .surround, .surround, .surround, .surround]
        for (name, codec, warned) in [("pcm71.mkv", VideoWriter.AudioTrack.Codec.pcm16, true), ("flac71.mkv", .flac, false)] {
            let path = try writeClip(dir.file(name), track: .init(sampleRate: 48000, channels: 8, codec: codec), samples: samples)
            let (reader, _, chunks) = try readWithAudio(path)
            XCTAssertEqual(chunks[0].roles, roles, name)
            XCTAssertEqual(reader.warnings.contains("audio layout unspecified (8 channels): taken as 7.1"), warned, "\(name): \(reader.warnings)")
            XCTAssertEqual(reader.audioDuration, 1, name)
        }
    }

    /// Overwrites the first run of bytes matching `pattern` (from `skip` bytes into it) with `bytes`.
    func patch(_ path: String, find pattern: [UInt8], skip: Int, with bytes: [UInt8]) throws {
        var data = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: path)))
        let at = try XCTUnwrap((0...(data.count - pattern.count)).first { Array(data[$0..<($0 + pattern.count)]) == pattern }, "pattern not in \(path)")
        data.replaceSubrange((at + skip)..<(at + skip + bytes.count), with: bytes)
        FileManager.default.createFile(atPath: path, contents: Data(data))
    }

    /// Hostile sound tracks never stop the picture: a header of 0 channels or 0 Hz (Matroska byte-patched)
    /// is unusable with its reason; a damaged or cut file gives a warning and the audio that decoded; an
    /// audio-only file is the reader's "no video stream" error.
    func testHostileAudio() throws {
        let dir = TempDir()
        let tone = SyntheticAudio.tone(frequency: 440, amplitude: 0.3, seconds: 1, rate: 48000)
        let track = VideoWriter.AudioTrack(sampleRate: 48000, channels: 1, codec: .pcm16)
        let zeroChannels = try writeClip(dir.file("zero_ch.mkv"), track: track, samples: tone)
        try patch(zeroChannels, find: [0x9F, 0x81, 0x01], skip: 2, with: [0])
        let zeroRate = try writeClip(dir.file("zero_hz.mkv"), track: track, samples: tone)
        try patch(zeroRate, find: [0xB5, 0x88], skip: 2, with: [UInt8](repeating: 0, count: 8))
        for (path, reason) in [(zeroChannels, "the audio stream declares no channels: not decoded"),
                               (zeroRate, "the audio stream declares 0 Hz: not decoded")] {
            let (reader, frames, chunks) = try readWithAudio(path)
            XCTAssertEqual(frames.count, 24, path)
            XCTAssertEqual(reader.audio, .unusable(reason))
            XCTAssertTrue(reader.audio.present)
            XCTAssertTrue(chunks.isEmpty)
            XCTAssertEqual(reader.warnings, [reason])
        }

        let clean = try writeClip(dir.file("clean.mkv"), frames: 48, track: .init(sampleRate: 48000, channels: 2, codec: .aac(bitrate: 96_000)),
                                  samples: SyntheticAudio.interleave([tone + tone, tone + tone]))
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: clean)[.size] as? Int)
        let cut = dir.file("cut.mkv")
        try FileManager.default.copyItem(atPath: clean, toPath: cut)
        Clips.truncate(cut, to: size / 2)
        let (cutReader, cutFrames, cutChunks) = try readWithAudio(cut)
        XCTAssertGreaterThan(cutFrames.count, 0)
        XCTAssertFalse(cutChunks.isEmpty)
        XCTAssertLessThan(try XCTUnwrap(cutReader.audioDuration), 1.9)
        for seed in [UInt64(1), 2, 3] {
            let damaged = dir.file("damaged\(seed).mkv")
            try FileManager.default.copyItem(atPath: clean, toPath: damaged)
            Clips.corrupt(damaged, at: size / 3, count: size / 4, seed: seed)
            // Whatever the damage, the read ends in frames or the reader's own error, never a crash.
            do { _ = try readWithAudio(damaged) } catch let e as VideoError { XCTAssertEqual(e.path, damaged) }
        }

        let wav = dir.file("sound.wav")
        Clips.writeWAV(wav)
        XCTAssertThrowsError(try VideoReader(path: wav, options: ReadOptions(audio: AudioRequest()))) { e in
            XCTAssertEqual(e as? VideoError, .noVideoStream(path: wav, streams: "streams: audio"))
        }
    }

    /// Without an audio request the sound track is not decoded and the frames are those of the same clip read
    /// with it; a clip without sound reads as `absent`, with no warning.
    func testNoAudioRequestReadsSameFrames() throws {
        let dir = TempDir()
        let path = try writeClip(dir.file("clip.mkv"), track: .init(sampleRate: 44100, channels: 2),
                                 samples: SyntheticAudio.interleave([SyntheticAudio.tone(frequency: 300, amplitude: 0.2, seconds: 1, rate: 44100),
                                                                     SyntheticAudio.noise(seed: 1, rms: 0.1, seconds: 1, rate: 44100)]))
        let plain = try VideoReader(path: path)
        var calls = 0
        plain.audioSink = { _ in calls += 1 }
        var plainFrames: [PlaneBuffer] = [], plainTimes: [Double] = []
        try plain.forEachFrame { plainFrames.append(PlaneBuffer(copying: $0.luma)); plainTimes.append($0.time) }
        XCTAssertEqual(calls, 0)
        XCTAssertEqual(plain.audio, .notRequested)
        XCTAssertNil(plain.audioDuration)
        let (withSound, frames, chunks) = try readWithAudio(path)
        XCTAssertFalse(chunks.isEmpty)
        XCTAssertEqual(frames.map(\.samples), plainFrames.map(\.samples))
        XCTAssertEqual(withSound.audio, .decoded(codec: "pcm_s16le", rate: 44100, channels: 2, layout: "stereo"))

        let silentPath = try Clips.write(dir.file("silent.mkv"), (0..<12).map { Planes.constant(32, 24, UInt8($0 * 9)) })
        let (silent, _, none) = try readWithAudio(silentPath)
        XCTAssertEqual(silent.audio, .absent)
        XCTAssertFalse(silent.audio.present)
        XCTAssertTrue(none.isEmpty)
        XCTAssertEqual(silent.warnings, [])

        let (early, earlyFrames, _) = try readWithAudio(path, maxFrames: 6)
        XCTAssertEqual(earlyFrames.count, 6)
        XCTAssertTrue(early.warnings.contains { $0.hasPrefix("audio read up to ") && $0.hasSuffix(" s (max_frames)") }, "\(early.warnings)")
    }

    /// Sound that stops well before the picture (0.3 s under 1 s) is a warning with both times; sound that
    /// stops within half a second of it is not.
    func testAudioEndingEarlyIsAWarning() throws {
        let dir = TempDir()
        let track = VideoWriter.AudioTrack(sampleRate: 48000, channels: 1, codec: .pcm16)
        for (seconds, warned) in [(0.3, true), (0.8, false)] {
            let path = try writeClip(dir.file("short\(seconds).mkv"), track: track,
                                     samples: SyntheticAudio.tone(frequency: 440, amplitude: 0.2, seconds: seconds, rate: 48000))
            let (reader, frames, _) = try readWithAudio(path)
            XCTAssertEqual(frames.count, 24)
            XCTAssertEqual(reader.audioDuration ?? 0, seconds, accuracy: 1e-9)
            // The picture ends at its last frame's time (0.958 s: the writer's millisecond clock) plus one frame.
            let early = reader.warnings.filter { $0.hasPrefix(String(format: "the audio ends at %.3f s, 0.69", seconds)) && $0.hasSuffix(" s before the picture") }
            XCTAssertEqual(early.count, warned ? 1 : 0, "\(reader.warnings)")
            XCTAssertEqual(reader.warnings.count, early.count, "\(reader.warnings)")
        }
    }

    /// Matroska states one duration, the longest stream's: sound that outlasts its picture (3 s under 1 s) is
    /// not a truncated file, whether the sound is read or not; the same file cut after a fifth of its bytes (the
    /// picture's first 0.6 s or so: the sound's 288 kB dominate) still is.
    func testSoundOutlastingThePictureIsNotTruncation() throws {
        let dir = TempDir()
        let path = try writeClip(dir.file("long-sound.mkv"), track: .init(sampleRate: 48000, channels: 1, codec: .pcm16),
                                 samples: SyntheticAudio.tone(frequency: 440, amplitude: 0.2, seconds: 3, rate: 48000))
        let (withSound, frames, _) = try readWithAudio(path)
        XCTAssertEqual(frames.count, 24)
        XCTAssertEqual(withSound.warnings, [])
        let silent = try VideoReader(path: path)
        try silent.forEachFrame { _ in }
        XCTAssertEqual(silent.warnings, [])

        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let cut = dir.file("cut.mkv")
        XCTAssertTrue(FileManager.default.createFile(atPath: cut, contents: data.prefix(data.count / 5)))
        let truncated = try VideoReader(path: cut)
        var kept = 0
        try truncated.forEachFrame { _ in kept += 1 }
        XCTAssertLessThan(kept, 20)
        XCTAssertEqual(truncated.warnings.filter { $0.contains("the file looks truncated") }.count, 1, "\(truncated.warnings)")
    }
}
