import Dispatch
import Foundation
import GallopCore
import GallopResults
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Scores clips in long-lived child processes (the `gallop` binary in worker
/// mode), so a decoder or metric that crashes, runs out of memory or hangs
/// costs one clip, not the run.
///
/// Protocol, one JSON object a line: the worker writes a greeting with its
/// config fingerprint, then reads tasks on standard input and answers each
/// with the clip's row (preceded by `{"thumbnails":{…}}`, the frames kept for
/// report.html, when there are any), sending `{"alive":N}` (N frames scored) at most four
/// times a second while it works. A worker that dies, or goes `clipTimeout` seconds
/// without a frame scored, is killed and replaced; the clip is tried once more in a fresh worker, then
/// becomes an error row naming the signal or the timeout. Rows are the ones
/// the in-process ``Runner`` writes.
public struct WorkerPool: Sendable {
    /// Executable and arguments that start one worker.
    public let command: [String]
    /// The parent's scorer: its fingerprint must be the workers', and it writes the rows of clips that never finish.
    public let scorer: Scorer
    public let jobs: Int
    /// Seconds a clip may go without a frame scored (nil: no limit): a hang, not a long clip.
    public let clipTimeout: Double?
    /// Where notices of dead and replaced workers go.
    public let log: @Sendable (String) -> Void

    /// The clip timeout `gallop score` uses unless told otherwise (10 min without a frame).
    public static let defaultClipTimeout = 600.0

    public init(command: [String], scorer: Scorer, jobs: Int, clipTimeout: Double?, log: @escaping @Sendable (String) -> Void) {
        self.command = command
        self.scorer = scorer
        self.jobs = max(1, jobs)
        self.clipTimeout = clipTimeout
        self.log = log
    }

    /// As ``Runner/run(_:started:sink:)``: `started` is told each clip as it is sent to a worker, `sink` (serialised)
    /// sees each row as it completes; rows come back in input order.
    public func run(_ clips: [Runner.Clip], started: @Sendable (Runner.Clip) -> Void = { _ in },
                    sink: @Sendable (ClipResult, _ done: Int) throws -> Void) throws -> [ClipResult] {
        // A worker that has died leaves a broken pipe: writing to it must be an error, not a signal that ends the run.
        signal(SIGPIPE, SIG_IGN)
        LiveWorkers.killOnTermination()
        let slots = min(jobs, max(1, clips.count))
        let spareCores = max(1, ProcessInfo.processInfo.activeProcessorCount / slots)
        let pool = self
        // When the sink fails (the results cannot be written) the run stops: the clips in progress are not waited for.
        let stop = StopFlag()
        let stopping: @Sendable (ClipResult, Int) throws -> Void = { row, done in
            do { try sink(row, done) } catch {
                stop.flag.store(true, ordering: .sequentiallyConsistent)
                throw error
            }
        }
        // Each slot keeps one worker from clip to clip.
        return try Runner.queue(clips.count, slots: slots, slot: { () -> Worker? in nil }, started: { started(clips[$0]) }, sink: stopping) { index, worker in
            try pool.score(clips[index], spareCores: spareCores, worker: &worker, stop: stop)
        }
    }

    /// Set when the run stops early; a worker still scoring is then killed, and its clip is not tried again.
    final class StopFlag: Sendable {
        let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .sequentiallyConsistent) }
    }

    /// One clip: in `worker` (started when nil), once more in a fresh worker if that one fails.
    private func score(_ clip: Runner.Clip, spareCores: Int, worker: inout Worker?, stop: StopFlag) throws -> ClipResult {
        let task = JSONValue.object([
            ("path", .string(clip.path)),
            ("relative_path", .string(clip.relativePath)),
            ("model", .string(clip.name.model)),
            ("prompt", .string(clip.name.prompt)),
            ("seed", clip.name.seed.map { .int($0) } ?? .null),
            ("spare_cores", .int(spareCores)),
        ]).serialized()
        var failures: [String] = []
        // The row of a clip the run stopped before it was scored (the sink takes no row once the run has stopped).
        let unscored = { scorer.failedRow(path: clip.path, relativePath: clip.relativePath, name: clip.name, error: "\(clip.path): not scored, the run stopped") }
        while true {
            if stop.isSet { return unscored() }
            let current = try worker ?? Worker(command: command, fingerprint: scorer.config.fingerprint)
            worker = current
            switch current.score(task: task, timeout: clipTimeout, stop: { stop.isSet }) {
            case .row(let row):
                return row
            case .failed(let reason):
                // The parent is being stopped (its handler killed this worker): no notice, no fresh worker; it exits now.
                while LiveWorkers.stopping.load(ordering: .sequentiallyConsistent) { pause() }
                worker = nil
                if stop.isSet { return unscored() }
                failures.append(reason)
                if failures.count == 1 {
                    log("the worker scoring \(clip.path) \(reason); trying the clip once more in a fresh worker")
                } else {
                    let twice = failures[0] == failures[1] ? "\(reason), twice" : "\(failures[0]), then \(reason)"
                    return scorer.failedRow(path: clip.path, relativePath: clip.relativePath, name: clip.name,
                                            error: "\(clip.path): the worker scoring it \(twice)")
                }
            }
        }
    }
}

/// One worker process, greeted and ready for tasks. Killed and reaped in deinit.
final class Worker {
    private let process: ChildProcess

    enum Outcome { case row(ClipResult), failed(String) }

    /// Starts a worker and waits for its greeting (a worker that cannot start ends the run: every clip would fail the same way).
    init(command: [String], fingerprint: String) throws(WorkerError) {
        process = try ChildProcess(arguments: command)
        switch process.readLine(timeout: 120) {
        case .line(let line):
            guard let hello = try? JSONParser.parse(line), let theirs = hello["gallop_worker"]?["fingerprint"]?.stringValue else {
                throw WorkerError("a worker process did not greet as a gallop worker (it said: \(line.prefix(200)))")
            }
            guard theirs == fingerprint else {
                throw WorkerError("a worker process scores with config \(theirs), not this run's \(fingerprint)")
            }
        case .closed:
            throw WorkerError("a worker process \(process.reap()) before it was ready (command: \(command.joined(separator: " ")))")
        case .timedOut, .stopped:
            throw WorkerError("a worker process was not ready after 120 s")
        }
    }

    /// Sends one task and waits for its row, at most `timeout` seconds without a sign of life, and no longer than `stop` is false.
    func score(task: String, timeout: Double?, stop: @escaping () -> Bool = { false }) -> Outcome {
        guard process.send(task + "\n") else { return .failed(process.reap()) }
        var kept: KeptFrames?
        while true {
            switch process.readLine(timeout: timeout, stop: stop) {
            case .line(let line):
                if line.hasPrefix(Worker.alive) { continue }
                if line.hasPrefix(Worker.thumbnails) {
                    // Frames that cannot be read are left out: the report decodes them from the clip.
                    kept = (try? JSONParser.parse(line)).flatMap { $0["thumbnails"] }.flatMap { try? KeptFrames(json: $0) }
                    continue
                }
                do {
                    var row = try ClipResult(json: JSONParser.parse(line))
                    if let kept, kept.belongs(to: row) { row.keptFrames = kept }
                    return .row(row)
                } catch {
                    process.kill()
                    return .failed("sent a row that cannot be read (\(error))")
                }
            case .closed:
                return .failed(process.reap())
            case .timedOut:
                process.kill()
                _ = process.reap()
                return .failed("went \(Worker.seconds(timeout ?? 0)) without scoring a frame (the clip timeout)")
            case .stopped:
                process.kill()
                _ = process.reap()
                return .failed("was stopped with the run")
            }
        }
    }

    /// How a worker's sign of life starts.
    static let alive = #"{"alive":"#
    /// How the line of a clip's kept frames (``KeptFrames``) starts; it comes just before the row.
    static let thumbnails = #"{"thumbnails":"#

    static func seconds(_ t: Double) -> String {
        t == t.rounded() ? "\(Int(t)) s" : String(format: "%g s", t)
    }
}

/// Why worker processes could not be used at all.
public struct WorkerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A child process with a pipe to its standard input and one from its standard
/// output (standard error is shared). The one owner of its pid and both pipe
/// ends: deinit closes them, kills the child if it still runs, and reaps it.
final class ChildProcess {
    let pid: pid_t
    private var input: Int32
    private var output: Int32
    private var pending: [UInt8] = []
    private var status: Int32?

    /// Pipes are made and marked close-on-exec under this lock, so no sibling worker spawned meanwhile
    /// inherits them (a dead worker's pipe held open by a sibling would never report its end).
    private static let spawning = Mutex(())

    init(arguments: [String]) throws(WorkerError) {
        var toChild: [Int32] = [-1, -1], fromChild: [Int32] = [-1, -1]
        var spawned: pid_t?
        let rc: Int32 = ChildProcess.spawning.withLock { _ in
            guard pipe(&toChild) == 0 else { return errno }
            guard pipe(&fromChild) == 0 else {
                close(toChild[0]); close(toChild[1])
                return errno
            }
            for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
            posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            defer { for a in argv { free(a) } }
            var child: pid_t = 0
            let rc = posix_spawn(&child, arguments[0], &actions, nil, &argv, environ)
            close(toChild[0])
            close(fromChild[1])
            if rc != 0 {
                close(toChild[1]); close(fromChild[0])
            } else {
                spawned = child
            }
            return rc
        }
        guard rc == 0, let child = spawned else {
            throw WorkerError("cannot start a worker process \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        LiveWorkers.add(child)
        pid = child
        input = toChild[1]
        output = fromChild[0]
    }

    deinit {
        if input >= 0 { close(input) }
        if output >= 0 { close(output) }
        if status == nil {
            Glibc.kill(pid, SIGKILL)
            _ = reap()
        }
    }

    /// Writes all of `text`; false when the child has gone.
    func send(_ text: String) -> Bool { ChildProcess.write(text, to: input) }

    /// Writes all of `text` to `fd`, retrying short and interrupted writes; false when the reader has gone.
    static func write(_ text: String, to fd: Int32) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            bytes = bytes.dropFirst(n)
        }
        return true
    }

    enum Line { case line(String), closed, timedOut, stopped }

    /// The next line from the child's standard output, waiting at most `timeout` seconds (nil: forever);
    /// `stop` is asked ten times a second, and ends the wait when it is true.
    func readLine(timeout: Double?, stop: (() -> Bool)? = nil) -> Line {
        let deadline = timeout.map { DispatchTime.now().uptimeNanoseconds + UInt64(max(0, $0) * 1e9) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return .line(line)
            }
            var wait: Int32 = -1
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { return .timedOut }
                wait = Int32(min(Double(Int32.max), Double(deadline - now) / 1e6).rounded(.up))
            }
            if stop != nil { wait = wait < 0 ? 100 : min(wait, 100) }
            var fd = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&fd, 1, wait)
            if ready < 0 {
                if errno == EINTR { continue }
                return .closed
            }
            if ready == 0 {
                if stop?() == true { return .stopped }
                continue
            }
            let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return .closed }
            pending += chunk[..<n]
        }
    }

    func kill() {
        if status == nil { Glibc.kill(pid, SIGKILL) }
    }

    /// Waits for the child to end; how it ended, as "was killed by signal 9 (SIGKILL…)" or "exited with status 3".
    @discardableResult
    func reap() -> String {
        if status == nil {
            // Forgotten before it is reaped: until then the pid cannot be reused, so the signal handler never kills another process.
            LiveWorkers.remove(pid)
            var s: Int32 = 0
            while waitpid(pid, &s, 0) < 0 && errno == EINTR {}
            status = s
        }
        return ChildProcess.describe(status: status ?? 0)
    }

    /// A wait status in words (the WIFSIGNALED and WEXITSTATUS macros, which Swift cannot import).
    static func describe(status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT",
            SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE", SIGTERM: "SIGTERM", SIGXCPU: "SIGXCPU",
        ]
        if signal == SIGKILL { return "was killed by signal 9 (SIGKILL: out of memory, or killed from outside)" }
        return "was killed by signal \(signal)" + (names[signal].map { " (\($0))" } ?? "")
    }
}

/// The worker's side: greet, then score each task read from standard input and answer with its row.
public enum WorkerLoop {
    /// Serves tasks until standard input ends. Returns the exit status.
    public static func serve(scorer: Scorer) -> Int32 {
        // A parent that ends any way at all (SIGKILL included) takes its workers with it. Should the parent be gone
        // already, the greeting below fails on the broken pipe and the worker ends there.
        dieWithParent()
        // Rows go out on a private copy of standard output; anything else printed lands on standard error.
        let rows = dup(1)
        guard rows >= 0, dup2(2, 1) >= 0 else { return 2 }
        func answer(_ value: JSONValue) -> Bool { ChildProcess.write(value.serialized() + "\n", to: rows) }
        guard answer(.object([("gallop_worker", .object([("fingerprint", .string(scorer.config.fingerprint))]))])) else { return 2 }
        while let line = readLine() {
            guard let task = try? JSONParser.parse(line), let path = task["path"]?.stringValue,
                  let relative = task["relative_path"]?.stringValue else { return 2 }
            let name = ClipName(model: task["model"]?.stringValue ?? "default", prompt: task["prompt"]?.stringValue ?? relative,
                                seed: task["seed"]?.intValue)
            var frames = 0, last = DispatchTime.now().uptimeNanoseconds
            let row = scorer.score(path: path, relativePath: relative, name: name, spareCores: task["spare_cores"]?.intValue ?? 1) {
                frames += 1
                let now = DispatchTime.now().uptimeNanoseconds
                if now - last >= 250_000_000 {
                    last = now
                    _ = answer(.object([("alive", .int(frames))]))
                }
            }
            // The frames kept for the report go first, on a line of their own; the row ends the answer.
            if let kept = row.keptFrames, !answer(.object([("thumbnails", kept.json)])) { return 0 }
            guard answer(row.json) else { return 0 }
        }
        return 0
    }

    /// `prctl(PR_SET_PDEATHSIG, SIGKILL)`: the kernel kills this process when the thread that started it ends.
    /// The pool's threads outlive their workers (each kills and reaps its worker before it returns), so that
    /// thread ends only with the parent. Called through `dlsym`, as Swift does not import variadic C functions.
    static func dieWithParent() {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        let setParentDeathSignal: Int32 = 1  // PR_SET_PDEATHSIG in <linux/prctl.h>
        guard let symbol = dlsym(nil, "prctl") else { return }
        _ = unsafeBitCast(symbol, to: Prctl.self)(setParentDeathSignal, UInt(SIGKILL), 0, 0, 0)
    }
}

/// The pids of the worker processes alive now, so that a parent stopped by SIGTERM, SIGINT or SIGHUP kills its
/// workers before it exits (with 128 + the signal, as a shell reports a process the signal ended), and no worker
/// is left scoring, or blocked in a clip's open, for a parent that is gone. Slots are atomics, not a lock: a
/// signal handler may not take a lock, and may only call async-signal-safe functions (kill, waitpid, write, _exit).
enum LiveWorkers {
    static let capacity = 1024
    /// Free slots hold 0. Allocated once and never freed.
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<Atomic<Int32>> = {
        let slots = UnsafeMutablePointer<Atomic<Int32>>.allocate(capacity: capacity)
        for i in 0..<capacity { (slots + i).initialize(to: Atomic(0)) }
        return slots
    }()
    /// `gallop: stopped by SIGTERM; ...` for each signal handled, made before any handler can run.
    nonisolated(unsafe) static let notices: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let notices = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 65)
        notices.initialize(repeating: nil, count: 65)
        for (signal, name) in handled {
            // On a terminal the updating progress line is cleared first.
            notices[Int(signal)] = strdup((isatty(2) != 0 ? "\r\u{1B}[K" : "") + "gallop: stopped by \(name); its worker processes were killed; the rows written are kept, and the same command resumes from them\n")
        }
        return notices
    }()
    static let handled: [(Int32, String)] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGHUP, "SIGHUP")]
    private static let installed = Mutex(false)
    /// Set by the handler before it kills the workers, so the pool neither reports their deaths nor replaces them.
    static let stopping = Atomic<Bool>(false)

    static func add(_ pid: pid_t) {
        for i in 0..<capacity where slots[i].compareExchange(expected: 0, desired: pid, ordering: .sequentiallyConsistent).exchanged { return }
    }

    static func remove(_ pid: pid_t) {
        for i in 0..<capacity where slots[i].compareExchange(expected: pid, desired: 0, ordering: .sequentiallyConsistent).exchanged { return }
    }

    /// Installs the handlers, once; a signal the process was started ignoring (`nohup`'s SIGHUP) stays ignored.
    static func killOnTermination() {
        installed.withLock { done in
            guard !done else { return }
            done = true
            _ = slots
            _ = notices
            _ = stopping.load(ordering: .sequentiallyConsistent)
            for (signal, _) in handled {
                let previous = Glibc.signal(signal, handler)
                if unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { _ = Glibc.signal(signal, SIG_IGN) }
            }
        }
    }

    private static let handler: @convention(c) (Int32) -> Void = { signal in
        LiveWorkers.stopping.store(true, ordering: .sequentiallyConsistent)
        for i in 0..<LiveWorkers.capacity {
            let pid = LiveWorkers.slots[i].load(ordering: .sequentiallyConsistent)
            if pid > 0 { Glibc.kill(pid, SIGKILL) }
        }
        // Reaped here, so none is left even as a zombie for an init that does not reap; for at most a second in all,
        // as a worker stuck in the kernel (a hung network file system) dies only when its I/O ends.
        var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
        var rounds = 0
        for i in 0..<LiveWorkers.capacity {
            let pid = LiveWorkers.slots[i].load(ordering: .sequentiallyConsistent)
            guard pid > 0 else { continue }
            while waitpid(pid, nil, WNOHANG) == 0, rounds < 100 {
                rounds += 1
                nanosleep(&pause, nil)
            }
        }
        if signal >= 0, signal < 65, let notice = LiveWorkers.notices[Int(signal)] { _ = Glibc.write(2, notice, strlen(notice)) }
        _exit(128 + signal)
    }
}
