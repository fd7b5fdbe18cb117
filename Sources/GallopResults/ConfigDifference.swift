import GallopCore

/// Which settings differ between two rows' `config` objects, as dotted keys
/// with both values (`options.freeze_ratio.block_tolerance: 3.5 vs 2`), so a
/// refusal to mix results can say why.
public enum ConfigDifference {
    public static func between(_ a: JSONValue, _ b: JSONValue) -> [String] {
        var out: [String] = []
        walk(a, b, prefix: "", into: &out)
        return out
    }

    private static func walk(_ a: JSONValue, _ b: JSONValue, prefix: String, into out: inout [String]) {
        if case .object(let x) = a, case .object(let y) = b {
            var keys = x.map(\.0)
            for (k, _) in y where !keys.contains(k) { keys.append(k) }
            for k in keys where k != "fingerprint" {
                walk(a[k] ?? .null, b[k] ?? .null, prefix: prefix.isEmpty ? k : "\(prefix).\(k)", into: &out)
            }
        } else if a != b {
            out.append("\(prefix.isEmpty ? "config" : prefix): \(a.serialized()) vs \(b.serialized())")
        }
    }
}
