import Foundation
import GallopCore
import Synchronization

/// Appends rows to `clips.jsonl`, one line per clip, flushed as each is
/// written, so a crash or kill never loses a finished clip.
public final class ResultsFile: Sendable {
    private struct Handle: @unchecked Sendable { var file: UnsafeMutablePointer<FILE>? }
    private let handle: Mutex<Handle>
    public let path: String

    /// Creates (or truncates) the file, and writes `rows` first (a resumed run's kept rows).
    /// The kept rows go to a temporary file renamed over the old one, so a kill never loses them.
    public init(path: String, startingWith rows: [ClipResult] = []) throws(ResultsError) {
        if !rows.isEmpty {
            let temporary = path + ".resume"
            let text = rows.map { $0.json.serialized() + "\n" }.joined()
            do { try text.write(toFile: temporary, atomically: false, encoding: .utf8) } catch {
                throw ResultsError("\(path): cannot write results: \(error.localizedDescription)")
            }
            guard rename(temporary, path) == 0 else {
                throw ResultsError("\(path): cannot write results: \(String(cString: strerror(errno)))")
            }
        }
        guard let f = fopen(path, rows.isEmpty ? "w" : "a") else {
            throw ResultsError("\(path): cannot write results: \(String(cString: strerror(errno)))")
        }
        self.path = path
        handle = Mutex(Handle(file: f))
    }

    public func append(_ row: ClipResult) throws(ResultsError) {
        let line = row.json.serialized() + "\n"
        let path = self.path
        let failure: String? = handle.withLock { h in
            guard let f = h.file else { return "\(path): already closed" }
            let ok = line.withCString { fputs($0, f) } >= 0 && fflush(f) == 0
            return ok ? nil : "\(path): write failed: \(String(cString: strerror(errno)))"
        }
        if let failure { throw ResultsError(failure) }
    }

    public func close() {
        handle.withLock { h in
            if let f = h.file { fclose(f) }
            h.file = nil
        }
    }

    deinit { close() }

    /// Reads a results file without losing data: a line that is not a row (a
    /// truncated last line, garbage) is skipped with a problem naming its line
    /// number; when a path occurs twice the last row is kept and the earlier
    /// line is named. Throws only when the file cannot be read at all.
    /// The results file of `path`: its `clips.jsonl` when it is a folder, else the file itself.
    public static func locate(_ path: String) -> String {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue ? path + "/clips.jsonl" : path
    }

    /// `lean` leaves out each row's `frame_times` and `extras` but for
    /// `camera_motion` without its series: what a reader of the numbers and
    /// the camera class (the gate, for `camera_agreement`) needs, at a
    /// fraction of the memory and time.
    public static func read(_ path: String, lean: Bool = false) throws(ResultsError) -> LoadedResults {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ResultsError("\(path): cannot read results (no such file?)")
        }
        return data.withUnsafeBytes { parse(bytes: $0.bindMemory(to: UInt8.self), file: path, lean: lean) }
    }

    /// As ``read(_:lean:)``, on text already in memory (`file` names it in problems).
    public static func parse(_ text: String, file: String, lean: Bool = false) -> LoadedResults {
        Array(text.utf8).withUnsafeBufferPointer { parse(bytes: $0, file: file, lean: lean) }
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>, file: String, lean: Bool) -> LoadedResults {
        var loaded = LoadedResults(file: file)
        var rowsByPath: [String: (line: Int, row: ClipResult)] = [:]
        var order: [String] = []
        var lineNumber = 0
        let skipping: [[String]] = lean ? [["frame_times"], ["extras", "!camera_motion"], ["extras", "camera_motion", "series"]] : []
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let line = bytes[start..<end]
            start = end + 1
            lineNumber += 1
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
            let row: ClipResult
            do {
                row = try ClipResult(json: JSONParser.parse(bytes: line, skippingPaths: skipping))
            } catch {
                loaded.problems.append(.init(line: lineNumber, kind: .skipped, message: "\(file):\(lineNumber): skipped, not a result row (\(error))"))
                continue
            }
            if let earlier = rowsByPath[row.path] {
                loaded.problems.append(.init(line: earlier.line, kind: .duplicate,
                    message: "\(file):\(earlier.line): \(row.path) appears again on line \(lineNumber); the later row is kept"))
            } else {
                order.append(row.path)
            }
            rowsByPath[row.path] = (lineNumber, row)
        }
        loaded.rows = order.map { rowsByPath[$0]!.row }
        return loaded
    }
}

/// The rows of a results file and what was left out of them, and why.
public struct LoadedResults: Sendable {
    public struct Problem: Sendable, Equatable {
        public enum Kind: String, Sendable { case skipped, duplicate }
        public var line: Int
        public var kind: Kind
        public var message: String
        public init(line: Int, kind: Kind, message: String) {
            self.line = line
            self.kind = kind
            self.message = message
        }
    }

    public var file: String
    public var rows: [ClipResult] = []
    public var problems: [Problem] = []

    public init(file: String, rows: [ClipResult] = [], problems: [Problem] = []) {
        self.file = file
        self.rows = rows
        self.problems = problems
    }

    /// Lines that were not rows.
    public var skippedLines: Int { problems.filter { $0.kind == .skipped }.count }
    /// Earlier rows replaced by a later row of the same path.
    public var duplicates: Int { problems.filter { $0.kind == .duplicate }.count }

}

extension LoadedResults {
    /// Several results files (shards of one run) as one: rows in input order; a path scored in two
    /// inputs keeps the later row and names the earlier, as within one file.
    public static func merging(_ inputs: [LoadedResults]) -> LoadedResults {
        var merged = LoadedResults(file: inputs.map(\.file).joined(separator: ", "))
        var index: [String: (file: String, position: Int)] = [:]
        for input in inputs {
            merged.problems += input.problems
            for row in input.rows {
                if let earlier = index[row.path] {
                    merged.problems.append(.init(line: 0, kind: .duplicate, message: "\(row.path) is in \(earlier.file) and \(input.file); the row of \(input.file) is kept"))
                    merged.rows[earlier.position] = row
                    index[row.path] = (input.file, earlier.position)
                } else {
                    index[row.path] = (input.file, merged.rows.count)
                    merged.rows.append(row)
                }
            }
        }
        return merged
    }
}
