import Foundation

/// Progress of a long run on standard error: clips done of the total, clips a
/// minute, time left and failures so far. On a terminal one line updates in
/// place; into a file or pipe (CI logs, Slurm's output files) a plain line is
/// written every `interval` seconds and at the end.
public final class Progress: @unchecked Sendable {
    private let total: Int
    private let terminal: Bool
    private let interval: Double
    private let start = Date()
    private var lastLine = Date.distantPast
    private var failures = 0

    public init(total: Int, terminal: Bool = isatty(2) != 0, interval: Double = 10) {
        self.total = total
        self.terminal = terminal
        self.interval = interval
    }

    /// The status after `done` clips (call serialised, as the runner's sink is).
    public func update(done: Int, failed: Bool, path: String) {
        if failed { failures += 1 }
        let now = Date()
        let finished = done == total
        guard terminal || finished || now.timeIntervalSince(lastLine) >= interval else { return }
        lastLine = now
        let text = Progress.describe(done: done, total: total, failures: failures, elapsed: now.timeIntervalSince(start))
        if terminal {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(text) \(path)\(finished ? "\n" : "")".utf8))
        } else {
            FileHandle.standardError.write(Data("gallop: \(text)\n".utf8))
        }
    }

    /// Clears the updating line before another message is written to standard error.
    public func interrupt() {
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
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
}
