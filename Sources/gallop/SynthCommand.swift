import ArgumentParser
import Foundation
import GallopSynth

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a demo set: clips from synthetic 'models' with known defects.",
        discussion: """
            Writes DIR/<model>/<prompt>-<seed>.mp4 (H.264) for four models: steady (clean motion), \
            flicker (brightness flicker), stutter (held frames and noise), soft (blur and exposure drift), \
            on the prompts of prompts/demo.yaml: a static shot, a pan to the right, and a slow drift.
            """
    )

    @Argument(help: "Folder to write the clips into.")
    var dir: String

    @Option(help: "Seeds per prompt.")
    var seeds: Int = 2

    @Option(help: "Frames per clip.")
    var frames: Int = 48

    @Option(help: ArgumentHelp("Only these models (comma-separated).", valueName: "a,b"))
    var models: String?

    @Option(name: .customLong("flicker-amplitude"), help: "Largest gain change of the flicker model (0.08: ±8%).")
    var flickerAmplitude = 0.08

    var selected: [(name: String, defect: SyntheticScene.Defect)] {
        guard let models else { return DemoSet.models }
        let names = models.split(separator: ",").map(String.init)
        return DemoSet.models.filter { names.contains($0.name) }
    }

    func validate() throws {
        if seeds < 1 || frames < 2 { throw ValidationError("--seeds must be at least 1, --frames at least 2.") }
        if selected.isEmpty { throw ValidationError("--models: none of \(DemoSet.models.map(\.name).joined(separator: ", ")).") }
        if !(0...0.5).contains(flickerAmplitude) { throw ValidationError("--flicker-amplitude must be in 0...0.5.") }
    }

    func run() throws {
        var jobs: [(String, SyntheticScene, SyntheticScene.Defect)] = []
        for (model, defect) in selected {
            try FileManager.default.createDirectory(atPath: dir + "/" + model, withIntermediateDirectories: true)
            for (p, prompt) in DemoSet.prompts.enumerated() {
                for s in 0..<seeds {
                    var scene = SyntheticScene(seed: UInt64(p * 1000 + s * 7 + 1), pan: prompt.pan)
                    scene.flickerAmplitude = flickerAmplitude
                    jobs.append(("\(dir)/\(model)/\(prompt.id)-\(s + 1).mp4", scene, defect))
                }
            }
        }
        let frames = self.frames
        let list = jobs
        DispatchQueue.concurrentPerform(iterations: list.count) { i in
            let (path, scene, defect) = list[i]
            do { try scene.write(to: path, frames: frames, defect: defect) } catch { printError("gallop: \(error)") }
        }
        printError("gallop: wrote \(list.count) clips under \(dir)")
    }
}
