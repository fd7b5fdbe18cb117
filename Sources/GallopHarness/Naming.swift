import Foundation
import GallopCore
import GallopResults

/// Finds the clips under a folder.
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

    /// Relative paths (with `/`) of every video file below `root`, recursively,
    /// sorted, skipping hidden files and folders. A file given as `root` is returned alone.
    public static func clips(in root: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir) else {
            throw Failure(message: "\(root): no such file or folder")
        }
        guard isDir.boolValue else { return [(root as NSString).lastPathComponent] }
        // A walk that follows symbolic links to folders (a model folder linked in, a linked root), and
        // enters each real folder once, so a link back up the tree cannot loop.
        var found: [String] = []
        var visited = Set<String>()
        func walk(_ relative: String) throws {
            let full = relative.isEmpty ? root : root + "/" + relative
            let real = (full as NSString).resolvingSymlinksInPath
            guard visited.insert(real).inserted else { return }
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: full) } catch {
                if relative.isEmpty { throw Failure(message: "\(root): cannot list the folder") }
                return
            }
            for name in names.sorted() where !name.hasPrefix(".") {
                let item = relative.isEmpty ? name : relative + "/" + name
                var sub: ObjCBool = false
                guard FileManager.default.fileExists(atPath: root + "/" + item, isDirectory: &sub) else { continue }  // a dangling link
                if sub.boolValue {
                    try walk(item)
                } else if extensions.contains((name as NSString).pathExtension.lowercased()) {
                    found.append(item)
                }
            }
        }
        try walk("")
        return found.sorted()
    }
}

extension Discovery {
    /// The folder the clips' relative paths start from: `dir` itself, or the folder of a single clip.
    public static func scoredRoot(_ dir: String) -> String {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue
            ? dir : Paths.parent(of: dir)
    }

    /// The clips to score under `dir` (a folder or one clip), named by the
    /// naming convention (or `model` for a flat folder). Throws when there is
    /// no such path or no video file under it.
    public static func runnerClips(in dir: String, model: String? = nil) throws -> [Runner.Clip] {
        let paths = try clips(in: dir)
        guard !paths.isEmpty else {
            throw Failure(message: "\(dir): no video files found (extensions: \(extensions.sorted().joined(separator: ", ")))")
        }
        let root = scoredRoot(dir)
        return paths.map { rel in
            Runner.Clip(path: root.isEmpty ? rel : root + "/" + rel, relativePath: rel, name: ClipName.parse(relativePath: rel, model: model))
        }
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
