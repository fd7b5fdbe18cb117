import ArgumentParser
import GallopConfig
import GallopMetrics

struct ListMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics", abstract: "List the metrics, their better direction and what they need.",
        discussion: "With --markdown: the README's config, tolerance, composite and metric tables, each between its marker comments, written from the metric registry."
    )

    @Flag(help: "Print the README's tables from the registry instead.")
    var markdown = false

    func run() {
        if markdown {
            print(MarkdownTables.document, terminator: "")
            return
        }
        for type in MetricRegistry.all {
            let i = type.info
            var needs: [String] = []
            if i.analyses.readerInputs.contains(.rgb) { needs.append("rgb") } else { needs.append("luma") }
            if i.temporal { needs.append("pairs") }
            if i.resolution == .native { needs.append("native size") }
            let extra = i.secondary.isEmpty ? "" : " (also: \(i.secondary.joined(separator: ", ")))"
            print("\(i.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(i.direction.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(needs.joined(separator: ", ").padding(toLength: 26, withPad: " ", startingAt: 0)) \(i.summary)\(extra)")
        }
    }
}
