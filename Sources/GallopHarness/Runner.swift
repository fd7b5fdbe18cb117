import Foundation
import GallopCore
import GallopResults

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

    /// Scores `clips` on `jobs` worker threads, calling `started` as each clip starts and `sink` (serialised) for
    /// each result as it completes. Returns every result in input order, so
    /// summaries do not depend on `jobs`.
    public func run(_ clips: [Clip], started: @Sendable (Clip) -> Void = { _ in },
                    sink: @Sendable (ClipResult, _ done: Int) throws -> Void) throws -> [ClipResult] {
        let scorer = self.scorer
        let workers = min(jobs, max(1, clips.count))
        // Fewer clips than cores: each clip's flows may use the cores left over.
        let spareCores = max(1, ProcessInfo.processInfo.activeProcessorCount / workers)
        return try Runner.queue(clips.count, slots: workers, slot: {}, started: { started(clips[$0]) }, sink: sink) { index, _ in
            let clip = clips[index]
            return scorer.score(path: clip.path, relativePath: clip.relativePath, name: clip.name, spareCores: spareCores)
        }
    }

    /// Items 0..<count scored on `slots` threads, each with its own state made by `slot`, taking the next item
    /// as it finishes one; `started` is told each item as a thread takes it, and `sink` (serialised) sees each
    /// result as it completes. Returns the results in item order.
    /// An error from `score` or `sink` stops the queue: no item is started after it, and it is thrown.
    static func queue<SlotState>(_ count: Int, slots: Int, slot: @Sendable () -> SlotState,
                                 started: @Sendable (Int) -> Void = { _ in },
                                 sink: @Sendable (ClipResult, _ done: Int) throws -> Void,
                                 score: @Sendable (Int, inout SlotState) throws -> ClipResult) throws -> [ClipResult] {
        let state = QueueState(count: count)
        DispatchQueue.concurrentPerform(iterations: slots) { _ in
            var local = slot()
            while true {
                let index: Int? = state.withLock { s in
                    guard s.failure == nil, s.next < count else { return nil }
                    defer { s.next += 1 }
                    return s.next
                }
                guard let index else { return }
                started(index)
                do {
                    let result = try score(index, &local)
                    state.withLock { s in
                        s.results[index] = result
                        s.done += 1
                        // After a failure (the results cannot be written) no row goes to the sink: the first error is the one thrown.
                        guard s.failure == nil else { return }
                        do { try sink(result, s.done) } catch { s.failure = error }
                    }
                } catch {
                    state.withLock { s in s.failure = s.failure ?? error }
                    return
                }
            }
        }
        return try state.withLock { s in
            if let failure = s.failure { throw failure }
            return s.results.compactMap { $0 }
        }
    }
}

/// What the threads of ``Runner/queue(_:slots:slot:sink:score:)`` share, behind an NSLock (ThreadSanitizer
/// cannot see Synchronization.Mutex's futex hand-over on Linux and reports its bodies as races).
private final class QueueState: @unchecked Sendable {
    private let lock = NSLock()
    var next = 0
    var done = 0
    var results: [ClipResult?]
    var failure: Error?

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func withLock<T>(_ body: (QueueState) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(self)
    }
}
