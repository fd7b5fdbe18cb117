import Foundation
import GallopCore
import GallopVideo
#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary folder, removed by `cleanup()`.
public final class TempDir {
    public let path: String

    public init(_ label: String = "gallop-test") {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String {
        let full = path + "/" + name
        let dir = (full as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return full
    }

    public func cleanup() { try? FileManager.default.removeItem(atPath: path) }
    deinit { cleanup() }
}

/// Small deterministic planes for tests.
public enum Planes {
    public static func constant(_ w: Int, _ h: Int, _ v: UInt8, channels: Int = 1) -> PlaneBuffer {
        PlaneBuffer(width: w, height: h, channels: channels, fill: v)
    }

    /// Seeded uniform noise in `range`.
    public static func random(_ w: Int, _ h: Int, seed: UInt64, range: ClosedRange<Int> = 0...255, channels: Int = 1) -> PlaneBuffer {
        var rng = TestRNG(seed: seed)
        let n = w * h * channels
        return PlaneBuffer(width: w, height: h, channels: channels, samples: (0..<n).map { _ in
            UInt8(range.lowerBound + Int(rng.next() % UInt64(range.count)))
        })
    }

    /// A smooth textured luma scene seen through a camera at (dx, dy): real-ish
    /// content for motion tests, values within 40...215.
    public static func texture(_ w: Int, _ h: Int, dx: Double = 0, dy: Double = 0, seed: Double = 0) -> PlaneBuffer {
        let out = PlaneBuffer(width: w, height: h)
        out.withMutableSamples { s in
            for y in 0..<h {
                for x in 0..<w {
                    let u = Double(x) + dx, v = Double(y) + dy
                    let t = sin(u * 0.21 + seed) * cos(v * 0.17 - seed) + 0.5 * sin((u + v) * 0.07 + 2 * seed)
                    s[y * w + x] = UInt8((127.5 + 58 * t).rounded())
                }
            }
        }
        return out
    }

    /// Multiplies every sample by `gain`, clamped.
    public static func scaled(_ p: PlaneBuffer, gain: Double) -> PlaneBuffer {
        PlaneBuffer(width: p.width, height: p.height, channels: p.channels,
                    samples: p.samples.map { UInt8(max(0, min(255, (Double($0) * gain).rounded()))) })
    }

    /// Adds `offset` to every sample, clamped.
    public static func offset(_ p: PlaneBuffer, _ offset: Int) -> PlaneBuffer {
        PlaneBuffer(width: p.width, height: p.height, channels: p.channels,
                    samples: p.samples.map { UInt8(max(0, min(255, Int($0) + offset))) })
    }
}

/// Seeded test data: the same generator the product uses.
public typealias TestRNG = SplitMix64

/// Writes clips through Gallop's own writer.
public enum Clips {
    /// Writes luma frames (chroma mid-grey) to `path`.
    @discardableResult
    public static func write(_ path: String, _ frames: [PlaneBuffer], fps: Int = 24, codec: VideoWriter.Codec = .ffv1,
                             times: [Double]? = nil, bitDepth: Int = 8, rotation: Int = 0, keyframeInterval: Int = 12,
                             openGOP: Bool = false) throws -> String {
        let w = try VideoWriter(path: path, width: frames[0].width, height: frames[0].height, fps: fps, codec: codec, bitDepth: bitDepth,
                                rotation: rotation, keyframeInterval: keyframeInterval, openGOP: openGOP)
        for (i, f) in frames.enumerated() { try w.append(luma: f, time: times?[i]) }
        try w.finish()
        return path
    }

    /// A clip with one of each moment report.html shows, through libx264 (CRF 20): a texture panning `step` px a
    /// frame, a flicker burst over `flicker` (gains 1.15 and 0.87 in turn), a freeze over `freeze` (the pan held at
    /// its first frame), a soft stretch over `soft` (contrast 0.3 and rising: the blurriest frames), and from `cut` on
    /// a hard cut to another scene; the pan goes on between them.
    public static func writeMoments(_ path: String, width: Int, height: Int, frames: Int, step: Double, flicker: Range<Int>,
                                    freeze: Range<Int>, soft: Range<Int>, cut: Int, seed: Double) throws {
        let planes = (0..<frames).map { i -> PlaneBuffer in
            let dx = Double(i) * step
            if flicker.contains(i) { return Planes.scaled(Planes.texture(width, height, dx: dx, seed: seed), gain: i % 2 == 0 ? 1.15 : 0.87) }
            if freeze.contains(i) { return Planes.texture(width, height, dx: Double(freeze.lowerBound) * step, seed: seed) }
            if soft.contains(i) {
                let gain = 0.3 + 0.02 * Double(i - soft.lowerBound)
                return Planes.offset(Planes.scaled(Planes.texture(width, height, dx: dx, seed: seed), gain: gain), 90)
            }
            return Planes.texture(width, height, dx: dx, seed: i >= cut ? seed + 2.5 : seed)
        }
        try write(path, planes, codec: .h264(crf: 20))
    }

    /// Writes RGB frames to `path`.
    @discardableResult
    public static func writeRGB(_ path: String, _ frames: [PlaneBuffer], fps: Int = 24, codec: VideoWriter.Codec = .ffv1,
                                rotation: Int = 0) throws -> String {
        let w = try VideoWriter(path: path, width: frames[0].width, height: frames[0].height, fps: fps, codec: codec, rotation: rotation)
        for f in frames { try w.append(rgb: f) }
        try w.finish()
        return path
    }

    /// A 16-bit PCM WAV file of silence: a real media file with no video stream.
    public static func writeWAV(_ path: String, seconds: Double = 0.1) {
        let rate = 8000, samples = Int(Double(rate) * seconds)
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples * 2))
        d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(UInt32(rate)); u32(UInt32(rate * 2)); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(samples * 2))
        d.append(Data(count: samples * 2))
        FileManager.default.createFile(atPath: path, contents: d)
    }

    /// Overwrites `count` bytes at `offset` with seeded garbage.
    public static func corrupt(_ path: String, at offset: Int, count: Int, seed: UInt64 = 1) {
        var data = FileManager.default.contents(atPath: path)!
        var rng = TestRNG(seed: seed)
        for i in offset..<min(data.count, offset + count) { data[i] = UInt8(truncatingIfNeeded: rng.next()) }
        FileManager.default.createFile(atPath: path, contents: data)
    }

    /// Keeps only the first `bytes` bytes of a file.
    public static func truncate(_ path: String, to bytes: Int) {
        let data = FileManager.default.contents(atPath: path)!
        FileManager.default.createFile(atPath: path, contents: data.prefix(bytes))
    }
}

/// Files whose names are not UTF-8, made and removed by their raw bytes.
public enum RawNames {
    public static func rename(_ from: String, to bytes: [UInt8]) -> Int32 {
        (bytes + [0]).withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { Glibc.rename(from, $0.baseAddress!) } }
    }

    public static func mkdir(_ bytes: [UInt8]) -> Int32 {
        (bytes + [0]).withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { Glibc.mkdir($0.baseAddress!, 0o755) } }
    }

    /// Files, then folders, in the order given.
    public static func remove(_ paths: [[UInt8]]) {
        for bytes in paths {
            _ = (bytes + [0]).withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { Glibc.remove($0.baseAddress!) } }
        }
    }
}
