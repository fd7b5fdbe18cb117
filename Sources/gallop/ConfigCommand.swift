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

    func run() throws {
        var resolved = Configuration()
        if let config {
            do { resolved = try Configuration.load(config) } catch { throw fatal(error.description) }
        }
        let run = resolved.run()
        print(resolved.yaml(comment: """
            Gallop \(Gallop.version) configuration\(config.map { ", resolved from \($0)" } ?? ": the built-in defaults").
            Every key is optional in a file; a missing key keeps the value shown. See the README's "Configs".
            Scoring fingerprint (rows' config.fingerprint, without --reference): \(run.fingerprint)
            Report settings fingerprint (summary.json): \(resolved.report.fingerprint)
            """), terminator: "")
    }
}
