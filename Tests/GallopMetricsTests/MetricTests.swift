import GallopCore
import GallopMetrics
import GallopTestSupport
import XCTest

/// Runs metrics over in-memory frames through the engine, as the harness does.
func score(_ types: [any Metric.Type], luma: [PlaneBuffer], rgb: [PlaneBuffer]? = nil, times: [Double]? = nil,
         range: ColorRange = .limited, flowThreads: Int = 1,
         settings: MetricSettings = MetricSettings()) -> [String: (values: [String: Double?], output: MetricOutput)] {
    let engine = MetricEngine(types: types, settings: settings, flowThreads: flowThreads)
    for i in luma.indices {
        luma[i].withPlane { y in
            let t = times?[i] ?? Double(i) / 24
            if let rgb {
                rgb[i].withPlane { c in
                    engine.consume(Frame(index: i, time: t, duration: 1.0 / 24, luma: y, rgb: c,
                                         motion: engine.needsMotion ? y : nil, range: range))
                }
            } else {
                engine.consume(Frame(index: i, time: t, duration: 1.0 / 24, luma: y, motion: engine.needsMotion ? y : nil, range: range))
            }
        }
    }
    var out: [String: (values: [String: Double?], output: MetricOutput)] = [:]
    for (info, output) in engine.finish() {
        out[info.name] = (Dictionary(uniqueKeysWithValues: output.values.map { ($0.0, $0.1) }), output)
    }
    return out
}

func value(_ r: [String: (values: [String: Double?], output: MetricOutput)], _ metric: String, _ key: String? = nil) -> Double? {
    r[metric]?.values[key ?? metric] ?? nil
}

final class MetricTests: XCTestCase {
    // MARK: temporal_flickering

    func testTemporalFlickeringStaticIsExactlyOne() {
        let f = Planes.random(64, 64, seed: 1, channels: 3)
        let r = score([TemporalFlickering.self], luma: Array(repeating: Planes.constant(64, 64, 0), count: 12), rgb: Array(repeating: f, count: 12))
        XCTAssertEqual(value(r, "temporal_flickering"), 1)
    }

    func testTemporalFlickeringKnownStep() {
        // Frames alternate between levels 100 and 110 on every channel: mean |Δ| = 10.
        let rgb = (0..<12).map { Planes.constant(64, 64, $0 % 2 == 0 ? 100 : 110, channels: 3) }
        let r = score([TemporalFlickering.self], luma: Array(repeating: Planes.constant(64, 64, 0), count: 12), rgb: rgb)
        XCTAssertEqual(value(r, "temporal_flickering")!, (255 - 10) / 255, accuracy: 1e-12)
    }

    func testOneFrameClipIsNullWithWarning() {
        let r = score(MetricRegistry.all, luma: [Planes.constant(64, 64, 50)], rgb: [Planes.constant(64, 64, 50, channels: 3)])
        for name in ["temporal_flickering", "flicker_index", "frame_diff", "freeze_ratio", "scene_cuts"] {
            XCTAssertNil(value(r, name), name)
            XCTAssertFalse(r[name]!.output.warnings.isEmpty, name)
        }
        XCTAssertEqual(value(r, "exposure"), 50)
    }

    // MARK: frame_diff

    func testFrameDiffKnownConstant() {
        let luma = (0..<12).map { Planes.constant(64, 64, UInt8(50 + 3 * $0)) }
        let r = score([FrameDifference.self], luma: luma)
        XCTAssertEqual(value(r, "frame_diff"), 3)
        XCTAssertEqual(value(r, "frame_diff", "frame_diff_p95"), 3)
        XCTAssertNil(r["frame_diff"]!.output.series[0])
        XCTAssertEqual(r["frame_diff"]!.output.series.count, 12)
    }

    // MARK: freeze

    func testEveryFrameShownTwiceIsHalfFrozen() {
        let luma = (0..<12).map { Planes.texture(64, 64, dx: Double(($0 / 2) * 3)) }
        let r = score([Freeze.self], luma: luma)
        XCTAssertEqual(value(r, "freeze_ratio"), 0.5)
        XCTAssertEqual(value(r, "freeze_ratio", "longest_freeze_s")!, 2.0 / 24, accuracy: 1e-9)
    }

    func testSlowMotionIsNotFrozenAndNoiseOnHeldFramesIs() {
        // Half a pixel per frame of real motion: some block changes by more than the tolerance.
        let moving = (0..<12).map { Planes.texture(64, 64, dx: Double($0) * 0.5) }
        XCTAssertEqual(value(score([Freeze.self], luma: moving), "freeze_ratio"), 0)
        // A held frame with encoder-like noise (±1 level on a tenth of the pixels, ±2 in one block) still counts.
        var rng = TestRNG(seed: 5)
        let base = Planes.texture(64, 64)
        let held = (0..<12).map { _ in
            PlaneBuffer(width: 64, height: 64, samples: base.samples.enumerated().map { i, v in
                let inBlock = i % 64 < 16 && i / 64 < 16
                let noise = inBlock ? Int(rng.next() % 5) - 2 : (rng.next() % 10 == 0 ? Int(rng.next() % 3) - 1 : 0)
                return UInt8(Int(v) + noise)
            })
        }
        XCTAssertEqual(value(score([Freeze.self], luma: held), "freeze_ratio")!, 11.0 / 12, accuracy: 1e-12)
    }

    func testStaticClipFreezesForItsWholeLength() {
        let r = score([Freeze.self], luma: Array(repeating: Planes.texture(64, 64), count: 12))
        XCTAssertEqual(value(r, "freeze_ratio", "longest_freeze_s")!, 12.0 / 24, accuracy: 1e-9)
    }

    func testOneLongVariableRateFrameIsAFreeze() {
        // The encoder merged a held second into one frame: no repeated frames, a 1 s freeze.
        let luma = (0..<6).map { Planes.texture(64, 64, dx: Double($0) * 4) }
        let r = score([Freeze.self], luma: luma, times: [0, 0.04, 0.08, 1.08, 1.12, 1.16])
        XCTAssertEqual(value(r, "freeze_ratio"), 0)
        XCTAssertEqual(value(r, "freeze_ratio", "longest_freeze_s")!, 1.0, accuracy: 1e-9)
    }

    // MARK: scene_cuts

    func testSplicedScenesHaveOneCut() {
        let a = (0..<8).map { Planes.texture(64, 64, dx: Double($0)) }
        let b = (0..<8).map { Planes.texture(64, 64, dx: Double($0), seed: 2.5) }
        let r = score([SceneCuts.self], luma: a + b)
        XCTAssertEqual(value(r, "scene_cuts"), 1)
        let frames: JSONValue? = r["scene_cuts"]!.output.extras.first { $0.0 == "frames" }?.1
        XCTAssertEqual(frames, JSONValue.array([JSONValue.int(8)]))
    }

    func testFlickerAndMotionAreNotCuts() {
        let base = Planes.texture(64, 64)
        let flicker = (0..<12).map { Planes.offset(base, $0 % 2 == 0 ? 25 : -25) }
        XCTAssertEqual(value(score([SceneCuts.self], luma: flicker), "scene_cuts"), 0)
        let pan = (0..<12).map { Planes.texture(64, 64, dx: Double($0) * 3) }
        XCTAssertEqual(value(score([SceneCuts.self], luma: pan), "scene_cuts"), 0)
    }

    func testStutterIsNotCutsAndKeepsTheFlickerOfTheFramesShown() {
        // A fast pan spliced with a still shot, with brightness flicker; then every frame held three times.
        let a = (0..<10).map { Planes.texture(64, 64, dx: Double($0) * 5) }
        let b = Array(repeating: Planes.random(64, 64, seed: 7, range: 40...215), count: 10)
        let original = (a + b).enumerated().map { Planes.scaled($1, gain: 1 + 0.04 * sin(Double($0) * 2.1)) }
        let held = original.flatMap { [$0, $0, $0] }
        let o = score([SceneCuts.self, FlickerIndex.self], luma: original), h = score([SceneCuts.self, FlickerIndex.self], luma: held)
        XCTAssertEqual(value(o, "scene_cuts"), 1)
        XCTAssertEqual(value(h, "scene_cuts"), 1)
        XCTAssertEqual(h["scene_cuts"]!.output.extras.first { $0.0 == "frames" }?.1, JSONValue.array([.int(30)]))
        // The test means something: without skipping held pairs, changes after each hold read as cuts.
        XCTAssertGreaterThan(CutDetector.cuts(in: h["scene_cuts"]!.output.series, MetricSettings().cuts).count, 5)
        XCTAssertEqual(value(h, "flicker_index")!, value(o, "flicker_index")!, accuracy: 1e-12)
    }

    // MARK: flicker_index

    func testFlickerIndexStaticIsZero() {
        let r = score([FlickerIndex.self], luma: Array(repeating: Planes.texture(64, 64), count: 12))
        XCTAssertEqual(value(r, "flicker_index"), 0)
    }

    func testFlickerIndexReadsAlternatingGain() {
        // Brightness alternating by a factor e^{±s}: the index reads 100·s (rounding to 8 bits aside).
        let base = Planes.constant(64, 64, 120)
        let s = 0.04
        let luma = (0..<12).map { Planes.scaled(base, gain: exp($0 % 2 == 0 ? s : -s) ) }
        let measured = value(score([FlickerIndex.self], luma: luma), "flicker_index")!
        let levels = (Double(luma[0][0, 0]) + 1, Double(luma[1][0, 0]) + 1)
        XCTAssertEqual(measured, 100 * log(levels.0 / levels.1) / 2, accuracy: 1e-9)
        XCTAssertEqual(measured, 100 * s, accuracy: 0.15)
    }

    func testFlickerIndexGrowsWithAmplitudeOnMovingContentAndIgnoresMotion() {
        func clip(_ amplitude: Double) -> [PlaneBuffer] {
            // 128 px: cells of 16 px on the 8 × 8 grid.
            (0..<24).map { i in Planes.scaled(Planes.texture(128, 128, dx: Double(i) * 2, dy: Double(i)), gain: 1 + amplitude * sin(Double(i) * 2.1)) }
        }
        let values = [0, 0.02, 0.05, 0.1].map { value(score([FlickerIndex.self], luma: clip($0)), "flicker_index")! }
        XCTAssertLessThan(values[0], 0.5, "motion alone must read low")
        XCTAssertLessThan(values[0], values[1])
        XCTAssertLessThan(values[1], values[2])
        XCTAssertLessThan(values[2], values[3])
    }

    func testFlickerInOneQuarterIsSeenAndWholeFrameFlickerIsNotCountedTwice() {
        // A gain alternating e^{±s} in the top-left quarter only: the worst quarter reads 100·s, the median over cells nothing.
        let s = 0.04
        func quarter(_ p: PlaneBuffer, gain: Double) -> PlaneBuffer {
            let scaled = Planes.scaled(p, gain: gain)
            let samples = (0..<(p.width * p.height)).map { k -> UInt8 in
                let x = k % p.width, y = k / p.width
                return x < p.width / 2 && y < p.height / 2 ? scaled[x, y] : p[x, y]
            }
            return PlaneBuffer(width: p.width, height: p.height, samples: samples)
        }
        let still = Planes.constant(64, 64, 120)
        let r = score([FlickerIndex.self], luma: (0..<12).map { quarter(still, gain: exp($0 % 2 == 0 ? s : -s)) })
        XCTAssertEqual(value(r, "flicker_index")!, 100 * s, accuracy: 0.2)
        XCTAssertEqual(value(r, "flicker_index", "flicker_index_regional")!, value(r, "flicker_index")!)
        XCTAssertEqual(r["flicker_index"]!.output.series.compactMap { $0 }.map(abs).max()!, 0, accuracy: 1e-12, "the global curve does not move")
        // On moving content a flickering quarter reads above the clean clip, growing with its amplitude.
        func moving(_ amplitude: Double) -> [PlaneBuffer] {
            (0..<24).map { i in quarter(Planes.texture(128, 128, dx: Double(i) * 2, dy: Double(i)), gain: 1 + amplitude * sin(Double(i) * 2.1)) }
        }
        let values = [0, 0.03, 0.06].map { value(score([FlickerIndex.self], luma: moving($0)), "flicker_index")! }
        XCTAssertLessThan(values[0], 0.5)
        XCTAssertLessThan(values[0] * 2, values[1])
        XCTAssertLessThan(values[1], values[2])
        // Whole-frame flicker: every window moves with the frame, so the regional part stays near 0.
        let global = score([FlickerIndex.self], luma: (0..<12).map { Planes.scaled(still, gain: exp($0 % 2 == 0 ? s : -s)) })
        XCTAssertLessThan(value(global, "flicker_index", "flicker_index_regional")!, 0.01)
        XCTAssertEqual(value(global, "flicker_index")!, 100 * s, accuracy: 0.15)
    }

    func testHeldFramesDoNotLookLessFlickery() {
        let original = (0..<24).map { i in Planes.scaled(Planes.texture(64, 64, dx: Double(i) * 2), gain: 1 + 0.03 * sin(Double(i) * 1.3)) }
        let held = (0..<24).map { original[$0 - $0 % 2] }
        let o = value(score([FlickerIndex.self, TemporalFlickering.self], luma: original), "flicker_index")!
        let h = value(score([FlickerIndex.self], luma: held), "flicker_index")!
        XCTAssertGreaterThanOrEqual(h, o * 0.9)
    }

    // MARK: per-frame quality

    func testSharpnessOfCheckerboard() {
        let a = 20
        let samples: [UInt8] = (0..<(64 * 64)).map { (i: Int) -> UInt8 in
            let even = (i % 64 + i / 64) % 2 == 0
            return UInt8(even ? 128 + a : 128 - a)
        }
        let p = PlaneBuffer(width: 64, height: 64, samples: samples)
        let r = score([Sharpness.self], luma: [p, p])
        XCTAssertEqual(value(r, "sharpness"), Double(64 * a * a))
    }

    func testNoiseSigmaReadsAddedGaussianNoise() {
        for sigma in [2.0, 5.0, 10.0, 20.0] {
            var rng = TestRNG(seed: UInt64(sigma))
            let p = PlaneBuffer(width: 256, height: 256, samples: (0..<(256 * 256)).map { _ in UInt8(max(0, min(255, (128 + sigma * rng.gaussian()).rounded()))) })
            let measured = value(score([NoiseSigma.self], luma: [p]), "noise_sigma")!
            XCTAssertEqual(measured, sigma, accuracy: sigma * 0.05, "σ = \(sigma)")
        }
        XCTAssertEqual(value(score([NoiseSigma.self], luma: [Planes.constant(32, 32, 77)]), "noise_sigma"), 0)
    }

    func testExposureLevelsAndClipping() {
        let p = PlaneBuffer(width: 64, height: 64, samples: (0..<(64 * 64)).map { (i: Int) -> UInt8 in i < 1024 ? 16 : (i < 2048 ? 235 : 128) })
        let r = score([Exposure.self], luma: [p, Planes.constant(64, 64, 128)])
        let firstMean: Double = (16.0 + 235.0 + 2.0 * 128.0) / 4.0
        let expected: Double = (firstMean + 128.0) / 2.0
        XCTAssertEqual(value(r, "exposure")!, expected, accuracy: 1e-9)
        XCTAssertEqual(value(r, "exposure", "exposure_clipped_low")!, 0.125, accuracy: 1e-12)
        XCTAssertEqual(value(r, "exposure", "exposure_clipped_high")!, 0.125, accuracy: 1e-12)
        XCTAssertEqual(value(r, "exposure", "exposure_drift")!, 128.0 - firstMean, accuracy: 1e-9)
        // Full range clips only at 0 and 255.
        let full = score([Exposure.self], luma: [p], range: .full)
        XCTAssertEqual(value(full, "exposure", "exposure_clipped_low"), 0)
    }

    func testContrastOfTwoHalves() {
        let p = PlaneBuffer(width: 64, height: 64, samples: (0..<(64 * 64)).map { (i: Int) -> UInt8 in i < 2048 ? 60 : 180 })
        XCTAssertEqual(value(score([Contrast.self], luma: [p]), "contrast")!, 60, accuracy: 1e-9)
    }

    func testColorfulnessKnownAnswers() {
        let grey = Planes.constant(32, 32, 90, channels: 3)
        XCTAssertEqual(value(score([Colorfulness.self], luma: [Planes.constant(32, 32, 0)], rgb: [grey]), "colorfulness"), 0)
        let (r, g, b) = (200.0, 60.0, 30.0)
        var uniform: [UInt8] = []
        for _ in 0..<1024 { uniform += [UInt8(r), UInt8(g), UInt8(b)] }
        let c = PlaneBuffer(width: 32, height: 32, channels: 3, samples: uniform)
        let expected = 0.3 * ((r - g) * (r - g) + ((r + g) / 2 - b) * ((r + g) / 2 - b)).squareRoot()
        XCTAssertEqual(value(score([Colorfulness.self], luma: [Planes.constant(32, 32, 0)], rgb: [c]), "colorfulness")!, expected, accuracy: 1e-9)
        // Half red, half blue: σ terms from the published formula, computed directly.
        var halfSamples: [UInt8] = []
        for i in 0..<1024 { halfSamples += i < 512 ? [255, 0, 0] : [0, 0, 255] }
        let halves = PlaneBuffer(width: 32, height: 32, channels: 3, samples: halfSamples)
        let rg = [255.0, 0], yb = [127.5, -255]
        func stats(_ v: [Double]) -> (Double, Double) { let m = (v[0] + v[1]) / 2; return (m, ((v[0] - m) * (v[0] - m) + (v[1] - m) * (v[1] - m)) / 2) }
        let (mrg, vrg) = stats(rg), (myb, vyb) = stats(yb)
        XCTAssertEqual(value(score([Colorfulness.self], luma: [Planes.constant(32, 32, 0)], rgb: [halves]), "colorfulness")!,
                       (vrg + vyb).squareRoot() + 0.3 * (mrg * mrg + myb * myb).squareRoot(), accuracy: 1e-9)
    }

    // MARK: engine and registry

    func testEngineAsksForRGBOnlyWhenNeeded() {
        XCTAssertFalse(MetricEngine(metrics: [FrameDifference(), Sharpness()]).needsRGB)
        XCTAssertTrue(MetricEngine(metrics: [Colorfulness()]).needsRGB)
        XCTAssertTrue(MetricEngine(metrics: [TemporalFlickering()]).needsRGB)
    }

    func testRegistryNamesAreUniqueAndSelectable() throws {
        let names = MetricRegistry.names
        // Every public value name (headline, secondary, derived) is unique and lower snake case; report order is
        // pinned by the report goldens, so a new metric needs no edit here.
        let values = MetricRegistry.valueNames(for: MetricRegistry.all) + MetricRegistry.derivedNames
        XCTAssertEqual(Set(values).count, values.count)
        for v in values { XCTAssertNotNil(v.range(of: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$", options: .regularExpression), v) }
        // Without a reference, the default selection leaves the full-reference metrics out.
        XCTAssertFalse(try MetricRegistry.select(nil).contains { $0.info.needsReference })
        XCTAssertEqual(try MetricRegistry.select(nil, reference: true).map { $0.info.name },
                       MetricRegistry.all.filter { $0.info.byDefault && $0.info.models.isEmpty }.map { $0.info.name })
        XCTAssertEqual(try MetricRegistry.select(["sharpness", "frame_diff"]).map { $0.info.name }, ["frame_diff", "sharpness"])
        XCTAssertThrowsError(try MetricRegistry.select(["nope"])) { e in XCTAssertTrue("\(e)".contains("unknown metric 'nope'")) }
    }

    /// A metric declared opt-in (``MetricInfo/byDefault`` false).
    final class OptInProbe: Metric {
        static let info = MetricInfo(name: "opt_in_probe", summary: "a metric only a named selection runs", direction: .lower,
                                     needs: [], temporal: false, byDefault: false)
        init() {}
        func consume(_ context: FrameContext) {}
        func finish(_ clip: ClipAnalyses) -> MetricOutput { MetricOutput(values: []) }
    }

    func testAnOptInMetricRunsOnlyWhenNamed() throws {
        let types: [any Metric.Type] = [Sharpness.self, OptInProbe.self, PSNR.self]
        func names(_ t: [any Metric.Type]) -> [String] { t.map { $0.info.name } }
        // `all` (no selection) leaves it out, with or without a reference; naming it selects it.
        XCTAssertEqual(names(try MetricRegistry.select(nil, among: types)), ["sharpness"])
        XCTAssertEqual(names(try MetricRegistry.select(nil, reference: true, among: types)), ["sharpness", "psnr"])
        XCTAssertEqual(names(try MetricRegistry.select(["opt_in_probe", "sharpness"], among: types)), ["sharpness", "opt_in_probe"])
        XCTAssertThrowsError(try MetricRegistry.select(["frame_diff"], among: types))
    }
}
