import ArgumentParser
import GallopSynth

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a demo set: clips from synthetic 'models' with known defects.",
        discussion: """
            Writes DIR/<model>/<prompt>-<seed>.mp4 (H.264) for five models: steady (clean motion), \
            flicker (brightness flicker), stutter (held frames and noise), soft (blur and exposure drift), \
            late (steady's picture, its sound 200 ms late), on the 16 prompts of prompts/demo.yaml: eight static \
            shots, four pans to the right, four slow drifts. In every scene a ball bounces at irregular times and \
            lights up on each impact; steady and late carry a soundtrack (48 kHz mono AAC: a quiet noise bed and a \
            click per impact), in sync for steady; the others are silent. Their sync (av_offset_ms) needs over 3 s \
            of sound (2 s beside its ±500 ms search): the default 84 frames at 24 fps.
            """
    )

    @Argument(help: "Folder to write the clips into.")
    var dir: String

    @Option(help: "Seeds per prompt.")
    var seeds: Int = 2

    @Option(help: "Frames per clip (24 fps).")
    var frames: Int = 84

    @Flag(help: "No soundtrack for any model (steady and late then differ in nothing).")
    var silent = false

    @Option(help: ArgumentHelp("Only these models (comma-separated).", valueName: "a,b"))
    var models: String?

    @Option(name: .customLong("flicker-amplitude"), help: "Largest gain change of the flicker model (0.08: ±8%).")
    var flickerAmplitude = 0.08

    var modelNames: [String]? { models?.split(separator: ",").map(String.init) }

    func validate() throws {
        if seeds < 1 || frames < 2 { throw ValidationError("--seeds must be at least 1, --frames at least 2.") }
        if let names = modelNames, let unknown = names.first(where: { n in !DemoSet.models.contains { $0.name == n } }) {
            throw ValidationError("--models: unknown model '\(unknown)'; the demo models are \(DemoSet.models.map(\.name).joined(separator: ", ")).")
        }
        if !(0...0.5).contains(flickerAmplitude) { throw ValidationError("--flicker-amplitude must be in 0...0.5.") }
    }

    func run() throws {
        do {
            let n = try DemoSet.write(to: dir, seeds: seeds, frames: frames, models: modelNames, flickerAmplitude: flickerAmplitude,
                                     sound: !silent)
            printError("gallop: wrote \(n) clips under \(dir)")
        } catch {
            throw fatal("\(error)")
        }
    }
}
