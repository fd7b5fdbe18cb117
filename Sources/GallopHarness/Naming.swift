import Foundation
import GallopCore
import GallopResults
#if canImport(Glibc)
import Glibc
#endif

/// Finds the clips under a folder.
///
/// The walk reads each folder's raw entry names (`readdir`) and looks at each entry with `lstat`, and with
/// `stat` through a symbolic link; it never opens a file, so a FIFO or device cannot block it. A folder is
/// entered once, keyed by device and inode, so a link back up the tree cannot loop; a file reached through a
/// symbolic link as well as by its own name counts once, as its own name (or, reached only through links, as
/// the first such path in sorted order). Hard links are names of their own: each is a clip. An entry named
/// like a clip that cannot be scored (a dangling link, a name that is not UTF-8, a FIFO, socket or device) is
/// not left out: it is listed with its cause, and `gallop score` writes it as an error row.
public enum Discovery {
    /// File extensions taken as video (case-insensitive). Anything else is ignored.
    public static let extensions: Set<String> = [
        "mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "m2ts", "mts", "flv", "wmv",
        "ogv", "gif", "y4m", "3gp", "mxf", "nut", "ivf", "264", "h264", "hevc", "265",
    ]

    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// An entry named like a clip (or a folder that could hold clips) that cannot be scored, and why.
    public struct Unreadable: Sendable, Equatable {
        /// Relative to the scored folder, with `/`; a byte of a name that is not UTF-8 is shown as `\xNN`.
        public let relativePath: String
        /// The cause, without the path: "dangling symbolic link to /x/y.mp4", "not a regular file (a FIFO)".
        public let cause: String
        public init(relativePath: String, cause: String) {
            self.relativePath = relativePath
            self.cause = cause
        }
    }

    /// What a walk found.
    public struct Scan: Sendable, Equatable {
        /// Relative paths (with `/`) of the video files to score, each file once, sorted.
        public var clips: [String] = []
        /// Entries that cannot be scored, sorted by path: each becomes an error row.
        public var unreadable: [Unreadable] = []
        /// What the walk left out on purpose, one sentence each: a file or folder reached a second time
        /// through a link, a dangling link not named like a clip.
        public var notes: [String] = []
    }

    /// Relative paths (with `/`) of every video file below `root`, recursively,
    /// sorted, skipping hidden files and folders. A file given as `root` is returned alone.
    public static func clips(in root: String) throws -> [String] {
        try scan(root).clips
    }

    /// The walk below `root` (a folder; a file given as `root` is returned alone), skipping hidden files
    /// and folders. Throws when `root` does not exist or cannot be listed.
    public static func scan(_ root: String) throws -> Scan {
        let bytes = Array(root.utf8)
        let name = (root as NSString).lastPathComponent
        var scan = Scan()
        switch Entry.inspect(bytes).entry {
        case .folder(let id):
            var walk = Walk(root: root)
            walk.folders[id] = ""
            try walk.enter([], linked: false, into: &scan)
            walk.finish(into: &scan)
        case .file:
            scan.clips = [name]
        case .other(let what):
            scan.unreadable = [Unreadable(relativePath: name, cause: "not a regular file (\(what))")]
        case .missing:
            throw Failure(message: "\(root): no such file or folder")
        case .broken(let cause):
            throw Failure(message: "\(root): \(cause)")
        }
        return scan
    }

    /// Whether `name` (raw bytes) ends in a video extension.
    static func isVideo(_ name: [UInt8]) -> Bool {
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot != name.startIndex,
              let ext = String(validating: name[(dot + 1)...], as: UTF8.self) else { return false }
        return extensions.contains(ext.lowercased())
    }

    /// `bytes` as text: valid UTF-8 as it is, each byte that is not part of a valid sequence as `\xNN`
    /// (as `ls --escape` and Python's `backslashreplace` show them).
    public static func shown(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        let b = Array(bytes)
        var out = "", i = 0
        while i < b.count {
            let lead = b[i]
            let length = lead < 0x80 ? 1 : (0xC2...0xDF).contains(lead) ? 2 : (0xE0...0xEF).contains(lead) ? 3 : (0xF0...0xF4).contains(lead) ? 4 : 0
            if length > 0, i + length <= b.count, let text = String(validating: b[i..<(i + length)], as: UTF8.self) {
                out += text
                i += length
            } else {
                out += "\\x" + String(lead, radix: 16, uppercase: true).leftPadded(to: 2)
                i += 1
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// A file or folder's identity: the same on every path that reaches it.
public struct FileID: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    /// The identity of what `path` names, following symbolic links; nil when it cannot be reached.
    public init?(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        self.init(st)
    }

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

/// What one folder entry is, looked at without opening it.
private enum Entry {
    case folder(FileID)
    case file(FileID)
    /// A FIFO, a socket or a device ("a FIFO").
    case other(String)
    /// A link that leads nowhere, or an entry that cannot be looked at: the sentence says which.
    case broken(String)
    /// Gone since it was listed.
    case missing

    /// What `path` is, and whether it is a symbolic link (followed).
    static func inspect(_ path: [UInt8]) -> (entry: Entry, link: Bool) {
        var st = stat()
        guard withPath(path, { lstat($0, &st) }) == 0 else {
            let error = errno
            return (error == ENOENT ? .missing : .broken("cannot be looked at: \(reason(error))"), false)
        }
        let link = st.st_mode & S_IFMT == S_IFLNK
        return (kind(path, st, link: link), link)
    }

    private static func kind(_ path: [UInt8], _ lstatResult: stat, link: Bool) -> Entry {
        var st = lstatResult
        if link {
            guard withPath(path, { stat($0, &st) }) == 0 else {
                let error = errno
                let to = target(path)
                switch error {
                case ENOENT, ENOTDIR: return .broken("dangling symbolic link to \(to)")
                case ELOOP: return .broken("symbolic link to \(to) that loops (too many levels of links)")
                default: return .broken("cannot follow the symbolic link to \(to): \(reason(error))")
                }
            }
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .folder(FileID(st))
        case S_IFREG: return .file(FileID(st))
        case S_IFIFO: return .other("a FIFO")
        case S_IFSOCK: return .other("a socket")
        case S_IFCHR: return .other("a character device")
        case S_IFBLK: return .other("a block device")
        default: return .other("of unknown type")
        }
    }

    /// Where the symbolic link at `path` points, as it is written.
    static func target(_ path: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = withPath(path) { readlink($0, &buffer, buffer.count - 1) }
        guard count >= 0 else { return "a target that cannot be read" }
        return Discovery.shown(buffer[..<count].map { UInt8(bitPattern: $0) })
    }

    /// The names in the folder at `path`, raw, sorted bytewise, without hidden ones (nor `.` and `..`).
    static func list(_ path: [UInt8]) -> Result<[[UInt8]], Discovery.Failure> {
        guard let dir = withPath(path, { opendir($0) }) else {
            return .failure(Discovery.Failure(message: "cannot list the folder: \(reason(errno))"))
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name.isEmpty || name[0] == UInt8(ascii: ".") { continue }
            names.append(name)
        }
        return .success(names.sorted { $0.lexicographicallyPrecedes($1) })
    }

    static func withPath<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        (bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    static func reason(_ error: Int32) -> String { String(cString: strerror(error)) }
}

/// One walk: the folders entered and the files found so far, by identity.
private struct Walk {
    let root: String
    let rootBytes: [UInt8]
    /// Each folder entered, with the relative path it was first reached by.
    var folders: [FileID: String] = [:]
    /// Each video file, with every relative path that reaches it (shown), which of its names are UTF-8 (the
    /// whole path's, and the file's own), and whether the path goes through a symbolic link.
    var files: [FileID: [(path: String, valid: Bool, nameValid: Bool, linked: Bool)]] = [:]
    var order: [FileID] = []

    init(root: String) {
        self.root = root
        rootBytes = Array(root.utf8)
    }

    func full(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }

    /// Walks the folder at `relative` (raw bytes, `/`-separated), each entry in bytewise order; `linked`: the
    /// folder was reached through a symbolic link.
    mutating func enter(_ relative: [UInt8], linked: Bool, into scan: inout Discovery.Scan) throws {
        let slash = UInt8(ascii: "/")
        let names: [[UInt8]]
        switch Entry.list(relative.isEmpty ? rootBytes : rootBytes + [slash] + relative) {
        case .success(let found): names = found
        case .failure(let failure):
            if relative.isEmpty { throw Discovery.Failure(message: "\(root): \(failure.message)") }
            scan.unreadable.append(Discovery.Unreadable(relativePath: Discovery.shown(relative), cause: failure.message))
            return
        }
        for name in names {
            let item = relative.isEmpty ? name : relative + [slash] + name
            let shown = Discovery.shown(item)
            let video = Discovery.isVideo(name)
            let (entry, link) = Entry.inspect(rootBytes + [slash] + item)
            switch entry {
            case .folder(let id):
                if let first = folders[id] {
                    scan.notes.append("\(full(shown)) is the folder \(full(first)), already searched: not searched again")
                    continue
                }
                folders[id] = shown
                try enter(item, linked: linked || link, into: &scan)
            case .file(let id) where video:
                if files[id] == nil { order.append(id) }
                files[id, default: []].append((shown, String(validating: item, as: UTF8.self) != nil, String(validating: name, as: UTF8.self) != nil,
                                               linked || link))
            case .other(let what) where video:
                scan.unreadable.append(Discovery.Unreadable(relativePath: shown, cause: "not a regular file (\(what))"))
            case .broken(let cause) where video:
                scan.unreadable.append(Discovery.Unreadable(relativePath: shown, cause: cause))
            case .broken(let cause):
                scan.notes.append("\(full(shown)): \(cause); not named like a clip, so not searched")
            case .file, .other, .missing:
                continue
            }
        }
    }

    /// Each file once: each of its own names (a hard link is a name of its own, as `cp -al` snapshots make)
    /// is a clip; a path through a symbolic link stands for the file only when nothing else does, and then the
    /// first such path in sorted order (UTF-8 ones first). The paths left out are named in a note; a path that
    /// is not UTF-8 is an error row.
    func finish(into scan: inout Discovery.Scan) {
        var clips: [String] = []
        for id in order {
            let paths = files[id]!.sorted { $0.path < $1.path }
            let direct = paths.filter { !$0.linked }
            let standing = direct.isEmpty ? [paths.first(where: \.valid) ?? paths[0]] : direct
            for p in standing {
                if p.valid {
                    clips.append(p.path)
                } else {
                    let whose = p.nameValid ? "the name of a folder on its path" : "the file name"
                    scan.unreadable.append(Discovery.Unreadable(
                        relativePath: p.path,
                        cause: "\(whose) is not valid UTF-8 (each byte that is not is shown here as \\xNN); rename it to score it"))
                }
            }
            let kept = standing.first(where: \.valid) ?? standing[0]
            for p in paths where !standing.contains(where: { $0.path == p.path }) {
                scan.notes.append("\(full(p.path)) is the same file as \(full(kept.path)): scored once, as \(kept.path)")
            }
        }
        scan.clips = clips.sorted()
        scan.unreadable.sort { $0.relativePath < $1.relativePath }
    }
}

extension Discovery {
    /// The folder the clips' relative paths start from: `dir` itself, or the folder of a single clip.
    public static func scoredRoot(_ dir: String) -> String {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue
            ? dir : Paths.parent(of: dir)
    }

    /// What `gallop score` takes from `dir`: the clips to score, the entries named like clips that cannot be
    /// scored (each with the sentence of its error row), and the walk's notes.
    public struct Found: Sendable {
        public var clips: [Runner.Clip]
        public var unreadable: [Unscorable]
        public var notes: [String]
    }

    /// An entry that becomes an error row without being opened.
    public struct Unscorable: Sendable {
        public let clip: Runner.Clip
        /// "`path`: `cause`".
        public let error: String
    }

    /// The clips to score under `dir` (a folder or one clip), named by the
    /// naming convention (or `model` for a flat folder). Throws when there is
    /// no such path or no video file under it.
    public static func runnerClips(in dir: String, model: String? = nil) throws -> [Runner.Clip] {
        try find(in: dir, model: model).clips
    }

    /// ``runnerClips(in:model:)`` with what cannot be scored and the walk's notes. Throws when there is no
    /// such path, or nothing named like a clip under it.
    public static func find(in dir: String, model: String? = nil) throws -> Found {
        let scan = try scan(dir)
        guard !scan.clips.isEmpty || !scan.unreadable.isEmpty else {
            throw Failure(message: "\(dir): no video files found (extensions: \(extensions.sorted().joined(separator: ", ")))")
        }
        let root = scoredRoot(dir)
        func clip(_ rel: String) -> Runner.Clip {
            Runner.Clip(path: root.isEmpty ? rel : root + "/" + rel, relativePath: rel, name: ClipName.parse(relativePath: rel, model: model))
        }
        return Found(clips: scan.clips.map(clip),
                     unreadable: scan.unreadable.map { u in
                         let c = clip(u.relativePath)
                         return Unscorable(clip: c, error: "\(c.path): \(u.cause)")
                     },
                     notes: scan.notes)
    }
}

/// Creates an output folder and its parents, with the system's reason when it cannot
/// (`/tmp/file/out: cannot create the folder: Not a directory`).
public enum OutputFolder {
    public static func create(_ path: String) throws(Discovery.Failure) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw Discovery.Failure(message: "\(path): cannot create the folder: a file of that name is in the way")
        }
        let parent = Paths.parent(of: path)
        if !parent.isEmpty && parent != path { try create(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw Discovery.Failure(message: "\(path): cannot create the folder: \(String(cString: strerror(errno)))")
        }
    }
}
