import Foundation
import GallopCore
import GallopMetrics
import GallopResults
#if canImport(Glibc)
import Glibc
#endif

/// What a file holds, cheaply: its size and an FNV-1a hash of three 64 KiB
/// blocks (the start, the middle and the end), as `size:<bytes>:<hash>`.
/// Reading 192 KiB instead of the whole clip keeps it free on large files; an
/// edit that keeps the size and touches none of the three blocks goes unseen.
/// The file is opened without blocking (a FIFO's open waits for a writer) and
/// read only when it is a regular file; anything else, or an empty file, has
/// no key ("").
public enum ContentKey {
    public static let block = 64 * 1024

    /// Empty for anything but a regular file. The file is opened non-blocking and checked before a byte is read:
    /// the parent of the workers asks for keys (to resume, and for the rows of clips that killed their workers),
    /// and a FIFO or device named like a clip must not block it.
    public static func of(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return "" }
        let size = Int(st.st_size)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var buffer = [UInt8](repeating: 0, count: block)
        for offset in Set([0, max(0, size / 2 - block / 2), max(0, size - block)]).sorted() {
            var filled = 0
            while filled < block {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + filled, block - filled, off_t(offset + filled)) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { return "" }
                if n == 0 { break }
                filled += n
            }
            guard filled > 0 else { return "" }
            for byte in buffer[..<filled] { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        return "size:\(size):" + String(hash, radix: 16)
    }
}

/// A `gallop score` run against what `--out` already holds: the rows kept
/// (same config fingerprint, same path and content) and the clips still to
/// score. A run killed and started again with the same command ends with the
/// rows of an uninterrupted one.
public struct ResumePlan: Sendable {
    /// Rows already scored for clips that are still there, unchanged.
    public var kept: [ClipResult]
    /// Clips to score now, in discovery order.
    public var todo: [Runner.Clip]
    /// Lines of the old file that were not rows (a half-written last line after a kill).
    public var skippedLines: Int

    public struct Refusal: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// `force`: start over whatever the folder holds. `source`: the folder the clips' relative paths start
    /// from (absolute); rows recorded (`source.json`) as scored from another folder are refused, since keeping
    /// only the rows of this folder's clips would drop them all. `promptHash`: when the run scores clip_score, the
    /// hash of each clip's prompt text now (``CLIPScore/promptHash(_:)``, nil for none); an ok row whose
    /// `extras.clip_score.prompt_sha256` differs (or is missing while there is text now) was scored against
    /// another text and is scored again, since the text is in neither the fingerprint nor the content key.
    public static func make(clips: [Runner.Clip], results file: String, source: String? = nil, fingerprint: String, config: JSONValue,
                            force: Bool, promptHash: ((ClipName) -> String?)? = nil) throws -> ResumePlan {
        guard !force, FileManager.default.fileExists(atPath: file) else { return ResumePlan(kept: [], todo: clips, skippedLines: 0) }
        let loaded = try ResultsFile.read(file)
        if let source, !loaded.rows.isEmpty, let recorded = ScoredFrom.read(beside: file), !sameFolder(recorded, source) {
            let out = Paths.parent(of: file)
            throw Refusal(message: "\(out.isEmpty ? "." : out) holds \(loaded.rows.count) rows of clips scored from \(recorded), not from \(source); pass --force to replace them, or choose another --out")
        }
        // Rows with no record of their folder (a copied clips.jsonl, results older than source.json): refused when
        // not one of them is a clip of this folder, since resuming would drop them all.
        if let source, !loaded.rows.isEmpty, ScoredFrom.read(beside: file) == nil {
            let paths = Set(clips.map(\.relativePath))
            if !loaded.rows.contains(where: { paths.contains($0.path) }) {
                let out = Paths.parent(of: file)
                throw Refusal(message: "\(out.isEmpty ? "." : out) holds \(loaded.rows.count) rows that record no folder (no source.json) and name none of the clips of \(source); pass --force to replace them, or choose another --out")
            }
        }
        if let other = loaded.rows.first(where: { $0.fingerprint != fingerprint }) {
            let diff = ConfigDifference.between(other.config, config).prefix(3).joined(separator: "; ")
            throw Refusal(message: "\(file) holds results of another config (fingerprint \(other.fingerprint), this run \(fingerprint)\(diff.isEmpty ? "" : ": " + diff)); pass --force to start over, or choose another --out")
        }
        func promptChanged(_ row: ClipResult, _ clip: Runner.Clip) -> Bool {
            guard let promptHash, row.status == .ok else { return false }
            let recorded = row.extras.first(where: { $0.0 == CLIPScore.info.name })?.1["prompt_sha256"]?.stringValue
            return recorded != promptHash(clip.name)
        }
        let byPath = Dictionary(loaded.rows.map { ($0.path, $0) }, uniquingKeysWith: { _, last in last })
        var kept: [ClipResult] = [], todo: [Runner.Clip] = []
        for clip in clips {
            if let row = byPath[clip.relativePath], !row.contentKey.isEmpty, row.contentKey == ContentKey.of(clip.path),
               !promptChanged(row, clip) {
                kept.append(row)
            } else {
                todo.append(clip)
            }
        }
        return ResumePlan(kept: kept, todo: todo, skippedLines: loaded.skippedLines)
    }

    /// The same path, or two paths to one folder (a link, a bind mount): same device and inode.
    static func sameFolder(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard let x = FileID(a), let y = FileID(b) else { return false }
        return x == y
    }
}

/// One shard of a run split across machines (Slurm array tasks, Kubernetes
/// Indexed Jobs): clip `c` belongs to shard `index` of `count` when the
/// FNV-1a hash of its relative path, mixed by MurmurHash3's finalizer,
/// modulo `count` is `index` (0-based), so
/// every machine picks its clips from the same folder with no coordination,
/// and the shards' rows merged (`gallop merge`) equal a single run's.
public struct Shard: Sendable, Equatable {
    public let index: Int
    public let count: Int

    /// `I/N` with 0 ≤ I < N.
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else { return nil }
        index = i
        count = n
    }

    public func contains(_ relativePath: String) -> Bool {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in relativePath.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        // FNV-1a's low bits follow the last bytes (paths ending alike all land in one shard): mix them
        // with MurmurHash3's 64-bit finalizer first.
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash &*= 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return Int(hash % UInt64(count)) == index
    }
}
