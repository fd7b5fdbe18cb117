import GallopCore
import GallopMetrics
import GallopSynth
import GallopTestSupport
import XCTest

final class AudioMetricTests: XCTestCase {
    static let audioNames = ["loudness_lufs", "loudness_range", "true_peak_dbtp", "clipped_share", "silence_share"]

    /// Runs the audio metrics over `frames` grey frames and `channels` of sound (rate, roles), lent in runs of
    /// 4096 samples with `peaks` as each run's true peaks (nil: none); returns the values and warnings.
    func run(_ channels: [[Double]]?, rate: Int = 48000, roles: [AudioChannelRole]? = nil, peaks: Double? = nil,
             settings: MetricSettings = MetricSettings()) throws -> (values: [String: Double?], warnings: [String], extras: [String: JSONValue]) {
        let types = try MetricRegistry.select(AudioMetricTests.audioNames)
        let engine = MetricEngine(types: types, settings: settings)
        XCTAssertTrue(engine.needsAudio)
        XCTAssertTrue(engine.needsTruePeak)
        let luma = Planes.constant(32, 24, 100)
        for i in 0..<4 { luma.withPlane { engine.consume(Frame(index: i, time: Double(i) / 24, duration: 1.0 / 24, luma: $0)) } }
        if let channels {
            let n = channels[0].count
            var at = 0
            while at < n {
                let count = min(4096, n - at)
                let copies = channels.map { Array($0[at..<(at + count)]) }
                let buffers = copies.map { c in UnsafeMutableBufferPointer<Double>.allocate(capacity: c.count) }
                for (b, c) in zip(buffers, copies) { _ = b.initialize(from: c) }
                engine.consumeAudio(AudioChunk(time: Double(at) / Double(rate), rate: rate, roles: roles ?? channels.map { _ in .other },
                                               planes: buffers.map { UnsafeBufferPointer($0) }, truePeaks: peaks.map { p in channels.map { _ in p } }))
                buffers.forEach { $0.deallocate() }
                at += count
            }
        }
        var values: [String: Double?] = [:], warnings: [String] = [], extras: [String: JSONValue] = [:]
        for (info, output) in engine.finish() {
            for (k, v) in output.values { values[k] = v }
            warnings += output.warnings
            for (k, v) in output.extras { extras[info.name + "." + k] = v }
        }
        return (values, warnings, extras)
    }

    /// Each metric reads the shared measure: the integrated loudness and range of LoudnessMeter, the true peak
    /// in dB of the largest run's peak, the sample peak, no clipping on a −20 dBFS tone, and no silence.
    func testValuesOfATone() throws {
        let tone = SyntheticAudio.tone(frequency: 1000, amplitude: 0.1, seconds: 5, rate: 48000).map(Double.init)
        let (v, w, extras) = try run([tone], peaks: 0.1)
        XCTAssertEqual(v["loudness_lufs"]!!, -23.01, accuracy: 0.01)
        XCTAssertEqual(v["loudness_lufs_momentary_max"]!!, -23.01, accuracy: 0.02)
        XCTAssertEqual(v["loudness_range"]!!, 0, accuracy: 0.01)
        XCTAssertEqual(v["true_peak_dbtp"]!!, -20, accuracy: 1e-9)
        XCTAssertEqual(v["sample_peak_dbfs"]!!, -20, accuracy: 1e-4)
        XCTAssertEqual(v["clipped_share"]!!, 0)
        XCTAssertEqual(v["silence_share"]!!, 0)
        XCTAssertEqual(w, [])
        XCTAssertEqual(extras["loudness_lufs.momentary"]?.arrayValue?.count, 47)
        XCTAssertEqual(extras["loudness_lufs.hop_s"]?.doubleValue, 0.1)
    }

    /// A full-scale square wave is all clipped, half of it at full scale half; a tone whose second half is
    /// silent is half silence (within one block), and a −10 LUFS threshold makes all of it silent.
    func testClippingAndSilence() throws {
        let square = (0..<48000).map { $0 % 48 < 24 ? 1.0 : -1.0 }
        XCTAssertEqual(try run([square]).values["clipped_share"]!!, 1)
        XCTAssertEqual(try run([square, square.map { $0 * 0.5 }]).values["clipped_share"]!!, 0.5)
        let half = SyntheticAudio.tone(frequency: 440, amplitude: 0.3, seconds: 5, rate: 48000).map(Double.init) + [Double](repeating: 0, count: 240000)
        let (v, _, _) = try run([half])
        XCTAssertEqual(v["silence_share"]!!, 0.5, accuracy: 0.03)
        var loud = MetricSettings()
        loud.silence.thresholdLUFS = -10
        XCTAssertEqual(try run([half], settings: loud).values["silence_share"]!!, 1)
    }

    /// No sound at all: every audio value is null and no metric warns (the row's `audio: false` is the
    /// reason); digital silence: null loudness and peaks with the reason, silence_share 1; 2 s: no range.
    func testNullRules() throws {
        let (none, noneWarnings, _) = try run(nil)
        for name in AudioMetricTests.audioNames { XCTAssertEqual(none[name], .some(nil), name) }
        XCTAssertEqual(noneWarnings, [])
        let (silent, silentWarnings, _) = try run([[Double](repeating: 0, count: 48000 * 4)], peaks: 0)
        XCTAssertNil(silent["loudness_lufs"]!)
        XCTAssertNil(silent["loudness_range"]!)
        XCTAssertNil(silent["true_peak_dbtp"]!)
        XCTAssertEqual(silent["silence_share"]!!, 1)
        XCTAssertEqual(silent["clipped_share"]!!, 0)
        XCTAssertEqual(silentWarnings, ["loudness_lufs: no 400 ms block of the sound reaches −70 LUFS (silent)",
                                        "loudness_range: no 3 s block of the sound reaches −70 LUFS (silent)",
                                        "true_peak_dbtp: the sound is digital silence"])
        let short = try run([SyntheticAudio.tone(frequency: 440, amplitude: 0.3, seconds: 2, rate: 48000).map(Double.init)])
        XCTAssertNil(short.values["loudness_range"]!)
        XCTAssertEqual(short.warnings, ["loudness_range: 2.00 s of sound, under one 3 s block"])
    }

    /// The audio metrics are in the default set, in the "audio" group; they ask the reader for the sound
    /// (and the true peak for its 192 kHz peaks) and nothing else, and a video metric does not.
    func testRegistryAndReaderInputs() throws {
        XCTAssertEqual(MetricRegistry.groups.last?.name, "audio")
        XCTAssertEqual(MetricRegistry.groups.last?.metrics.map { $0.info.name }, AudioMetricTests.audioNames + ["av_offset_ms", "av_align"])
        let defaults = try MetricRegistry.select(nil).map { $0.info.name }
        for name in AudioMetricTests.audioNames { XCTAssertTrue(defaults.contains(name), name) }
        XCTAssertFalse(MetricEngine(types: try MetricRegistry.select(["sharpness"])).needsAudio)
        let loudness = MetricEngine(types: try MetricRegistry.select(["loudness_lufs"]))
        XCTAssertTrue(loudness.needsAudio)
        XCTAssertFalse(loudness.needsTruePeak)
        XCTAssertNotNil(MetricSettings.option(section: "silence_share", key: "threshold_lufs"))
    }
}
