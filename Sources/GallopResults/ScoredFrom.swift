import Foundation
import GallopCore

/// `OUT/source.json`: where a results folder's clips were scored from, so a
/// report can decode their frames again (`report.html`'s thumbnails). One
/// object, `{"clips": ABSOLUTE FOLDER}`; each row's `path` is relative to it.
/// Kept beside `clips.jsonl` rather than in the rows, so rows stay equal
/// wherever the clips lie (shards on other machines, a moved folder).
public enum ScoredFrom {
    public static let fileName = "source.json"

    /// The absolute, standardised form of `folder` (relative to the working directory).
    public static func absolute(_ folder: String) -> String {
        URL(fileURLWithPath: folder).standardizedFileURL.path
    }

    /// Writes `OUT/source.json` naming `clips` (made absolute).
    public static func write(clips: String, into out: String) throws(ResultsError) {
        let text = JSONValue.object([("clips", .string(absolute(clips)))]).pretty() + "\n"
        try OutputFile.write(text, to: out + "/" + fileName)
    }

    /// The folder recorded beside the results file `results` (a folder or its `clips.jsonl`),
    /// or nil when none is recorded (results from before this file, or copied alone).
    public static func read(beside results: String) -> String? {
        let folder = Paths.parent(of: ResultsFile.locate(results))
        let path = (folder.isEmpty ? "." : folder) + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8),
              let json = try? JSONParser.parse(text) else { return nil }
        return json["clips"]?.stringValue
    }
}
