import Foundation

/// Progress of a long run on standard error: clips done of the total, clips a
/// minute, time left and failures so far, and the clips that have been in
/// progress for longer than `longClip` seconds (`; scoring wan/cat-1.mp4 for
/// 3 min 10 s`). On a terminal one line updates in place; into a file or pipe
/// (CI logs, Slurm's output files) a plain line is written at least every
/// `interval` seconds and at the end.
///
/// The lines come from a thread of their own, woken by a clock, not by clips
/// finishing: a clip that stalls until its timeout still gives a line every
/// `interval` seconds (CI systems end a job that prints nothing for some
/// minutes), and names itself once it has run longer than `longClip`.
public final class Progress: @unchecked Sendable {
    private let total: Int
    private let terminal: Bool
    private let interval: Double
    private let longClip: Double
    private let output: @Sendable (String) -> Void
    private let start = Date()
    /// Guards everything below, and wakes the ticking thread early when the run ends.
    private let condition = NSCondition()
    private var lastLine = Date.distantPast
    private var done = 0
    private var failures = 0
    private var lastPath = ""
    /// Clips in progress (relative paths) and when each started.
    private var running: [String: Date] = [:]
    private var ticking = false
    private var stopped = false

    /// The clips in progress named on the line after this long (seconds).
    public static let defaultLongClip = 60.0

    public convenience init(total: Int, terminal: Bool = isatty(2) != 0, interval: Double = 10) {
        self.init(total: total, terminal: terminal, interval: interval, longClip: Progress.defaultLongClip) {
            FileHandle.standardError.write(Data($0.utf8))
        }
    }

    /// `output` receives the text as written to standard error (the tests read it, with a short `interval` and `longClip`).
    init(total: Int, terminal: Bool, interval: Double, longClip: Double, output: @escaping @Sendable (String) -> Void) {
        self.total = total
        self.terminal = terminal
        self.interval = interval
        self.longClip = longClip
        self.output = output
    }

    /// Starts the clock that writes a line every `interval` seconds without a clip finishing; ``stop()`` ends it.
    public func startTicking() {
        condition.lock()
        defer { condition.unlock() }
        guard !ticking, !stopped else { return }
        ticking = true
        let thread = Thread { [self] in tick() }
        thread.name = "gallop progress"
        thread.start()
    }

    /// Ends the clock (the run has ended); no line is written after this returns.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func tick() {
        condition.lock()
        defer { condition.unlock() }
        while !stopped {
            let due = lastLine == .distantPast ? start.addingTimeInterval(interval) : lastLine.addingTimeInterval(interval)
            if Date() >= due {
                writeLine(now: Date(), finished: false)
            } else {
                _ = condition.wait(until: due)
            }
        }
    }

    /// A clip has started (call from the thread that scores it).
    public func started(_ relativePath: String) {
        condition.lock()
        running[relativePath] = Date()
        condition.unlock()
    }

    /// The status after `done` clips (call serialised, as the runner's sink is).
    public func update(done: Int, failed: Bool, path: String) {
        condition.lock()
        defer { condition.unlock() }
        if failed { failures += 1 }
        self.done = done
        lastPath = path
        running[path] = nil
        let now = Date()
        let finished = done == total
        guard !stopped, terminal || finished || now.timeIntervalSince(lastLine) >= interval else { return }
        writeLine(now: now, finished: finished)
    }

    /// Writes the line (the lock held).
    private func writeLine(now: Date, finished: Bool) {
        lastLine = now
        var text = Progress.describe(done: done, total: total, failures: failures, elapsed: now.timeIntervalSince(start))
        let long = Progress.longRunning(running, now: now, longerThan: longClip)
        if !long.isEmpty { text += "; " + long }
        if terminal {
            output("\r\u{1B}[K\(text)\(long.isEmpty && !lastPath.isEmpty ? " " + lastPath : "")\(finished ? "\n" : "")")
        } else {
            output("gallop: \(text)\n")
        }
    }

    /// Writes `text` as a line of its own on standard error (clearing the updating line first), never in the middle
    /// of a progress line.
    public func message(_ text: String) {
        condition.lock()
        defer { condition.unlock() }
        output((terminal ? "\r\u{1B}[K" : "") + text + "\n")
    }

    /// `[12/100] 4.1 clips/min, about 21 min left, 1 failed`.
    public static func describe(done: Int, total: Int, failures: Int, elapsed: Double) -> String {
        var text = "[\(done)/\(total)]"
        if elapsed > 0, done > 0 {
            let rate = Double(done) / elapsed * 60
            text += String(format: " %.1f clips/min", rate)
            if done < total {
                let left = Double(total - done) / rate
                text += left < 1 ? ", under a minute left" : String(format: ", about %.0f min left", left)
            }
        }
        if failures > 0 { text += ", \(failures) failed" }
        return text
    }

    /// The clips of `running` started more than `longerThan` seconds before `now`, longest first, at most three
    /// named: `scoring wan/cat-1.mp4 for 3 min 10 s, veo/dog.mp4 for 1 min 2 s` (empty when there is none).
    static func longRunning(_ running: [String: Date], now: Date, longerThan: Double) -> String {
        var long: [(path: String, seconds: Double)] = []
        for (path, started) in running {
            let seconds = now.timeIntervalSince(started)
            if seconds > longerThan { long.append((path, seconds)) }
        }
        long.sort { a, b in a.seconds != b.seconds ? a.seconds > b.seconds : a.path < b.path }
        guard !long.isEmpty else { return "" }
        let named: [String] = long.prefix(3).map { "\($0.path) for \(duration($0.seconds))" }
        var text = "scoring " + named.joined(separator: ", ")
        if long.count > 3 { text += " and \(long.count - 3) more" }
        return text
    }

    /// `45 s`, `3 min 10 s`, `2 h 5 min`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \((s % 3600) / 60) min"
    }
}
