import GallopCore
@testable import GallopMetrics
import GallopTestSupport
import XCTest

/// A metric that needs nothing and records which analyses each frame (and the clip's end) brought.
private final class Recorder: Metric {
    static let info = MetricInfo(name: "recorder", summary: "", direction: .none, needs: [], temporal: true)
    var frames: [Set<AnalysisKey>] = []
    var clip = ClipAnalyses()

    func consume(_ c: FrameContext) {
        var seen: Set<AnalysisKey> = []
        if c.stats != nil { seen.insert(.lumaStats) }
        if c.lumaPair != nil { seen.insert(.lumaPair) }
        if c.rgbSAD != nil { seen.insert(.rgbPair) }
        if c.opponent != nil { seen.insert(.opponentSums) }
        if c.secondDifferences != nil { seen.insert(.secondDifferences) }
        if c.motion?.forward != nil { seen.insert(.flow) }
        if c.motion?.backward != nil { seen.insert(.backwardFlow) }
        if c.motion?.skipForward != nil { seen.insert(.skipFlow) }
        if c.referenceImages != nil { seen.insert(.referenceImages) }
        frames.append(seen)
    }

    func finish(_ clip: ClipAnalyses) -> MetricOutput {
        self.clip = clip
        return MetricOutput(values: [])
    }
}

final class AnalysisTests: XCTestCase {
    /// Each analysis after everything it depends on.
    private func assertDependenciesFirst(_ order: [AnalysisKey], file: StaticString = #filePath, line: UInt = #line) {
        for (i, key) in order.enumerated() {
            for d in key.spec.dependencies {
                XCTAssertTrue(order[..<i].contains(d), "\(d) is not before \(key) in \(order)", file: file, line: line)
            }
        }
        XCTAssertEqual(Set(order).count, order.count, "\(order) repeats an analysis", file: file, line: line)
    }

    func testWarpingErrorAloneBringsItsDependencies() {
        let engine = MetricEngine(types: [WarpingError.self])
        XCTAssertEqual(Set(engine.analyses), [.backwardFlow, .flow, .cuts, .lumaPair, .lumaStats])
        assertDependenciesFirst(engine.analyses)
        XCTAssertEqual(engine.readerInputs, [.motionPlanes])
        XCTAssertTrue(engine.needsMotion)
        XCTAssertFalse(engine.needsRGB || engine.needsChroma || engine.needsReference)
        // The three luma passes in dependency order; the flows once for both flows.
        XCTAssertEqual(engine.passNames.filter { $0 != "flows" }, ["lumaStats", "lumaPair", "cuts"])
        XCTAssertEqual(engine.passNames.filter { $0 == "flows" }.count, 1)
    }

    func testResolutionIsClosedAndOrdered() {
        for key in AnalysisKey.allCases {
            let order = AnalysisKey.resolve([key])
            XCTAssertTrue(order.contains(key))
            assertDependenciesFirst(order)
        }
        for type in MetricRegistry.all { assertDependenciesFirst(type.info.analyses) }
        let all = AnalysisKey.resolve(MetricRegistry.all.flatMap { $0.info.needs })
        assertDependenciesFirst(all)
        XCTAssertEqual(Set(all), Set(AnalysisKey.allCases), "some analysis is needed by no metric")
        // The same analyses whatever order the metrics come in.
        XCTAssertEqual(AnalysisKey.resolve([.cuts, .rgbPair]), AnalysisKey.resolve([.rgbPair, .cuts]))
        // Every pass after the passes its analyses' dependencies come from.
        let passes = AnalysisKey.passes(for: all).map(\.name)
        XCTAssertEqual(Set(passes).count, passes.count)
        for key in all {
            guard let name = key.spec.pass?.name else { continue }
            for d in AnalysisKey.resolve(key.spec.dependencies) {
                guard let dn = d.spec.pass?.name, dn != name else { continue }
                XCTAssertLessThan(passes.firstIndex(of: dn)!, passes.firstIndex(of: name)!, "\(dn) before \(name)")
            }
        }
    }

    func testDependencyOrderRejectsCycles() {
        let acyclic = ["a": ["b", "c"], "b": ["c"], "c": []]
        XCTAssertEqual(DependencyOrder.sorted(["a"], dependencies: { acyclic[$0]! }), ["c", "b", "a"])
        let cyclic = ["a": ["b"], "b": ["c"], "c": ["a"]]
        XCTAssertNil(DependencyOrder.sorted(["a"], dependencies: { cyclic[$0]! }))
        XCTAssertNil(DependencyOrder.sorted(["x"], dependencies: { _ in ["x"] }))
    }

    func testReaderInputsFollowFromTheAnalyses() {
        let expected: [String: Set<ReaderInput>] = [
            "temporal_flickering": [.rgb], "colorfulness": [.rgb],
            "motion_magnitude": [.motionPlanes], "dynamic_degree": [.motionPlanes], "warping_error": [.motionPlanes],
            "motion_smoothness": [.motionPlanes], "camera_motion": [.motionPlanes],
            "psnr": [.chroma, .reference], "ssim_fast": [.chroma, .reference], "ssim": [.reference], "ms_ssim": [.reference], "vmaf": [.reference, .atReferenceSize],
            "subject_consistency": [.rgb], "background_consistency": [.rgb], "aesthetic_quality": [.rgb], "clip_score": [.rgb],
            "loudness_lufs": [.audio], "loudness_range": [.audio], "true_peak_dbtp": [.audio, .truePeak], "clipped_share": [.audio], "silence_share": [.audio],
            "av_offset_ms": [.audio], "av_align": [.audio, .motionPlanes],
        ]
        for type in MetricRegistry.all {
            let info = type.info
            XCTAssertEqual(info.analyses.readerInputs, expected[info.name] ?? [], info.name)
            XCTAssertEqual(info.needsReference, (expected[info.name] ?? []).contains(.reference), info.name)
        }
        // Meaningless below a block: all but the whole-frame sums and the per-pixel reference comparisons.
        XCTAssertEqual(MetricRegistry.all.filter { !$0.info.spatial }.map { $0.info.name },
                       ["temporal_flickering", "exposure", "contrast", "colorfulness", "psnr", "ssim_fast",
                        // The learned encoders resize every frame to their 224 px input first.
                        "subject_consistency", "background_consistency", "aesthetic_quality", "clip_score",
                        "loudness_lufs", "loudness_range", "true_peak_dbtp", "clipped_share", "silence_share"])
        // A metric that reads the luma plane itself in blocks says so; one that reads no spatial analysis and does not is not.
        func info(spatial: Bool) -> MetricInfo {
            MetricInfo(name: "plane_reader", summary: "reads the luma plane itself", direction: .lower, needs: [], temporal: false, spatial: spatial)
        }
        XCTAssertTrue(info(spatial: true).spatial)
        XCTAssertFalse(info(spatial: false).spatial)
    }

    /// Frames with every plane the reader can give; each analysis asked alone brings its results and its
    /// dependencies' and nothing else.
    func testAnAnalysisNotAskedForIsNotComputed() {
        let luma = (0..<4).map { Planes.texture(64, 48, dx: Double($0), seed: 3) }
        let rgb = (0..<4).map { Planes.random(64, 48, seed: UInt64($0), channels: 3) }
        let reference = Planes.texture(64, 48, seed: 4)
        for key in AnalysisKey.allCases {
            let recorder = Recorder()
            let engine = MetricEngine(metrics: [recorder], needs: [key], settings: MetricSettings(), flowThreads: 1)
            for i in luma.indices {
                luma[i].withPlane { y in
                    rgb[i].withPlane { c in
                        reference.withPlane { r in
                            engine.consume(Frame(index: i, time: Double(i) / 24, duration: 1.0 / 24, luma: y, rgb: c, motion: y),
                                           reference: Frame(index: i, time: Double(i) / 24, duration: 1.0 / 24, luma: r))
                        }
                    }
                }
            }
            _ = engine.finish()
            // The learned features are the clip's (``ClipAnalyses/features``): without models configured, a failure saying so.
            let learned: Set<AnalysisKey> = [.dinoFeatures, .clipB32Features, .clipL14Features]
            XCTAssertEqual(Set(recorder.clip.featureFailures.keys), learned.contains(key) ? [key] : [], "\(key)")
            let computed = Set(AnalysisKey.resolve([key]).filter { $0.spec.pass != nil && $0 != .cuts && !learned.contains($0) })
            // Pair analyses from the second frame on; the flows of frames two apart on frame 2.
            XCTAssertEqual(recorder.frames.reduce(Set()) { $0.union($1) }, computed, "\(key)")
            XCTAssertEqual(recorder.frames[0], computed.subtracting([.lumaPair, .rgbPair, .flow, .backwardFlow, .skipFlow]), "\(key)")
            XCTAssertEqual(recorder.clip.repeats.count, AnalysisKey.resolve([key]).contains(.cuts) ? luma.count : 0, "\(key)")
            XCTAssertEqual(engine.readerInputs, AnalysisKey.resolve([key]).readerInputs, "\(key)")
        }
    }
}
