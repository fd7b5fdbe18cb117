import ArgumentParser
import Foundation
import GallopConfig
import GallopHarness
import GallopMetrics

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

    @Option(help: ArgumentHelp("YAML config: its options.flow settings.", valueName: "FILE"))
    var config: String?

    func run() throws {
        Allocator.tuneForScoring()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var flow = MetricSettings.FlowOptions()
        if let config {
            do { flow = try Configuration.load(config).options.flow } catch { throw fatal(error.description) }
        }
        let written = try FlowExport.write(clip: clip, to: out, motionSide: motionSide, maxFrames: maxFrames, framesOnly: framesOnly, flow: flow)
        printError("gallop: wrote \(written.frames) frames\(framesOnly ? "" : " and \(written.flows) flows") of \(written.width)x\(written.height) to \(out)")
    }
}
