import Foundation
import GallopConfig
import GallopCore
import GallopResults

/// One `gallop check` from paths: reads both results, runs the check, writes
/// the files asked for and the GitHub step summary, and returns what goes to
/// standard output.
public struct CheckRun: Sendable {
    public var candidate: String
    public var baseline: String
    public var options: Check.Options

    public init(candidate: String, baseline: String, options: Check.Options) {
        self.candidate = candidate
        self.baseline = baseline
        self.options = options
    }

    /// The directions of the values a check gates: headlines and derived values, and the secondary values that
    /// `gate` declares a tolerance for (`av_offset_abs_ms` by default; a config's `gate.tolerances` adds others).
    /// Other secondary values are not gated: most restate their headline (a regional flicker, a peak of a mean).
    public static func knownDirections(gate: GateSettings) -> [String: Direction] {
        var out: [String: Direction] = [:]
        for v in ValueCatalog.known where v.isHeadline || gate.tolerances[v.name] != nil { out[v.name] = v.direction }
        return out
    }

    /// ``knownDirections(gate:)`` with the metrics' declared tolerances.
    public static var knownDirections: [String: Direction] { knownDirections(gate: ValueCatalog.gate) }

    public struct Outcome: Sendable {
        public var result: Check.Result
        public var markdown: String
        /// GitHub workflow commands, when running in GitHub Actions.
        public var annotations: [String]
        public var failed: Bool { result.failed }
    }

    /// A results folder (its clips.jsonl) or a clips.jsonl file, read lean: the numbers, and the extras
    /// the derived values are computed from (`derived`'s source metrics).
    public static func load(_ path: String, derived: [ValueDescriptor] = ValueCatalog.derived, warn: (String) -> Void) throws(ResultsError) -> [ClipResult] {
        let sources = derived.compactMap(\.match?.metric)  // a distance from a target reads a number, always kept
        let loaded = try ResultsFile.read(ResultsFile.locate(path), lean: true, keepingExtras: Array(Set(sources)).sorted())
        for p in loaded.problems { warn(p.message) }
        return loaded.rows
    }

    public func run(junit: String? = nil, json: String? = nil, environment: [String: String] = [:],
                    warn: (String) -> Void = { _ in }) throws -> Outcome {
        let result = try Check.run(candidate: CheckRun.load(candidate, derived: options.derived, warn: warn),
                                   baseline: CheckRun.load(baseline, derived: options.derived, warn: warn), options: options)
        for d in result.duplicates { warn("left out as a duplicate: \(d)") }
        let markdown = CheckOutputs.markdown(result)
        if let junit { try write(try CheckOutputs.junit(result), to: junit) }
        if let json { try write(CheckOutputs.json(result).pretty() + "\n", to: json) }
        if let summary = environment["GITHUB_STEP_SUMMARY"], !summary.isEmpty {
            // The 1 MiB cap is per step: what earlier commands of the step wrote counts too.
            let used = (try? FileManager.default.attributesOfItem(atPath: summary)[.size] as? Int) ?? 0
            let text = CheckOutputs.markdown(result, limit: max(4096, CheckOutputs.summaryLimit - used))
            do {
                guard let handle = FileHandle(forWritingAtPath: summary) ?? create(summary) else { throw ResultsError("cannot open it") }
                defer { try? handle.close() }
                try handle.seekToEnd()
                try handle.write(contentsOf: Data(text.utf8))
            } catch {
                warn("\(summary): cannot append the step summary (\(error)); the verdict stands")
            }
        }
        let annotations = environment["GITHUB_ACTIONS"] == "true" ? CheckOutputs.annotations(result) : []
        return Outcome(result: result, markdown: markdown, annotations: annotations)
    }

    private func create(_ path: String) -> FileHandle? {
        FileManager.default.createFile(atPath: path, contents: nil) ? FileHandle(forWritingAtPath: path) : nil
    }

    private func write(_ text: String, to path: String) throws(ResultsError) {
        try OutputFile.write(text, to: path)
    }

}
