import Foundation
import Synchronization
import GallopCore
import GallopVideo

/// Procedural clips with known defects, for the demo and for tests: a panning
/// camera over a textured scene with moving shapes, rendered as RGB and
/// encoded through ``VideoWriter``.
public struct SyntheticScene: Sendable {
    public enum Defect: String, Sendable, CaseIterable {
        /// Clean, smooth motion.
        case none
        /// Whole-frame brightness oscillation (a random gain per frame within ±``flickerAmplitude``, 8% by default).
        case flicker
        /// Every frame shown twice (half the motion updates), with grain held alike.
        case stutter
        /// Soft focus (box blur) and a slow exposure drift.
        case blur
    }

    public let seed: UInt64
    public let width: Int
    public let height: Int
    /// Pan speed in pixels per frame.
    public let pan: Double
    /// Largest gain change of the flicker defect (0.08: ±8%).
    public var flickerAmplitude = 0.08
    /// The ball bounces on the ground at seeded irregular frames (``impacts(before:)``) and shows white on the
    /// frame of each impact, instead of crossing at a steady height: events the picture shows, which a
    /// soundtrack (``soundtrack(frames:fps:lag:)``) can sound. Irregular, so that no other lag lines them up
    /// as well (av_offset_ms's confidence is the best lag's margin over its rivals); white for one frame, so that
    /// the frame difference rises on the impact frame itself, as at a flash.
    public var bounces = false
    /// A still camera's texture, computed once per clip by ``write(to:frames:fps:defect:crf:soundLag:)`` (the same
    /// values ``texture(_:_:)`` gives every frame: a cache, so a still clip costs one texture, not one a frame).
    private var stillTexture: [Double]?

    public init(seed: UInt64, width: Int = 256, height: Int = 144, pan: Double = 1.5) {
        self.seed = seed
        self.width = width
        self.height = height
        self.pan = pan
    }

    /// A texture value in 0...1 at world position (x, y): smooth value noise
    /// over a few octaves, seeded.
    func texture(_ x: Double, _ y: Double) -> Double {
        var total = 0.0, amplitude = 0.5, frequency = 1.0 / 24
        for octave in 0..<3 {
            total += amplitude * valueNoise(x * frequency, y * frequency, salt: UInt64(octave))
            amplitude *= 0.5
            frequency *= 2.3
        }
        return total / 0.875
    }

    private func hash(_ xi: Int, _ yi: Int, _ salt: UInt64) -> Double {
        var h = seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(xi)) &* 0xBF58_476D_1CE4_E5B9
        h ^= UInt64(bitPattern: Int64(yi)) &* 0x94D0_49BB_1331_11EB ^ salt &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 31
        h = h &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Double(h >> 11) / Double(1 << 53)
    }

    private func valueNoise(_ x: Double, _ y: Double, salt: UInt64) -> Double {
        let x0 = Int(x.rounded(.down)), y0 = Int(y.rounded(.down))
        let fx = x - Double(x0), fy = y - Double(y0)
        let sx = fx * fx * (3 - 2 * fx), sy = fy * fy * (3 - 2 * fy)
        let a = hash(x0, y0, salt), b = hash(x0 + 1, y0, salt)
        let c = hash(x0, y0 + 1, salt), d = hash(x0 + 1, y0 + 1, salt)
        return (a + (b - a) * sx) * (1 - sy) + (c + (d - c) * sx) * sy
    }

    /// The clean RGB frame at time step `t` (in frames).
    public func render(at t: Double) -> PlaneBuffer {
        let out = PlaneBuffer(width: width, height: height, channels: 3)
        let hueA = hash(1, 2, 3), hueB = hash(4, 5, 6)
        let camX = pan * t, camY = 0.3 * pan * t
        let radius = Double(min(width, height)) / 6
        // A ball crossing the frame, or bouncing across it.
        var bx = Double(width) * (0.2 + 0.6 * (t / 48).truncatingRemainder(dividingBy: 1))
        var by = Double(height) * (0.5 + 0.25 * sin(t / 7))
        var ball = (r: 220.0, g: 80.0, b: 60.0)
        if bounces {
            // Back and forth (no jump back to the left edge: a jump is an event without a sound).
            let u = (t / 96).truncatingRemainder(dividingBy: 1)
            bx = Double(width) * (0.2 + 0.6 * (1 - abs(2 * u - 1)))
            // A parabola between consecutive impacts, higher after a longer gap (as a ball thrown up for longer).
            let hits = impacts(before: Int(t.rounded(.up)) + 32)
            let next = hits.first { Double($0) >= t } ?? Int(t.rounded(.up))
            let previous = hits.last { Double($0) < t } ?? next - 14
            let gap = Double(next - previous), s = (t - Double(previous)) / gap
            let ground = Double(height) - radius - 2
            by = ground - 0.45 * Double(height) * (gap / 21) * (gap / 21) * 4 * s * (1 - s)
            if t == Double(next) { ball = (240, 240, 230) }
        }
        out.withMutableSamples { s in
            for y in 0..<height {
                for x in 0..<width {
                    let wx = Double(x) + camX, wy = Double(y) + camY
                    let v = stillTexture?[y * width + x] ?? texture(wx, wy)
                    let sky = Double(y) / Double(height)
                    var r = 40 + 170 * v * (0.6 + 0.4 * hueA) + 30 * sky
                    var g = 50 + 150 * v + 20 * (1 - sky)
                    var b = 60 + 140 * v * (0.6 + 0.4 * hueB) + 40 * sky
                    let dx = Double(x) - bx, dy = Double(y) - by
                    if dx * dx + dy * dy < radius * radius {
                        let shade = 0.75 + 0.25 * (-dx - dy) / (2 * radius)
                        r = ball.r * shade; g = ball.g * shade; b = ball.b * shade
                    }
                    let i = (y * width + x) * 3
                    s[i] = UInt8(max(0, min(255, r.rounded())))
                    s[i + 1] = UInt8(max(0, min(255, g.rounded())))
                    s[i + 2] = UInt8(max(0, min(255, b.rounded())))
                }
            }
        }
        return out
    }

    /// The frames (in order, all below `end`) at which the bouncing ball hits the ground: the first at 6-11,
    /// then gaps of 9-21 frames drawn from the seed, so the same scene gives the same impacts whatever the
    /// clip's length.
    public func impacts(before end: Int) -> [Int] {
        var rng = SplitMix64(seed: seed ^ 0xB0_0CE5)
        var out: [Int] = []
        var f = 6 + Int(rng.uniform() * 6)
        while f < end {
            out.append(f)
            f += 9 + Int(rng.uniform() * 13)
        }
        return out
    }

    /// A soundtrack for a bouncing-ball clip of `frames` frames at `fps`: a quiet seeded pink-noise bed
    /// (−34 dBFS rms) and a click (``SyntheticAudio/addClick(to:at:rate:amplitude:)``) `lag` seconds after
    /// each impact's frame time (0: in sync; positive: the sound late), mono, as long as the picture.
    public func soundtrack(frames: Int, fps: Int, lag: Double, rate: Int = 48000) -> [Float] {
        var sound = SyntheticAudio.noise(seed: seed ^ 0x50_07D, rms: 0.02, seconds: Double(frames) / Double(fps), rate: rate, color: .pink)
        for f in impacts(before: frames) {
            SyntheticAudio.addClick(to: &sound, at: Double(f) / Double(fps) + lag, rate: rate)
        }
        return sound
    }

    /// Frame `i` of a clip with `defect` applied.
    public func frame(_ i: Int, defect: Defect) -> PlaneBuffer {
        switch defect {
        case .none:
            return render(at: Double(i))
        case .flicker:
            let f = render(at: Double(i))
            let gain = 1 + flickerAmplitude * (hash(i, 99, 7) * 2 - 1)
            f.withMutableSamples { s in for k in s.indices { s[k] = UInt8(min(255, (Double(s[k]) * gain).rounded())) } }
            return f
        case .stutter:
            let f = render(at: Double(i - i % 2))
            var rng = SplitMix64(seed: seed ^ UInt64(i - i % 2))
            f.withMutableSamples { s in
                for k in s.indices { s[k] = UInt8(max(0, min(255, Double(s[k]) + 6 * rng.gaussian()))) }
            }
            return f
        case .blur:
            let f = render(at: Double(i))
            let drift = 1 + 0.004 * Double(i)
            let blurred = PlaneBuffer(width: width, height: height, channels: 3)
            let r = 2
            // The (2r+1)² box clipped at the edges, as integer sums: over each row's window first, then over the
            // column of those (exact, so the same as summing the box pixel by pixel).
            let src = f.samples
            var rowSums = [Int](repeating: 0, count: src.count)
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<3 {
                        var sum = 0
                        for xx in max(0, x - r)...min(width - 1, x + r) { sum += Int(src[(y * width + xx) * 3 + c]) }
                        rowSums[(y * width + x) * 3 + c] = sum
                    }
                }
            }
            blurred.withMutableSamples { out in
                for y in 0..<height {
                    let rows = max(0, y - r)...min(height - 1, y + r)
                    for x in 0..<width {
                        let n = rows.count * (min(width - 1, x + r) - max(0, x - r) + 1)
                        for c in 0..<3 {
                            var sum = 0
                            for yy in rows { sum += rowSums[(yy * width + x) * 3 + c] }
                            out[(y * width + x) * 3 + c] = UInt8(min(255, (Double(sum) / Double(n) * drift).rounded()))
                        }
                    }
                }
            }
            return blurred
        }
    }

    /// Writes a clip of `frames` frames with `defect` to `path` (H.264 at `crf`); with `soundLag`, also
    /// ``soundtrack(frames:fps:lag:rate:)`` at that lag (s) as 48 kHz mono AAC at 96 kbit/s, as real clips carry.
    public func write(to path: String, frames: Int, fps: Int = 24, defect: Defect, crf: Int = 18, soundLag: Double? = nil) throws {
        var scene = self
        if pan == 0 {
            scene.stillTexture = (0..<width * height).map { texture(Double($0 % width), Double($0 / width)) }
        }
        let audio = soundLag.map { _ in VideoWriter.AudioTrack(sampleRate: 48000, channels: 1, codec: .aac(bitrate: 96000)) }
        let writer = try VideoWriter(path: path, width: width, height: height, fps: fps, codec: .h264(crf: crf), audio: audio)
        if let soundLag { try writer.appendAudio(soundtrack(frames: frames, fps: fps, lag: soundLag)) }
        for i in 0..<frames { try writer.append(rgb: scene.frame(i, defect: defect)) }
        try writer.finish()
    }
}


/// The demo set `gallop synth` writes: five "models" on the prompts of `prompts/demo.yaml` (ids and camera
/// moves agree), each scene a ball bouncing at irregular times. Four have one known picture defect each and
/// no sound; `steady` also has a soundtrack whose clicks land on the impacts, and `late` is steady's picture
/// with the same soundtrack 200 ms late (a known sync defect, for av_offset_ms).
public enum DemoSet {
    public static let models: [(name: String, defect: SyntheticScene.Defect, soundLag: Double?)] = [
        ("steady", .none, 0), ("flicker", .flicker, nil), ("stutter", .stutter, nil), ("soft", .blur, nil), ("late", .none, 0.2),
    ]
    /// Prompt id and pan speed (px/frame; the content moves left and a little up: the camera pans right).
    /// Eight static prompts, so that the metrics read on static prompts get intervals and ranks.
    public static let prompts: [(id: String, pan: Double)] = [
        ("still-meadow", 0), ("still-garden", 0), ("still-hillside", 0), ("still-orchard", 0),
        ("still-pond", 0), ("still-field", 0), ("still-park", 0), ("still-lawn", 0),
        ("meadow-pan-right", 1.5), ("garden-pan-right", 2.5), ("hillside-pan-right", 1), ("orchard-pan-right", 2),
        ("ball-over-meadow", 0.6), ("ball-over-garden", 0.4), ("ball-over-pond", 0.5), ("ball-over-field", 0.3),
    ]

    /// Writes DIR/<model>/<prompt>-<seed>.mp4 for the chosen models (all by
    /// default), clips in parallel; without `sound`, no model gets its soundtrack. Returns the number of
    /// clips; throws the first error after every other clip was written.
    public static func write(to dir: String, seeds: Int, frames: Int, models: [String]? = nil, flickerAmplitude: Double = 0.08,
                             sound: Bool = true) throws -> Int {
        var jobs: [(String, SyntheticScene, SyntheticScene.Defect, Double?)] = []
        for (model, defect, soundLag) in self.models where models?.contains(model) ?? true {
            try FileManager.default.createDirectory(atPath: dir + "/" + model, withIntermediateDirectories: true)
            for (p, prompt) in prompts.enumerated() {
                for s in 0..<seeds {
                    var scene = SyntheticScene(seed: UInt64(p * 1000 + s * 7 + 1), pan: prompt.pan)
                    scene.flickerAmplitude = flickerAmplitude
                    scene.bounces = true
                    jobs.append(("\(dir)/\(model)/\(prompt.id)-\(s + 1).mp4", scene, defect, sound ? soundLag : nil))
                }
            }
        }
        let list = jobs
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: list.count) { i in
            let (path, scene, defect, soundLag) = list[i]
            do { try scene.write(to: path, frames: frames, defect: defect, soundLag: soundLag) } catch { errors.withLock { $0.append("\(path): \(error)") } }
        }
        if let first = errors.withLock({ $0.sorted().first }) { throw SynthError(message: first) }
        return list.count
    }

    public struct SynthError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }
}
