import Foundation
import GallopCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Appends rows to `clips.jsonl`, one line per clip, each written whole as
/// its clip is scored, so a crash or kill never loses a finished clip.
/// A write that fails (a full disk) is taken back to the end of the last
/// whole row and stops the file: the rows before it stay intact, with no half
/// line after them.
public final class ResultsFile: Sendable {
    private struct Handle: Sendable {
        var fd: Int32
        /// Where the last whole row ends.
        var length: Int64
        var rows: Int
        var failure: ResultsError?
    }
    private let handle: Mutex<Handle>
    private let writer: OutputFile.Writer
    public let path: String

    /// Creates (or truncates) the file, and writes `rows` first (a resumed run's kept rows).
    /// The kept rows go to a temporary file renamed over the old one, so a kill never loses them.
    public convenience init(path: String, startingWith rows: [ClipResult] = []) throws(ResultsError) {
        try self.init(path: path, startingWith: rows, writer: OutputFile.systemWrite)
    }

    convenience init(path: String, startingWith rows: [ClipResult], writer: @escaping OutputFile.Writer) throws(ResultsError) {
        try self.init(path: path, startingWithLines: rows.map { $0.json.serialized() }, writer: writer)
    }

    /// As ``init(path:startingWith:)`` for any file of JSON lines (`thumbnails.jsonl`, ``KeptFrames``):
    /// `lines` (each one whole line, without its newline) first, then ``append(line:)``.
    public convenience init(path: String, startingWithLines lines: [String]) throws(ResultsError) {
        try self.init(path: path, startingWithLines: lines, writer: OutputFile.systemWrite)
    }

    init(path: String, startingWithLines rows: [String], writer: @escaping OutputFile.Writer) throws(ResultsError) {
        if !rows.isEmpty {
            let temporary = path + ".resume"
            let fd = try ResultsFile.openRegular(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
            var failure = OutputFile.writeAll(Array(rows.map { $0 + "\n" }.joined().utf8), to: fd, with: writer)
            if Glibc.close(fd) != 0, failure == nil { failure = errno }
            if failure == nil, rename(temporary, path) != 0 { failure = errno }
            if let failure {
                unlink(temporary)
                throw ResultsError("\(path): cannot write results: \(OutputFile.reason(failure)) (the file is as it was)")
            }
        }
        let fd = try ResultsFile.openRegular(path, O_WRONLY | O_CREAT | O_CLOEXEC | (rows.isEmpty ? O_TRUNC : O_APPEND))
        self.path = path
        self.writer = writer
        handle = Mutex(Handle(fd: fd, length: max(0, Int64(lseek(fd, 0, SEEK_END))), rows: rows.count))
    }

    /// Opens `path` (created when missing) for writing, refusing a FIFO or socket: the open of a FIFO with no
    /// reader would wait forever, so it is opened non-blocking (no reader: ENXIO) and checked before a byte is
    /// written, then set back to blocking writes. A regular file or a device (`/dev/full` stands for a full disk) is written.
    static func openRegular(_ path: String, _ flags: Int32) throws(ResultsError) -> Int32 {
        let fd = open(path, flags | O_NONBLOCK, 0o644)
        guard fd >= 0 else {
            let code = errno
            throw ResultsError("\(path): cannot write results: " + (code == ENXIO ? "not a regular file" : OutputFile.reason(code)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG || info.st_mode & S_IFMT == S_IFCHR else {
            Glibc.close(fd)
            throw ResultsError("\(path): cannot write results: not a regular file")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// Writes `row` as one line. After a failure every call throws that failure again.
    public func append(_ row: ClipResult) throws(ResultsError) {
        try append(line: row.json.serialized())
    }

    /// Writes one whole line (`text` holds no newline), or none of it.
    public func append(line text: String) throws(ResultsError) {
        let line = Array((text + "\n").utf8)
        let path = self.path, writer = self.writer
        let failure: ResultsError? = handle.withLock { h in
            if let failure = h.failure { return failure }
            guard h.fd >= 0 else { return ResultsError("\(path): already closed") }
            if let code = OutputFile.writeAll(line, to: h.fd, with: writer) {
                // Part of the line may be in the file: cut it back to the last whole row.
                _ = ftruncate(h.fd, off_t(h.length))
                h.failure = ResultsError("\(path): cannot write results: \(OutputFile.reason(code)) (the \(h.rows) row\(h.rows == 1 ? "" : "s") before it are kept whole; the same command resumes from them)")
                return h.failure
            }
            h.length += Int64(line.count)
            h.rows += 1
            return nil
        }
        if let failure { throw failure }
    }

    public func close() {
        handle.withLock { h in
            if h.fd >= 0 { Glibc.close(h.fd) }
            h.fd = -1
        }
    }

    deinit { close() }

    /// The results file of `path`: its `clips.jsonl` when it is a folder, else the file itself.
    public static func locate(_ path: String) -> String {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue ? path + "/clips.jsonl" : path
    }

    /// Reads a results file without losing data: a line that is not a row (a
    /// truncated last line, garbage) is skipped with a problem naming its line
    /// number; when a path occurs twice the last row is kept and the earlier
    /// line is named. Throws only when the file cannot be read at all, or is
    /// not a regular file (a FIFO would block the read, `/dev/zero` never end it).
    ///
    /// `lean` leaves out each row's `frame_times` and `extras` but for the
    /// entries of the metrics in `keepingExtras`, without their series: what a
    /// reader of the numbers and of a derived value's source (the gate, for
    /// `camera_agreement`: the caller's catalogue names the metric) needs, at a
    /// fraction of the memory and time.
    public static func read(_ path: String, lean: Bool = false, keepingExtras: [String] = []) throws(ResultsError) -> LoadedResults {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw ResultsError("\(path): cannot read results: not a regular file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ResultsError("\(path): cannot read results (no such file?)")
        }
        return data.withUnsafeBytes { parse(bytes: $0.bindMemory(to: UInt8.self), file: path, lean: lean, keepingExtras: keepingExtras) }
    }

    /// As ``read(_:lean:keepingExtras:)``, on text already in memory (`file` names it in problems).
    public static func parse(_ text: String, file: String, lean: Bool = false, keepingExtras: [String] = []) -> LoadedResults {
        Array(text.utf8).withUnsafeBufferPointer { parse(bytes: $0, file: file, lean: lean, keepingExtras: keepingExtras) }
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>, file: String, lean: Bool, keepingExtras: [String]) -> LoadedResults {
        var loaded = LoadedResults(file: file)
        var rowsByPath: [String: (line: Int, row: ClipResult)] = [:]
        var order: [String] = []
        var lineNumber = 0
        let skipping: [[String]] = !lean ? [] : keepingExtras.isEmpty ? [["frame_times"], ["extras"]]
            : [["frame_times"], ["extras", "!" + keepingExtras.joined(separator: "|")]] + keepingExtras.map { ["extras", $0, "series"] }
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
