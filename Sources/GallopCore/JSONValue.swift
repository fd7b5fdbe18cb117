import Foundation

/// A JSON value with deterministic output: object keys keep the order they
/// were given in, numbers print in Swift's shortest round-trip form, and
/// non-finite numbers become `null` (JSON has no NaN or infinity).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y || (x.isNaN && y.isNaN)
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public static func number(_ value: Double?) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        return .number(value)
    }

    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }

    /// A number array; non-finite entries become `null`.
    public static func numbers(_ values: [Double]) -> JSONValue { .array(values.map { .number($0) }) }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    public var doubleValue: Double? { if case .number(let v) = self { return v } else { return nil } }
    public var stringValue: String? { if case .string(let v) = self { return v } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let v) = self { return v } else { return nil } }
    public var objectValue: [(String, JSONValue)]? { if case .object(let v) = self { return v } else { return nil } }
    public var intValue: Int? { doubleValue.flatMap { $0.rounded() == $0 && abs($0) < 1e15 ? Int($0) : nil } }

    /// Compact JSON text on one line.
    public func serialized() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    /// Indented JSON text (two spaces a level); arrays of scalars stay on one line.
    public func pretty() -> String {
        var out = ""
        writePretty(to: &out, indent: "")
        return out
    }

    private func writePretty(to out: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .array(let items) where items.contains(where: { $0.isContainer }):
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += inner
                item.writePretty(to: &out, indent: inner)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += indent + "]"
        case .object(let pairs) where !pairs.isEmpty:
            out += "{\n"
            for (i, (key, value)) in pairs.enumerated() {
                out += inner
                JSONValue.writeString(key, to: &out)
                out += ": "
                value.writePretty(to: &out, indent: inner)
                out += i + 1 < pairs.count ? ",\n" : "\n"
            }
            out += indent + "}"
        default:
            write(to: &out)
        }
    }

    private var isContainer: Bool {
        switch self {
        case .array, .object: return true
        default: return false
        }
    }

    public func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let v):
            if !v.isFinite { out += "null" }
            else if v.rounded() == v && abs(v) < 1e15 { out += String(Int64(v)) }
            else { out += "\(v)" }
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// A small strict JSON parser (RFC 8259) for reading Gallop's own result files.
public struct JSONParser {
    public struct Failure: Error, CustomStringConvertible {
        public let offset: Int
        public let message: String
        public var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    /// The text, then a NUL that ends every number (strtod stops there); `count` excludes it.
    private let bytes: [UInt8]
    private let count: Int
    private var i = 0
    /// Key paths from the outermost object whose values are checked and skipped, not built.
    private let skipping: [ArraySlice<String>]

    public static func parse(_ text: String) throws -> JSONValue {
        try parse(bytes: Array(text.utf8)[...])
    }

    /// Parses one JSON text; the values of `skippingKeys` in the outermost
    /// object, and of each key path of `skippingPaths` (keys of nested
    /// objects from the outermost one; `*` matches any key, `!k` any key but
    /// k, `!k|l` any key but k and l), are validated but left out: readers that
    /// need only some fields of large rows skip the rest (`["extras", "!a"]` and
    /// `["extras", "a", "series"]` keep one small object of `extras`).
    public static func parse<Bytes: Collection<UInt8>>(bytes: Bytes, skippingKeys: Set<String> = [],
                                                       skippingPaths: [[String]] = []) throws -> JSONValue {
        var p = JSONParser(bytes: bytes, skipping: (skippingKeys.sorted().map { [$0] } + skippingPaths.filter { !$0.isEmpty }).map { $0[...] })
        p.skipSpace()
        let v = try p.value(skipping: p.skipping)
        p.skipSpace()
        guard p.i == p.count else { throw Failure(offset: p.i, message: "trailing characters") }
        return v
    }

    private init<Bytes: Collection<UInt8>>(bytes: Bytes, skipping: [ArraySlice<String>]) {
        var b = [UInt8]()
        b.reserveCapacity(bytes.count + 1)
        b.append(contentsOf: bytes)
        count = b.count
        b.append(0)
        self.bytes = b
        self.skipping = skipping
    }

    private mutating func skipSpace() {
        while i < count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func expect(_ word: String) throws {
        for b in word.utf8 {
            guard i < count, bytes[i] == b else { throw Failure(offset: i, message: "expected \(word)") }
            i += 1
        }
    }

    /// A key-path component against a key: itself, `*` (any key) or `!k|l…` (any key but those).
    private static func matches(_ component: String, _ key: String) -> Bool {
        if component == key || component == "*" { return true }
        guard component.utf8.first == UInt8(ascii: "!") else { return false }
        // Each name between the '|'s, compared in place (this runs for every key under a skipped path).
        var rest = component.utf8.dropFirst()
        while true {
            let end = rest.firstIndex(of: UInt8(ascii: "|")) ?? rest.endIndex
            if rest[..<end].elementsEqual(key.utf8) { return false }
            guard end < rest.endIndex else { return true }
            rest = rest[rest.index(after: end)...]
        }
    }

    /// One value; `rules` are the rest of the skipped key paths that lead into it.
    private mutating func value(skipping rules: [ArraySlice<String>]) throws -> JSONValue {
        guard i < count else { throw Failure(offset: i, message: "unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var pairs: [(String, JSONValue)] = []
            skipSpace()
            if i < count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
            while true {
                skipSpace()
                guard i < count, bytes[i] == UInt8(ascii: "\"") else { throw Failure(offset: i, message: "expected a key") }
                let key = try string()
                skipSpace()
                try expect(":")
                skipSpace()
                var inner: [ArraySlice<String>] = []
                var skip = false
                for rule in rules where JSONParser.matches(rule.first!, key) {
                    if rule.count == 1 { skip = true; break }
                    inner.append(rule.dropFirst())
                }
                if skip {
                    try skipValue()
                } else {
                    pairs.append((key, try value(skipping: inner)))
                }
                skipSpace()
                guard i < count else { throw Failure(offset: i, message: "unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                throw Failure(offset: i, message: "expected , or }")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(skipping: []))
                skipSpace()
                guard i < count else { throw Failure(offset: i, message: "unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw Failure(offset: i, message: "expected , or ]")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return .number(try number())
        }
    }

    /// Steps over one value, checking its brackets and strings but building nothing.
    private mutating func skipValue() throws {
        var nesting = 0
        repeat {
            skipSpace()
            guard i < count else { throw Failure(offset: i, message: "unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["): nesting += 1; i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): nesting -= 1; i += 1
            case UInt8(ascii: "\""): _ = try string()
            case UInt8(ascii: ","), UInt8(ascii: ":"): i += 1
            default:
                let start = i
                while i < count, !(bytes[i] == UInt8(ascii: ",") || bytes[i] == UInt8(ascii: "]") || bytes[i] == UInt8(ascii: "}")
                                    || bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09) { i += 1 }
                guard i > start else { throw Failure(offset: i, message: "invalid value") }
            }
            guard nesting >= 0 else { throw Failure(offset: i, message: "unbalanced brackets") }
        } while nesting > 0
    }

    private mutating func number() throws -> Double {
        let start = i
        while i < count, let c = Optional(bytes[i]),
              (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            i += 1
        }
        // strtod reads from the buffer in place (a character outside the number, or the final NUL, ends it);
        // Gallop never changes the C locale, so the decimal point is '.'.
        let end = i
        let parsed: (Double, Int)? = i > start ? bytes.withUnsafeBufferPointer { buffer in
            let first = UnsafeRawPointer(buffer.baseAddress! + start).assumingMemoryBound(to: CChar.self)
            var stop: UnsafeMutablePointer<CChar>?
            let v = strtod(first, &stop)
            return (v, stop.map { UnsafeRawPointer($0) - UnsafeRawPointer(first) } ?? 0)
        } : nil
        guard let (v, used) = parsed, used == end - start, bytes[start] != UInt8(ascii: "+") else {
            throw Failure(offset: start, message: "invalid value")
        }
        return v
    }

    private mutating func string() throws -> String {
        i += 1
        var out = [UInt8]()
        while i < count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < count else { break }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard i + 4 <= count, var code = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
                        throw Failure(offset: i, message: "bad \\u escape")
                    }
                    i += 4
                    if code >= 0xD800 && code < 0xDC00, i + 6 <= count, bytes[i] == UInt8(ascii: "\\"),
                       let low = UInt32(String(decoding: bytes[i + 2..<i + 6], as: UTF8.self), radix: 16) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(code).map { Character($0) } ?? "?").utf8))
                default: out.append(e)
                }
            } else {
                out.append(c)
                i += 1
            }
        }
        throw Failure(offset: i, message: "unterminated string")
    }
}
