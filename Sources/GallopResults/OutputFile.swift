import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing the files a run leaves (clips.jsonl, the reports) with the system's
/// own reason when it cannot (`no space left on device`), never leaving a
/// file half written: a report goes to a temporary file renamed over the old
/// one, and ``ResultsFile`` takes back a row written in part.
public enum OutputFile {
    /// Writes bytes to a file descriptor: the count written, or minus the errno. The tests put a full disk here.
    typealias Writer = @Sendable (Int32, UnsafeRawBufferPointer) -> Int

    static let systemWrite: Writer = { fd, bytes in
        let n = Glibc.write(fd, bytes.baseAddress, bytes.count)
        return n < 0 ? -Int(errno) : n
    }

    /// Writes all of `bytes`, retrying short and interrupted writes; nil, or the errno that stopped it.
    static func writeAll(_ bytes: [UInt8], to fd: Int32, with writer: Writer) -> Int32? {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { writer(fd, UnsafeRawBufferPointer(rebasing: $0[done...])) }
            if n == -Int(EINTR) { continue }
            if n < 0 { return Int32(-n) }
            if n == 0 { return EIO }
            done += n
        }
        return nil
    }

    /// An errno in words, as the sentence's end: `no space left on device`.
    public static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        // "No space left on device" reads on after a colon in lower case; "I/O error" keeps its capitals.
        guard let first = text.first, let second = text.dropFirst().first, second.isLowercase else { return text }
        return first.lowercased() + text.dropFirst()
    }

    /// Writes `text` to `path` whole or not at all: into `path.partial`, renamed over `path` once complete.
    /// Throws a sentence naming `path` and the cause (`summary.json: cannot write: no space left on device`);
    /// the old file, if any, is then untouched.
    public static func write(_ text: String, to path: String) throws(ResultsError) {
        try write(text, to: path, with: systemWrite)
    }

    static func write(_ text: String, to path: String, with writer: Writer) throws(ResultsError) {
        let temporary = path + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ResultsError("\(path): cannot write: \(reason(errno))") }
        var failure = writeAll(Array(text.utf8), to: fd, with: writer)
        if close(fd) != 0, failure == nil { failure = errno }
        if failure == nil, rename(temporary, path) != 0 { failure = errno }
        if let failure {
            unlink(temporary)
            throw ResultsError("\(path): cannot write: \(reason(failure))")
        }
    }
}
