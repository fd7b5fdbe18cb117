import Foundation
import GallopCore
import GallopMetrics
import GallopVideo

/// `gallop flow`: a clip's motion-size frames (PGM) and optical flows
/// (Middlebury .flo), for inspection and cross-checks against OpenCV.
public enum FlowExport {
    /// Writes DIR/frame_NNNNN.pgm and DIR/flow_NNNNN.flo (flow from frame N−1 to N).
    public static func write(clip: String, to out: String, motionSide: Int, maxFrames: Int?, framesOnly: Bool,
                             flow: MetricSettings.FlowOptions = .init()) throws -> (frames: Int, flows: Int, width: Int, height: Int) {
        let reader = try VideoReader(path: clip, options: ReadOptions(maxFrames: maxFrames, threads: 1, motionSide: motionSide))
        let dis = DISFlow(stride: flow.stride, iterations: flow.iterations)
        var previous: FlowPyramid?
        var n = 0
        try reader.forEachFrame { frame in
            let image = FloatImage(frame.motion!)
            try FlowFiles.writePGM(image, to: String(format: "%@/frame_%05d.pgm", out, frame.index))
            if !framesOnly {
                let pyramid = dis.prepare(image)
                if let previous {
                    try FlowFiles.writeFlo(dis.flow(from: previous, to: pyramid, initial: nil), to: String(format: "%@/flow_%05d.flo", out, frame.index))
                }
                previous = pyramid
            }
            n += 1
        }
        return (n, framesOnly ? 0 : max(0, n - 1), reader.info.motionWidth, reader.info.motionHeight)
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
