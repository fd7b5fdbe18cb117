import ArgumentParser
import Foundation
import GallopConfig
import GallopHarness
import GallopMetrics
import GallopVideo

struct Flow: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a clip's optical flow, for inspection and cross-checks.",
        discussion: """
            Writes DIR/frame_NNNNN.pgm (the motion-size luma Gallop analyses) and DIR/flow_NNNNN.flo \
            (Middlebury .flo: flow from frame N−1 to frame N) for each consecutive pair.
            """
    )

    @Argument(help: "The clip.")
    var clip: String

    @Option(help: "Output folder.")
    var out: String

    @Option(name: .customLong("motion-side"), help: "Long side of the optical-flow analysis size.")
    var motionSide: Int = RunConfig.defaultMotionSide

    @Option(name: .customLong("max-frames"), help: "Read at most N frames.")
    var maxFrames: Int?

    @Flag(help: "Write only the frames (no flow): for timing a peer on the same input.")
    var framesOnly = false

    func run() throws {
        Allocator.tuneForScoring()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let reader = try VideoReader(path: clip, options: ReadOptions(maxFrames: maxFrames, threads: 1, motionSide: motionSide))
        let dis = DISFlow()
        var previous: [FloatImage]?
        var n = 0
        try reader.forEachFrame { frame in
            let plane = frame.motion!
            let image = FloatImage(plane)
            try FlowFiles.writePGM(image, to: String(format: "%@/frame_%05d.pgm", out, frame.index))
            if !framesOnly {
                let pyramid = dis.pyramid(image)
                if let previous {
                    try FlowFiles.writeFlo(dis.flow(from: previous, to: pyramid), to: String(format: "%@/flow_%05d.flo", out, frame.index))
                }
                previous = pyramid
            }
            n += 1
        }
        printError("gallop: wrote \(n) frames\(framesOnly ? "" : " and \(max(0, n - 1)) flows") of \(reader.info.motionWidth)x\(reader.info.motionHeight) to \(out)")
    }
}

/// Middlebury .flo and binary PGM writers for `gallop flow`.
enum FlowFiles {
    static func writePGM(_ image: FloatImage, to path: String) throws {
        var data = Data("P5\n\(image.width) \(image.height)\n255\n".utf8)
        data.append(contentsOf: image.pixels.map { UInt8(max(0, min(255, $0.rounded()))) })
        try data.write(to: URL(fileURLWithPath: path))
    }

    static func writeFlo(_ f: FlowField, to path: String) throws {
        var data = Data("PIEH".utf8)
        func append<T>(_ v: T) { withUnsafeBytes(of: v) { data.append(contentsOf: $0) } }
        append(Int32(f.width).littleEndian)
        append(Int32(f.height).littleEndian)
        for k in 0..<f.u.count {
            append(f.u[k].bitPattern.littleEndian)
            append(f.v[k].bitPattern.littleEndian)
        }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
