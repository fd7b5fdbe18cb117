import ArgumentParser
import Foundation
import GallopConfig
import GallopHarness

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
        let written = try FlowExport.write(clip: clip, to: out, motionSide: motionSide, maxFrames: maxFrames, framesOnly: framesOnly)
        printError("gallop: wrote \(written.frames) frames\(framesOnly ? "" : " and \(written.flows) flows") of \(written.width)x\(written.height) to \(out)")
    }
}
