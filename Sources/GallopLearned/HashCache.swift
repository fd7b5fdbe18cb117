import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The SHA-256 of the models' files from earlier runs, so a run does not read ~350 MB (ViT-B/32) to ~1.7 GB
/// (ViT-L/14) of weights again at every start. An entry is used only while the file is the one hashed: the
/// same absolute path, device, inode, size, modification time and status-change time (nanoseconds). Writing
/// the file in place changes its mtime and ctime, replacing it changes the inode, and ctime cannot be set
/// back by a user (`touch -d` moves mtime, not ctime), so a cached hash is never taken for changed content
/// short of a clock set back or a filesystem without ctime.
///
/// The file is `$XDG_CACHE_HOME/gallop/weights-sha256` (`~/.cache/gallop/weights-sha256` when XDG_CACHE_HOME
/// is unset), or the file `GALLOP_HASH_CACHE` names; `GALLOP_HASH_CACHE=none` turns the cache off. One entry a
/// line, tab-separated: path, device, inode, size, mtime and ctime (ns), sha256, after a header line. A file
/// that cannot be parsed is ignored line by line (those files are hashed again), never an error, and the
/// cache is rewritten whole through a temporary file and a rename, so a reader never sees half of it. It is
/// only a cache: when it cannot be written (a read-only home), the hash is computed and the run goes on.
public struct HashCache: Sendable {
    /// The cache file; nil: no cache.
    public let file: String?

    static let header = "gallop-weights-sha256 1"
    /// Entries kept (the most recent): a few model sets' worth, each at most a dozen files.
    static let capacity = 256

    public init(file: String?) { self.file = file }

    /// The cache the environment selects (see the type's documentation).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> HashCache {
        if let given = env["GALLOP_HASH_CACHE"], !given.isEmpty {
            return HashCache(file: given == "none" ? nil : given)
        }
        // XDG's base-directory rule: a relative XDG_CACHE_HOME is invalid and ignored.
        if let xdg = env["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return HashCache(file: xdg + "/gallop/weights-sha256") }
        if let home = env["HOME"], home.hasPrefix("/") { return HashCache(file: home + "/.cache/gallop/weights-sha256") }
        return HashCache(file: nil)
    }

    /// What identifies a file's content without reading it.
    struct Key: Hashable {
        var path: String
        var device: UInt64, inode: UInt64, size: Int64
        var mtime: Int64, ctime: Int64

        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
            self.path = path
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
            ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        }

        init?(line: Substring) {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 6, f[0].hasPrefix("/"), let d = UInt64(f[1]), let i = UInt64(f[2]), let s = Int64(f[3]),
                  let m = Int64(f[4]), let c = Int64(f[5]) else { return nil }
            (path, device, inode, size, mtime, ctime) = (String(f[0]), d, i, s, m, c)
        }

        var line: String { "\(path)\t\(device)\t\(inode)\t\(size)\t\(mtime)\t\(ctime)" }
    }

    /// The SHA-256 (hex) of the file at `path`: from the cache when its entry matches the file, else from `hash`
    /// (called with the path), then recorded when the file did not change while it was hashed.
    public func sha256(of path: String, hash: (String) throws -> String) throws -> String {
        guard let file else { return try hash(path) }
        let absolute = Self.absolute(path)
        // A path the line format cannot hold is hashed and not cached.
        guard !absolute.contains("\t"), !absolute.contains("\n"), let before = Key(path: absolute) else { return try hash(path) }
        var entries = Self.read(file)
        if let hit = entries.first(where: { $0.key == before }) { return hit.sha256 }
        let sha = try hash(path)
        guard Key(path: absolute) == before else { return sha }
        entries.removeAll { $0.key.path == absolute }
        entries.append((before, sha))
        Self.write(file, entries.suffix(Self.capacity))
        return sha
    }

    static func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }

    /// The entries of a cache file; those lines that do not parse are left out, and a file of another format
    /// (or none, or unreadable) gives none.
    static func read(_ file: String) -> [(key: Key, sha256: String)] {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == Substring(header) else { return [] }
        return lines.dropFirst().compactMap { line in
            guard let tab = line.lastIndex(of: "\t"), let key = Key(line: line[..<tab]) else { return nil }
            let sha = line[line.index(after: tab)...]
            guard sha.utf8.count == 64, sha.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
            return (key, String(sha))
        }
    }

    /// Writes the cache whole through a temporary file in its folder and a rename; failures leave it as it was.
    static func write(_ file: String, _ entries: ArraySlice<(key: Key, sha256: String)>) {
        let folder = (file as NSString).deletingLastPathComponent
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let text = ([header] + entries.map { $0.key.line + "\t" + $0.sha256 }).joined(separator: "\n") + "\n"
        let temporary = file + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else { return }
        if rename(temporary, file) != 0 { unlink(temporary) }
    }
}
