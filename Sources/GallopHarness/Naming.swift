import Foundation
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
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw Failure(message: "\(root): cannot list the folder")
        }
        var found: [String] = []
        while let item = walker.nextObject() as? String {
            let name = (item as NSString).lastPathComponent
            if name.hasPrefix(".") {
                walker.skipDescendants()
                continue
            }
            let ext = (name as NSString).pathExtension.lowercased()
            guard extensions.contains(ext) else { continue }
            var sub: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + item, isDirectory: &sub), !sub.boolValue {
                found.append(item)
            }
        }
        return found.sorted()
    }
}

extension Discovery {
    /// The clips to score under `dir` (a folder or one clip), named by the
    /// naming convention (or `model` for a flat folder). Throws when there is
    /// no such path or no video file under it.
    public static func runnerClips(in dir: String, model: String? = nil) throws -> [Runner.Clip] {
        let paths = try clips(in: dir)
        guard !paths.isEmpty else {
            throw Failure(message: "\(dir): no video files found (extensions: \(extensions.sorted().joined(separator: ", ")))")
        }
        var isDir: ObjCBool = false
        let root = FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue
            ? dir : (dir as NSString).deletingLastPathComponent
        return paths.map { rel in
            Runner.Clip(path: root.isEmpty ? rel : root + "/" + rel, relativePath: rel, name: ClipName.parse(relativePath: rel, model: model))
        }
    }
}
