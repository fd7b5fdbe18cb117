import Foundation
import GallopConfig
import GallopCore
import GallopResults

/// Writes every report of a results folder from its rows: `scorecard.md`,
/// `summary.json`, `clips.csv`, `report.html` and, when asked, `frames.csv`.
/// `gallop score` calls it when it ends and `gallop report` on a folder; both
/// compute the aggregates once, in ``Aggregation/summarize(_:known:suite:settings:)``,
/// and every file is written from that one summary.
public struct ReportWriter: Sendable {
    public var out: String
    public var suite: PromptSuite?
    public var settings: ReportSettings
    public var framesCSV: Bool
    public var context: ReportContext
    /// Decodes the frames of `report.html`'s worst moments (nil: the page names them without images).
    public var thumbnails: (any ThumbnailSource)?
    /// Sections other parts of Gallop add to `report.html` from the report's summary (the agreement with votes, `--votes`).
    public var htmlSections: @Sendable (ResultsSummary) -> [HTMLReport.Section] = { _ in [] }

    public init(out: String, suite: PromptSuite? = nil, settings: ReportSettings = ValueCatalog.report, framesCSV: Bool = false,
                context: ReportContext = ReportContext(), thumbnails: (any ThumbnailSource)? = nil) {
        self.out = out
        self.thumbnails = thumbnails
        self.suite = suite
        self.settings = settings
        self.framesCSV = framesCSV
        self.context = context
    }

    /// Rows of one fingerprint (`fingerprint` selects one when they are mixed).
    /// Rows of several configs are refused, naming them and the settings that differ.
    public static func select(_ rows: [ClipResult], fingerprint: String?, file: String) throws(ResultsError) -> [ClipResult] {
        if let fingerprint {
            let chosen = rows.filter { $0.fingerprint == fingerprint }
            guard !chosen.isEmpty else {
                throw ResultsError("\(file): no row has config fingerprint \(fingerprint) (present: \(Set(rows.map(\.fingerprint)).sorted().joined(separator: ", ")))")
            }
            return chosen
        }
        let groups = Dictionary(grouping: rows, by: \.fingerprint)
        guard groups.count > 1 else { return rows }
        let ordered = groups.sorted { $0.value.count > $1.value.count || ($0.value.count == $1.value.count && $0.key < $1.key) }
        let first = ordered[0].value[0].config
        var lines = ["\(file): the rows come from \(groups.count) different configs and are never averaged together:"]
        for (fp, members) in ordered {
            let diff = ConfigDifference.between(first, members[0].config)
            lines.append("  \(fp.isEmpty ? "(none)" : fp): \(members.count) row\(members.count == 1 ? "" : "s")"
                + (diff.isEmpty ? "" : "; differs in " + diff.prefix(4).joined(separator: ", ")))
        }
        lines.append("choose one with --fingerprint FP")
        throw ResultsError(lines.joined(separator: "\n"))
    }

    /// The inputs of `gallop merge` (each a results file and its rows) share one config fingerprint, or
    /// the merge is refused naming each config, its inputs and the settings that differ. `merge` has no
    /// `--fingerprint` (a merged folder holds one run), so the way out is to merge the inputs of one config,
    /// or to score the others again with that config.
    public static func requireOneConfig(_ inputs: [(file: String, rows: [ClipResult])]) throws(ResultsError) {
        var byFingerprint: [String: (files: [String], rows: Int, config: JSONValue)] = [:]
        for input in inputs {
            for (fp, rows) in Dictionary(grouping: input.rows, by: \.fingerprint) {
                var entry = byFingerprint[fp] ?? ([], 0, rows[0].config)
                if !entry.files.contains(input.file) { entry.files.append(input.file) }
                entry.rows += rows.count
                byFingerprint[fp] = entry
            }
        }
        guard byFingerprint.count > 1 else { return }
        let ordered = byFingerprint.sorted { $0.value.rows > $1.value.rows || ($0.value.rows == $1.value.rows && $0.key < $1.key) }
        let first = ordered[0].value.config
        var lines = ["the inputs come from \(ordered.count) different configs, and rows of different configs are never merged nor averaged together:"]
        for (fp, entry) in ordered {
            let diff = ConfigDifference.between(first, entry.config)
            lines.append("  \(fp.isEmpty ? "(none)" : fp): \(entry.rows) row\(entry.rows == 1 ? "" : "s") in \(entry.files.joined(separator: ", "))"
                + (diff.isEmpty ? "" : "; differs in " + diff.prefix(4).joined(separator: ", ")))
        }
        lines.append("merge only the inputs of one config, or score the others again with the same config and flags "
            + "(`gallop score DIR --shard I/N --force` with that --config); `gallop report OUT --fingerprint FP` reports one config of a single folder")
        throw ResultsError(lines.joined(separator: "\n"))
    }

    /// Writes the reports; returns the summary and the scorecard text.
    @discardableResult
    public func write(_ rows: [ClipResult]) throws(ResultsError) -> (summary: ResultsSummary, scorecard: String) {
        // A suite that matches no clip would publish empty reports: refused before any file is written.
        if let suite, let error = suite.noClipIn(prompts: rows.map(\.name.prompt)) { throw error }
        let summary = try Aggregation.summarize(rows, known: ValueCatalog.known, suite: suite, settings: settings)
        let card = Scorecard.markdown(summary, context: context)
        try save(card, "scorecard.md")
        try save(SummaryJSON.make(summary, context: context).pretty() + "\n", "summary.json")
        try save(CSVFiles.clips(summary), "clips.csv")
        try save(HTMLReport.make(summary, context: context, thumbnails: thumbnails, sections: htmlSections(summary)), "report.html")
        if framesCSV { try save(CSVFiles.frames(rows), "frames.csv") }
        return (summary, card)
    }

    /// Whole or not at all, with the system's reason when it cannot (`OUT/summary.json: cannot write: no space left on device`).
    private func save(_ text: String, _ name: String) throws(ResultsError) {
        try OutputFile.write(text, to: out + "/" + name)
    }
}
