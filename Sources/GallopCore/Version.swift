public enum Gallop {
    public static let version = "0.4.0"
    /// Version of the row layout in `clips.jsonl`; bumped whenever a field's meaning changes.
    public static let schemaVersion = 3
}

/// FNV-1a, 64 bit: a stable, dependency-free fingerprint for configurations.
public func fnv1a64(_ text: String) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in text.utf8 {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01b3
    }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
