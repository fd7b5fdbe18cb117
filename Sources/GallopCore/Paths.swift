/// Path arithmetic without NSString: swift-corelibs-foundation 6.3 traps in
/// `deletingLastPathComponent` on a one-character path such as `--out w`.
public enum Paths {
    /// The folder part of `path`: "" for a bare name, "/" for a file at the root; trailing slashes ignored.
    public static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        var parent = trimmed[..<slash]
        while parent.count > 1, parent.hasSuffix("/") { parent = parent.dropLast() }
        return parent.isEmpty ? "/" : String(parent)
    }
}
