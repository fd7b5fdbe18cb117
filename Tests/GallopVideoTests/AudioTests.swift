import CFFmpeg
import GallopCore
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
}
