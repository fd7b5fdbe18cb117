import ArgumentParser
import GallopConfig
import GallopCore

struct ShowConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the resolved config: the built-in defaults, or a config file with them filled in.",
        discussion: "Every key is optional in a file. configs/default.yaml is this command's output with no --config."
    )

    @Option(help: ArgumentHelp("YAML config to resolve.", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("Folder of the learned metrics' weights, as for `gallop score --weights` (they are hashed for the fingerprint).", valueName: "DIR"))
    var weights: String?

    func run() throws {
        var resolved = Configuration()
        if let config {
            do { resolved = try Configuration.load(config) } catch { throw fatal(error.description) }
        }
        if let weights { resolved.applyWeights(folder: weights) }
        let run: RunConfig
        do { run = resolved.run(models: try resolved.resolveModels()) } catch { throw fatal("\(error)") }
        print(resolved.yaml(comment: """
            Gallop \(Gallop.version) configuration\(config.map { ", resolved from \($0)" } ?? ": the built-in defaults").
            Every key is optional in a file; a missing key keeps the value shown. See the README's "Configs".
            Scoring fingerprint (rows' config.fingerprint, without --reference): \(run.fingerprint)
            Report settings fingerprint (summary.json): \(resolved.report.fingerprint)
            """), terminator: "")
    }
}
