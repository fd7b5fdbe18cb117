import Foundation
import GallopCore
import GallopVideo

/// Seed clips for the fuzzer, made by code: tiny (8–64 px, 2–8 frames) moving
/// textures in each container and codec Gallop's writer has (FFV1, MPEG-4 part 2,
/// H.264; MKV, AVI, NUT, MP4, MOV; 8- and 10-bit, variable frame times), plus
/// YUV4MPEG2 files written by hand (odd sizes, which the writer refuses).
/// scripts/verify fuzz adds more codecs with the ffmpeg tool when it is installed.
enum Seeds {
    struct Spec {
        var name: String
        var width: Int
        var height: Int
        var frames: Int
        var codec: VideoWriter.Codec
        var bitDepth = 8
        var variableTimes = false
    }

    static let specs: [Spec] = [
        Spec(name: "ffv1-16x16.mkv", width: 16, height: 16, frames: 4, codec: .ffv1),
        Spec(name: "ffv1-10bit-32x24.mkv", width: 32, height: 24, frames: 3, codec: .ffv1, bitDepth: 10),
        Spec(name: "ffv1-8x8.avi", width: 8, height: 8, frames: 2, codec: .ffv1),
        Spec(name: "ffv1-64x48.nut", width: 64, height: 48, frames: 8, codec: .ffv1),
        Spec(name: "mpeg4-32x32.mp4", width: 32, height: 32, frames: 6, codec: .mpeg4(q: 5)),
        Spec(name: "mpeg4-24x16.avi", width: 24, height: 16, frames: 5, codec: .mpeg4(q: 10)),
        Spec(name: "mpeg4-48x32.mov", width: 48, height: 32, frames: 4, codec: .mpeg4(q: 3)),
        Spec(name: "h264-64x64.mp4", width: 64, height: 64, frames: 8, codec: .h264(crf: 30)),
        Spec(name: "h264-10bit-32x32.mkv", width: 32, height: 32, frames: 4, codec: .h264(crf: 30), bitDepth: 10),
        Spec(name: "h264-vfr-32x16.mp4", width: 32, height: 16, frames: 6, codec: .h264(crf: 35), variableTimes: true),
    ]

    /// A smooth texture shifted by `t` pixels, with a bright square that moves faster.
    static func frame(_ w: Int, _ h: Int, t: Int) -> PlaneBuffer {
        let out = PlaneBuffer(width: w, height: h, channels: 3)
        out.withMutableSamples { s in
            for y in 0..<h {
                for x in 0..<w {
                    let u = Double(x + t), v = Double(y)
                    let base = 127.5 + 60 * sin(u * 0.4) * cos(v * 0.3)
                    let square = abs(x - (2 * t) % w) < 3 && abs(y - h / 2) < 3
                    let i = (y * w + x) * 3
                    s[i] = UInt8(square ? 230 : base.rounded())
                    s[i + 1] = UInt8(square ? 40 : (255 - base).rounded())
                    s[i + 2] = UInt8((base * 0.5 + Double(4 * t)).rounded().truncatingRemainder(dividingBy: 256))
                }
            }
        }
        return out
    }

    /// A YUV4MPEG2 file: 4:2:0 planes (chroma sides rounded up), a moving gradient.
    static func y4m(width w: Int, height h: Int, frames: Int, tags: String) -> Data {
        var data = Data("YUV4MPEG2 W\(w) H\(h) F24:1 Ip A1:1 \(tags)\n".utf8)
        let cw = (w + 1) / 2, ch = (h + 1) / 2
        for t in 0..<frames {
            data.append(contentsOf: Array("FRAME\n".utf8))
            data.append(contentsOf: (0..<(w * h)).map { i in UInt8(truncatingIfNeeded: (i % w) * 9 + (i / w) * 5 + 7 * t) })
            data.append(contentsOf: (0..<(2 * cw * ch)).map { i in UInt8(truncatingIfNeeded: 128 + (i % 7) * 3 - t) })
        }
        return data
    }

    /// Writes every seed to `dir`; returns how many. A seed this FFmpeg cannot write is named on
    /// standard error and skipped; none written is an error.
    static func write(to dir: String) throws -> Int {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var count = 0
        for spec in specs {
            let path = dir + "/" + spec.name
            do {
                let writer = try VideoWriter(path: path, width: spec.width, height: spec.height, fps: 24, codec: spec.codec, bitDepth: spec.bitDepth)
                var time = 0.0
                for t in 0..<spec.frames {
                    let rgb = frame(spec.width, spec.height, t: t)
                    let at = spec.variableTimes ? time : nil
                    if spec.bitDepth == 8 {
                        try writer.append(rgb: rgb, time: at)
                    } else {
                        // The writer takes 10-bit output from 8-bit planes only: the green channel as luma.
                        let luma = PlaneBuffer(width: spec.width, height: spec.height, channels: 1,
                                               samples: stride(from: 1, to: rgb.samples.count, by: 3).map { rgb.samples[$0] })
                        try writer.append(luma: luma, time: at)
                    }
                    time += t % 2 == 0 ? 1.0 / 24 : 1.0 / 12
                }
                try writer.finish()
                count += 1
            } catch {
                FileHandle.standardError.write("gallop-fuzz: seed \(spec.name) skipped: \(error)\n".data(using: .utf8)!)
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        let raw: [(String, Data)] = [
            ("odd-9x7.y4m", y4m(width: 9, height: 7, frames: 3, tags: "C420jpeg")),
            ("y4m-16x8.y4m", y4m(width: 16, height: 8, frames: 4, tags: "C420mpeg2 XYSCSS=420MPEG2")),
        ]
        for (name, data) in raw {
            try data.write(to: URL(fileURLWithPath: dir + "/" + name))
            count += 1
        }
        guard count > 0 else { throw Seeds.Failure(message: "no seed clip could be written to \(dir)") }
        return count
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
