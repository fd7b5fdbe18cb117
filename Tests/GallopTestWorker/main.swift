// gallop-test-worker: a `gallop score --worker` that fails on purpose, for the tests of worker failures.
//
// The `gallop` binary holds no fault injection: a stray environment variable must not make a production worker
// kill itself or hang. This test-only executable stands where the pool expects a worker (the tests pass it with
// `gallop score --worker-executable`, or put it in a WorkerPool's command). It starts the real worker, the `gallop`
// binary beside it with the same arguments, and relays the protocol both ways (tasks in, greeting, signs of life
// and rows out), injecting faults at that boundary, which is all the pool sees of a worker:
//
//   GALLOP_TEST_CRASH=REL          SIGKILL itself when given the clip at relative path REL.
//   GALLOP_TEST_STALL=REL[:MARKER] hang on REL (600 s) without a sign of life; with MARKER, only the first worker to
//                                  get there hangs, and writes its pid to MARKER (created exclusively) first.
//   GALLOP_TEST_SLOW=REL           a clip that takes 0.2 s a frame: REL's row is held back, and one sign of life is
//                                  sent every 0.2 s for each of its frames before it.
//
// The real worker ends with this process: both set PR_SET_PDEATHSIG, so when the pool (or a test) kills this
// process, its worker gets SIGKILL from the kernel, and when the pool's parent dies, so does this process.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `prctl(PR_SET_PDEATHSIG, SIGKILL)` through `dlsym`, as Swift does not import variadic C functions.
func dieWithParent() {
    typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    guard let symbol = dlsym(nil, "prctl") else { return }
    _ = unsafeBitCast(symbol, to: Prctl.self)(1, UInt(SIGKILL), 0, 0, 0)  // 1: PR_SET_PDEATHSIG
}

/// Writes all of `text` to `fd`; false when the reader has gone.
func write(_ text: String, to fd: Int32) -> Bool {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return false }
        bytes = bytes.dropFirst(n)
    }
    return true
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("gallop-test-worker: \(message)\n".utf8))
    exit(2)
}

/// The clip being scored is a slow one: set before its task goes to the worker, read when its row comes back
/// (one task at a time: the pool sends the next only after the row).
final class SlowFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
}

let environment = ProcessInfo.processInfo.environment
let crash = environment["GALLOP_TEST_CRASH"]
let slow = environment["GALLOP_TEST_SLOW"]
let stall: (clip: String, marker: String?)? = environment["GALLOP_TEST_STALL"].map { value in
    let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
    return (parts.first ?? "", parts.count > 1 ? parts[1] : nil)
}

dieWithParent()
signal(SIGPIPE, SIG_IGN)

// The real worker: the `gallop` binary beside this one, with this process's arguments.
let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
let gallop = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("gallop").path
var toWorker: [Int32] = [-1, -1], fromWorker: [Int32] = [-1, -1]
guard pipe(&toWorker) == 0, pipe(&fromWorker) == 0 else { fail("cannot make pipes: \(String(cString: strerror(errno)))") }
for fd in toWorker + fromWorker { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
var actions = posix_spawn_file_actions_t()
posix_spawn_file_actions_init(&actions)
posix_spawn_file_actions_adddup2(&actions, toWorker[0], 0)
posix_spawn_file_actions_adddup2(&actions, fromWorker[1], 1)
let arguments = [gallop] + CommandLine.arguments.dropFirst()
var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
var worker: pid_t = 0
let spawned = posix_spawn(&worker, gallop, &actions, nil, &argv, environ)
guard spawned == 0 else { fail("cannot start \(gallop): \(String(cString: strerror(spawned)))") }
close(toWorker[0])
close(fromWorker[1])

/// Worker to pool, on a thread of its own: every line as it comes, but a slow clip's row is paced. `done` is signalled
/// when the worker's output ends.
func relay(from output: Int32, slow: SlowFlag, done: DispatchSemaphore) {
    Thread {
        defer { done.signal() }
        guard let lines = fdopen(output, "r") else { return }
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        while getline(&buffer, &capacity, lines) > 0, let buffer {
            let line = String(cString: buffer)
            if slow.isSet {
                if line.hasPrefix(#"{"alive":"#) { continue }
                let row = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                let frames = row?["frames"] as? Int ?? 0
                for frame in 0..<frames {
                    usleep(200_000)
                    guard write("{\"alive\":\(frame + 1)}\n", to: 1) else { exit(0) }
                }
            }
            guard write(line, to: 1) else { exit(0) }
        }
    }.start()
}

let slowClip = SlowFlag()
let relayed = DispatchSemaphore(value: 0)
relay(from: fromWorker[0], slow: slowClip, done: relayed)

// Pool to worker: each task, unless its clip is one to fail on.
while let line = readLine() {
    let task = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    let relative = task?["relative_path"] as? String
    if let relative, relative == crash { kill(getpid(), SIGKILL) }
    if let relative, let stall, stall.clip == relative {
        var hang = true
        if let marker = stall.marker {
            // Once: the first worker to get here claims the marker; later ones go on.
            let fd = open(marker, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            hang = fd >= 0
            if fd >= 0 {
                _ = write("\(getpid())\n", to: fd)
                close(fd)
            }
        }
        if hang { sleep(600) }
    }
    slowClip.isSet = relative != nil && relative == slow
    guard write(line + "\n", to: toWorker[1]) else { break }
}
// The pool is done: the worker sees its input end, answers what it has, and exits; this process exits as it did.
close(toWorker[1])
var status: Int32 = 0
while waitpid(worker, &status, 0) < 0 && errno == EINTR {}
relayed.wait()
exit(status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
