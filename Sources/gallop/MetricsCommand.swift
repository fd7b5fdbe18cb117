import ArgumentParser
import GallopConfig
import GallopCore
import GallopLearned
import GallopMetrics

struct ListMetrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics", abstract: "List the metrics, their better direction and what they need.",
        discussion: """
            With --markdown: the README's config, tolerance, composite and metric tables, each between its marker comments, written from the metric registry. \
            With --json: one JSON array, a metric an object (name, direction, unit, group, what it reads (rgb, flow, audio: the sound track, …), whether `all` selects it, default tolerance, secondary values), for scripts that pick metrics by kind.
            """
    )

    @Flag(help: "Print the README's tables from the registry instead.")
    var markdown = false

    @Flag(help: "Print the registry as JSON instead.")
    var json = false

    func validate() throws {
        if markdown && json { throw ValidationError("Give one of --markdown and --json.") }
    }

    func run() {
        if markdown {
            print(MarkdownTables.document, terminator: "")
            return
        }
        if json {
            print(JSONValue.array(MetricRegistry.groups.flatMap { g in g.metrics.map { ListMetrics.json($0.info, group: g.name) } }).serialized())
            return
        }
        for type in MetricRegistry.all {
            let i = type.info
            var needs: [String] = []
            // A sound metric reads the picture only when it needs some analysis of frames (av_offset_ms: the frame difference).
            let sound: Set<AnalysisKey> = [.audio, .truePeak, .onsets]
            let readsPicture = !MetricRegistry.measuresSound(i) || !i.analyses.allSatisfy(sound.contains)
            if i.analyses.readerInputs.contains(.rgb) { needs.append("rgb") } else if readsPicture { needs.append("luma") }
            if MetricRegistry.measuresSound(i) { needs.append("audio") }
            if i.temporal { needs.append("pairs") }
            if i.resolution == .native { needs.append("native size") }
            let extra = (i.secondary.isEmpty ? "" : " (also: \(i.secondary.joined(separator: ", ")))") + (i.byDefault ? "" : "; opt-in: runs only when named")
            let weights = i.models.isEmpty ? "" : "; needs weights: " + i.models.map { "models.\($0.rawValue)" }.joined(separator: ", ")
            print("\(i.name + String(repeating: " ", count: max(0, 20 - i.name.count))) \(i.direction.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(needs.joined(separator: ", ").padding(toLength: 26, withPad: " ", startingAt: 0)) \(i.summary)\(extra)\(weights)")
        }
        print("")
        print("The learned metrics run only when their weights are configured (config `models.<key>`, or `--weights DIR` holding")
        print("folders named by key). Get them with (not run here; then put each folder under one DIR):")
        for key in ModelKey.allCases {
            print("  \(key.rawValue): \(key.expected)")
            print("    \(key.download)")
        }
    }

    /// Names as a sentence lists them: "a, b and c".
    static func english(_ names: [String]) -> String {
        names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }

    static func json(_ i: MetricInfo, group: String) -> JSONValue {
        .object([
            ("name", .string(i.name)), ("direction", .string(i.direction.rawValue)), ("unit", .string(i.unit)), ("group", .string(group)),
            ("rgb", .bool(i.analyses.readerInputs.contains(.rgb))), ("flow", .bool(i.analyses.contains(.flow))),
            ("audio", .bool(MetricRegistry.measuresSound(i))),
            ("reference", .bool(i.needsReference)), ("temporal", .bool(i.temporal)), ("native", .bool(i.resolution == .native)),
            ("default", .bool(i.byDefault)),
            ("models", .array(i.models.map { .string($0.rawValue) })),
            ("tolerance", i.tolerance.map { .object([("kind", .string($0.kind.rawValue)), ("value", .number($0.value))]) } ?? .null),
            ("secondary", .array(i.secondary.map { .string($0) })),
            ("derived", .array(i.derived.map { .string($0.traits.name) })),
        ])
    }
}
