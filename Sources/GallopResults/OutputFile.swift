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
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            // Not a regular file (`/dev/stdout`, a FIFO, a device, or a link to one): written in place, since a
            // file renamed over it would replace the device or the link.
            if info.st_mode & S_IFMT == S_IFDIR { throw ResultsError("\(path): cannot write: it is a folder") }
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ResultsError("\(path): cannot write: \(reason(errno))") }
            var failure = writeAll(Array(text.utf8), to: fd, with: writer)
            if close(fd) != 0, failure == nil { failure = errno }
            if let failure { throw ResultsError("\(path): cannot write: \(reason(failure))") }
            return
        }
        // A link to a file: the file is replaced and the link kept.
        let target = linkTarget(path) ?? path
        let temporary = target + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ResultsError("\(path): cannot write: \(reason(errno))") }
        var failure = writeAll(Array(text.utf8), to: fd, with: writer)
        if close(fd) != 0, failure == nil { failure = errno }
        if failure == nil, rename(temporary, target) != 0 { failure = errno }
        if let failure {
            unlink(temporary)
            throw ResultsError("\(path): cannot write: \(reason(failure))")
        }
    }

    /// The file a chain of symbolic links at `path` ends in (relative links read from their own folder), or nil
    /// when `path` is no link. Forty links at most, as the kernel allows.
    static func linkTarget(_ path: String) -> String? {
        var current = path
        for _ in 0..<40 {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { return current == path ? nil : current }
            let link = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if link.hasPrefix("/") {
                current = link
            } else {
                let folder = (current as NSString).deletingLastPathComponent
                current = folder.isEmpty ? link : folder + "/" + link
            }
        }
        return current
    }
}
