import Foundation
import GallopCore
import Synchronization

/// Appends rows to `clips.jsonl`, one line per clip, flushed as each is
/// written, so a crash or kill never loses a finished clip.
public final class ResultsFile: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    private struct Handle: @unchecked Sendable { var file: UnsafeMutablePointer<FILE>? }
    private let handle: Mutex<Handle>
    public let path: String

    /// Creates (or truncates) the file.
    public init(path: String) throws {
        guard let f = fopen(path, "w") else {
            throw Failure(message: "\(path): cannot write results: \(String(cString: strerror(errno)))")
        }
        self.path = path
        handle = Mutex(Handle(file: f))
    }

    public func append(_ row: ClipResult) throws {
        let line = row.json.serialized() + "\n"
        try handle.withLock { h in
            guard let f = h.file else { throw Failure(message: "\(path): already closed") }
            let ok = line.withCString { fputs($0, f) } >= 0 && fflush(f) == 0
            if !ok { throw Failure(message: "\(path): write failed: \(String(cString: strerror(errno)))") }
        }
    }

    public func close() {
        handle.withLock { h in
            if let f = h.file { fclose(f) }
            h.file = nil
        }
    }

    deinit { close() }

    /// Every row of a results file, in file order.
    public static func read(_ path: String) throws -> [ClipResult] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw Failure(message: "\(path): cannot read results (no such file?)")
        }
        var rows: [ClipResult] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            do {
                rows.append(try ClipResult(json: JSONParser.parse(String(line))))
            } catch {
                throw Failure(message: "\(path):\(n + 1): \(error)")
            }
        }
        return rows
    }
}

/// Scores many clips in parallel, writing each row as it finishes.
public struct Runner: Sendable {
    public let scorer: Scorer
    public let jobs: Int

    public init(scorer: Scorer, jobs: Int) {
        self.scorer = scorer
        self.jobs = max(1, jobs)
    }

    public struct Clip: Sendable {
        public let path: String
        public let relativePath: String
        public let name: ClipName
        public init(path: String, relativePath: String, name: ClipName) {
            self.path = path
            self.relativePath = relativePath
            self.name = name
        }
    }

    /// Scores `clips` on `jobs` worker threads, calling `sink` (serialised) for
    /// each result as it completes. Returns every result in input order, so
    /// summaries do not depend on `jobs`.
    public func run(_ clips: [Clip], sink: @Sendable (ClipResult, _ done: Int) throws -> Void) throws -> [ClipResult] {
        struct State {
            var next = 0
            var done = 0
            var results: [ClipResult?]
            var failure: Error?
        }
        let state = Mutex(State(results: Array(repeating: nil, count: clips.count)))
        let scorer = self.scorer
        let workers = min(jobs, max(1, clips.count))
        // Fewer clips than cores: each clip's flows may use the cores left over.
        let spareCores = max(1, ProcessInfo.processInfo.activeProcessorCount / workers)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let index: Int? = state.withLock { s in
                    guard s.failure == nil, s.next < clips.count else { return nil }
                    defer { s.next += 1 }
                    return s.next
                }
                guard let index else { return }
                let clip = clips[index]
                let result = scorer.score(path: clip.path, relativePath: clip.relativePath, name: clip.name, spareCores: spareCores)
                state.withLock { s in
                    s.results[index] = result
                    s.done += 1
                    do { try sink(result, s.done) } catch { s.failure = error }
                }
            }
        }
        return try state.withLock { s in
            if let failure = s.failure { throw failure }
            return s.results.compactMap { $0 }
        }
    }
}
