import Foundation
import GallopConfig
import GallopCore
@testable import GallopHarness
import GallopResults
import GallopTestSupport
import XCTest

/// The `gallop` binary built beside the tests (worker processes are this binary in worker mode).
enum GallopBinary {
    static var path: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("gallop").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/gallop").path
    }

    /// The test-only worker (Tests/GallopTestWorker) beside `gallop`: the real worker, failing on the clips named by
    /// GALLOP_TEST_CRASH, _STALL and _SLOW (the `gallop` binary reads none of them).
    static var testWorker: String {
        URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("gallop-test-worker").path
    }

    /// A pool of real workers scoring `metrics`, with the parent's scorer made the way `gallop score` makes it;
    /// `faults`: the workers are the test worker.
    static func pool(metrics: [String], jobs: Int = 1, clipTimeout: Double?, faults: Bool = false,
                     log: @escaping @Sendable (String) -> Void = { _ in }) throws -> WorkerPool {
        var config = Configuration()
        config.metrics = metrics
        let scorer = try Scorer(config: config.run())
        let command = [faults ? testWorker : path, "score", "--worker", "--metrics", metrics.joined(separator: ","), "."]
        return WorkerPool(command: command, scorer: scorer, jobs: jobs, clipTimeout: clipTimeout, log: log)
    }

    /// Runs `body` with `name` set in this process's environment (which the workers inherit).
    static func with<T>(_ name: String, _ value: String, _ body: () throws -> T) rethrows -> T {
        setenv(name, value, 1)
        defer { unsetenv(name) }
        return try body()
    }
}

/// What a ``Progress`` writes, line by line, with the time each came.
final class ProgressCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var captured: [(time: Date, text: String)] = []

    func write(_ text: String) {
        lock.lock()
        captured.append((Date(), text))
        lock.unlock()
    }

    var lines: [(time: Date, text: String)] {
        lock.lock()
        defer { lock.unlock() }
        return captured
    }
}

/// Issue 22, item 5: on a pipe the progress line comes on a clock, not when clips finish, and names a long clip.
final class ProgressClockTests: XCTestCase {
    func testDurationsAndLongClipsInWords() {
        XCTAssertEqual(Progress.duration(45), "45 s")
        XCTAssertEqual(Progress.duration(190), "3 min 10 s")
        XCTAssertEqual(Progress.duration(7500), "2 h 5 min")
        let now = Date()
        let running = ["a.mp4": now.addingTimeInterval(-190), "b.mp4": now.addingTimeInterval(-30), "c.mp4": now.addingTimeInterval(-62)]
        XCTAssertEqual(Progress.longRunning(running, now: now, longerThan: 60), "scoring a.mp4 for 3 min 10 s, c.mp4 for 1 min 2 s")
        XCTAssertEqual(Progress.longRunning(running, now: now, longerThan: 600), "")
    }

    /// No clip finishes: lines still come every `interval`, and name the clip once it has run longer than `longClip`.
    func testLinesComeWithoutAnyClipFinishing() {
        let capture = ProgressCapture()
        let progress = Progress(total: 3, terminal: false, interval: 0.2, longClip: 0.5) { capture.write($0) }
        let start = Date()
        progress.startTicking()
        progress.started("wan/cat-1.mp4")
        Thread.sleep(forTimeInterval: 1.5)
        progress.stop()
        let lines = capture.lines
        XCTAssertGreaterThanOrEqual(lines.count, 5, "\(lines.map(\.text))")
        XCTAssertTrue(lines.allSatisfy { $0.text.hasPrefix("gallop: [0/3]") && $0.text.hasSuffix("\n") }, "\(lines.map(\.text))")
        let late = lines.filter { $0.time.timeIntervalSince(start) > 0.8 }
        XCTAssertFalse(late.isEmpty)
        XCTAssertTrue(late.allSatisfy { $0.text.contains("; scoring wan/cat-1.mp4 for ") }, "\(late.map(\.text))")
        XCTAssertFalse(lines.first?.text.contains("scoring") ?? true, "a clip is named only after longClip: \(lines.map(\.text))")
        let count = capture.lines.count
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(capture.lines.count, count, "no line after stop()")
    }

    /// A clip that stalls its (test) worker (GALLOP_TEST_STALL) until the clip timeout, twice: the lines keep coming through
    /// the whole stall, at most `interval` (plus scheduling) apart, and name the stalled clip.
    func testAStalledWorkerStillGetsProgressLines() throws {
        let dir = TempDir()
        try Clips.write(dir.file("m/p0-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        try Clips.write(dir.file("m/p1-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double(2 * $0)) })
        let clips = try Discovery.runnerClips(in: dir.path)
        let capture = ProgressCapture()
        let progress = Progress(total: clips.count, terminal: false, interval: 0.25, longClip: 1) { capture.write($0) }
        let pool = try GallopBinary.pool(metrics: ["frame_diff"], clipTimeout: 2, faults: true)
        let start = Date()
        progress.startTicking()
        let rows = try GallopBinary.with("GALLOP_TEST_STALL", "m/p0-1.mkv") {
            try pool.run(clips, started: { progress.started($0.relativePath) }) { row, done in
                progress.update(done: done, failed: row.status == .error, path: row.path)
            }
        }
        progress.stop()
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(rows.map(\.status), [.error, .ok])
        XCTAssertGreaterThanOrEqual(elapsed, 4, "two clip timeouts of 2 s")
        let lines = capture.lines
        let times = [start] + lines.map(\.time)
        let longestGap = zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? 0
        XCTAssertLessThan(longestGap, 1.0, "a line at least every 0.25 s (plus scheduling): \(lines.map(\.text))")
        XCTAssertGreaterThanOrEqual(lines.count, 10, "\(lines.map(\.text))")
        XCTAssertTrue(lines.contains { $0.text.contains("[0/2]") && $0.text.contains("; scoring m/p0-1.mkv for 1 s") }, "\(lines.map(\.text))")
        XCTAssertTrue(lines.contains { $0.text.contains("; scoring m/p0-1.mkv for 3 s") }, "named through the retry: \(lines.map(\.text))")
        let last = try XCTUnwrap(lines.last?.text)
        XCTAssertTrue(last.hasPrefix("gallop: [2/2]") && last.hasSuffix(", 1 failed\n") && !last.contains("scoring"), last)
    }
}

/// Issue 22, item 6: no open of a clip blocks the parent; a clip whose open blocks in the worker meets the clip timeout.
final class BlockingOpenTests: XCTestCase {
    /// Runs `body` on a thread of its own and waits at most `seconds`; nil when it did not return in time (it blocked).
    func within<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () throws -> T) -> Result<T, Error>? {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        Thread { box.value = Result { try body() }; done.signal() }.start()
        return done.wait(timeout: .now() + seconds) == .success ? box.value : nil
    }

    final class ResultBox<T>: @unchecked Sendable { var value: Result<T, Error>? }

    /// Opens `fifo` for writing (which never blocks with O_RDWR) and closes it: a reader blocked in its open goes on.
    func release(_ fifo: String) {
        let fd = open(fifo, O_RDWR | O_NONBLOCK)
        if fd >= 0 { usleep(100_000); close(fd) }
    }

    func testAFIFONamedLikeAClipHasNoContentKeyAndNoThumbnailsAndDoesNotBlock() throws {
        let dir = TempDir()
        let fifo = dir.file("m/fifo-1.mp4")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        defer { release(fifo) }
        guard case .success(let key)? = within(10, { ContentKey.of(fifo) }) else { return XCTFail("ContentKey.of blocked on a FIFO") }
        XCTAssertEqual(key, "")
        let clip = ClipResult(path: "m/fifo-1.mp4", name: ClipName(model: "m", prompt: "fifo", seed: 1), status: .ok)
        let folder = dir.path
        guard case .success(let thumbnails)? = within(10, { ClipThumbnails(folder: folder).thumbnails(of: clip, at: [0], maxWidth: 64) }) else {
            return XCTFail("the thumbnails blocked on a FIFO")
        }
        XCTAssertEqual(thumbnails.problem, "m/fifo-1.mp4: \(fifo) is not a regular file")
        // A regular file still has its key.
        try Clips.write(dir.file("m/real-1.mkv"), (0..<3).map { Planes.texture(32, 32, dx: Double($0)) })
        XCTAssertTrue(ContentKey.of(dir.file("m/real-1.mkv")).hasPrefix("size:"))
    }

    /// A FIFO handed to a worker (past discovery) is an error row at once, opened by no one, and the next clip is
    /// scored (a worker that blocks before its first frame meets the clip timeout: CLITests' GALLOP_TEST_STALL).
    func testAFIFOHandedToAWorkerIsAnErrorRowAndBlocksNoOne() throws {
        let dir = TempDir()
        let fifo = dir.file("m/fifo-1.mp4")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        defer { release(fifo) }
        try Clips.write(dir.file("m/real-1.mkv"), (0..<4).map { Planes.texture(48, 32, dx: Double($0)) })
        let clips = [
            Runner.Clip(path: fifo, relativePath: "m/fifo-1.mp4", name: ClipName(model: "m", prompt: "fifo", seed: 1)),
            Runner.Clip(path: dir.file("m/real-1.mkv"), relativePath: "m/real-1.mkv", name: ClipName(model: "m", prompt: "real", seed: 1)),
        ]
        let pool = try GallopBinary.pool(metrics: ["frame_diff"], clipTimeout: 1)
        let start = Date()
        guard case .success(let rows)? = within(60, { try pool.run(clips) { _, _ in } }) else {
            return XCTFail("the run blocked on a FIFO past its clip timeout")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertEqual(rows.map(\.status), [.error, .ok])
        XCTAssertEqual(rows[0].error, "\(fifo): cannot be read as a video container: it is a FIFO, not a regular file")
        XCTAssertEqual(rows[0].contentKey, "")
        // In process too (no clip timeout there).
        let inProcess = within(60, { try Runner(scorer: pool.scorer, jobs: 1).run(clips) { _, _ in } })
        guard case .success(let threadRows)? = inProcess else { return XCTFail("a FIFO blocked the in-process run") }
        XCTAssertEqual(threadRows.map(\.error), rows.map(\.error))
    }
}
