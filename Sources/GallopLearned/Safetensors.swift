import Foundation

/// A `.safetensors` file that cannot be read: one sentence naming the file and the cause. Every problem with a
/// file's bytes, however hostile, is one of these, thrown; none traps.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Cause: Sendable, Equatable {
        /// The file cannot be opened, is not a regular file, or cannot be mapped.
        case unreadable
        /// Fewer than the 8 bytes of the header's length.
        case headerTooSmall
        /// A header length above 100,000,000 bytes (the reference parser's limit).
        case headerTooLarge
        /// The header's length runs past the end of the file.
        case headerBeyondFile
        case headerNotUTF8
        /// Not JSON, not a JSON object, nested too deep, or followed by something other than spaces.
        case headerNotJSON
        /// A key twice in one JSON object.
        case duplicateKey
        /// An entry that is not `{"dtype", "shape", "data_offsets"}` of the right types, or metadata that is
        /// not an object of strings.
        case invalidEntry
        case unknownDType
        /// Tensors' byte ranges, in order, leave a hole, overlap or run backwards.
        case invalidOffsets
        /// A tensor's byte range does not hold its shape × dtype (or that is not a whole number of bytes).
        case sizeMismatch
        /// A tensor's shape × dtype overflows 64 bits.
        case shapeOverflow
        /// The data after the header is longer or shorter than the tensors' byte ranges.
        case dataLengthMismatch
        /// A tensor read as floats whose dtype is not F32, F16 or BF16.
        case unsupportedDType
        case missingTensor
        /// A big-endian host (the format is little-endian; Gallop does not convert).
        case unsupportedPlatform
    }

    public let path: String
    public let cause: Cause
    /// The cause in words, without the path.
    public let reason: String

    public init(path: String, cause: Cause, reason: String) {
        self.path = path
        self.cause = cause
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// A tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    /// The dtype as the header names it (`F32`, `F16`, `BF16`, `I64`, …).
    public let dtype: String
    public let shape: [Int]
    /// The byte range of the tensor's data, relative to the start of the data (just after the header).
    public let dataOffsets: Range<Int>
    /// The number of elements: the product of `shape`.
    public let count: Int
}

/// A `.safetensors` file, memory-mapped and its header checked.
///
/// The format (huggingface/safetensors): an unsigned 64-bit little-endian length n, n bytes of UTF-8 JSON —
/// an object from tensor names to `{"dtype": …, "shape": [...], "data_offsets": [begin, end]}`, with an
/// optional `"__metadata__"` object of strings — then the tensors' bytes, little-endian, row-major, the
/// offsets relative to the end of the header. Writers pad the header with trailing spaces to align the data.
///
/// Opening checks what the reference parser checks (safetensors' tensor.rs, `Metadata::validate` and
/// `read_metadata`) and more: the header's size against the file and a 100 MB limit, UTF-8, strict JSON
/// (RFC 8259) starting with `{` with nesting at most 8 deep, no key twice in an object (JSON allows it; the
/// reference keeps the last), every entry's fields and types, non-negative integer shapes and offsets, the
/// tensors' byte ranges in order without hole or overlap starting at 0 and ending at the file's end, and each
/// range's length equal to its shape × dtype with no overflow. Unknown fields in an entry are ignored, as the
/// reference does.
///
/// The file is mapped read-only for the object's life and unmapped when it goes (`deinit`); the object is the
/// mapping's one owner, and tensors read in place keep it alive. F32 tensors whose data is 4-byte aligned in
/// the file are read in place, so worker processes mapping the same weights share one copy in the page cache;
/// other F32 tensors and F16 and BF16 ones are converted into owned Float arrays.
public final class SafetensorsFile: @unchecked Sendable {
    /// The reference parser's limit on the header's length (safetensors' tensor.rs, `MAX_HEADER_SIZE`).
    public static let maxHeaderLength = 100_000_000

    public let path: String
    /// The header's `__metadata__` (empty when it has none).
    public let metadata: [String: String]
    /// The tensors' entries by name.
    public let tensors: [String: SafetensorsTensorInfo]
    /// The file's bytes (the whole mapping); valid while this object exists.
    public let bytes: UnsafeRawBufferPointer
    /// Where the tensors' data starts in the file: 8 + the header's length.
    public let dataStart: Int

    /// `@unchecked Sendable`: everything is immutable after `init`, and the mapping is read-only.
    private let mapping: UnsafeMutableRawPointer

    /// Maps the file at `path` and checks its header (see the type's comment).
    public init(path: String) throws {
        self.path = path
        #if _endian(big)
        throw SafetensorsError(path: path, cause: .unsupportedPlatform, reason: "safetensors files are little-endian and this host is big-endian, which Gallop does not support")
        #endif
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafetensorsError(path: path, cause: .unreadable, reason: "cannot open the weights file (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SafetensorsError(path: path, cause: .unreadable, reason: "cannot read the weights file's size (\(String(cString: strerror(errno))))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SafetensorsError(path: path, cause: .unreadable, reason: "the weights path is not a regular file (a folder?)")
        }
        let size = Int(info.st_size)
        guard size >= 8 else {
            throw SafetensorsError(path: path, cause: .headerTooSmall, reason: "not a safetensors file: it is \(size) bytes long, shorter than the 8 bytes of the header's length")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw SafetensorsError(path: path, cause: .unreadable, reason: "cannot map the weights file into memory (\(String(cString: strerror(errno))))")
        }
        mapping = mapped
        bytes = UnsafeRawBufferPointer(start: mapped, count: size)
        do {
            let header = try Self.parse(bytes)
            dataStart = header.dataStart
            tensors = header.tensors
            metadata = header.metadata
        } catch {
            // deinit does not run for an object whose init throws.
            munmap(mapped, size)
            guard let problem = error as? Problem else { throw error }
            throw SafetensorsError(path: path, cause: problem.cause, reason: problem.reason)
        }
    }

    deinit {
        munmap(mapping, bytes.count)
    }

    /// The tensors' names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    /// The entry of tensor `name`, or a `.missingTensor` error naming it and a few of the names there are.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let entry = tensors[name] else {
            let all = names
            let shown = all.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (all.count > 5 ? ", …" : "")
            throw SafetensorsError(path: path, cause: .missingTensor,
                                   reason: "no tensor named '\(name)' (the file has \(all.count) tensor\(all.count == 1 ? "" : "s")\(all.isEmpty ? "" : ": " + shown))")
        }
        return entry
    }

    /// Tensor `name` as float32: F32 in place when its data is 4-byte aligned (else copied), F16 and BF16
    /// converted exactly (every F16 and BF16 value is a float32 value). Any other dtype is an
    /// `.unsupportedDType` error naming the tensor and its dtype.
    public func tensor(_ name: String) throws -> Tensor {
        let entry = try info(name)
        let start = bytes.baseAddress! + dataStart + entry.dataOffsets.lowerBound
        let n = entry.count
        switch entry.dtype {
        case "F32":
            if Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 {
                return Tensor(shape: entry.shape, count: n, mapped: start.bindMemory(to: Float.self, capacity: n), owner: self)
            }
            return Tensor(shape: entry.shape, values: (0..<n).map {
                Float(bitPattern: UInt32(littleEndian: start.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            })
        case "F16":
            return Tensor(shape: entry.shape, values: (0..<n).map {
                Float(Float16(bitPattern: UInt16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))))
            })
        case "BF16":
            // bfloat16 is float32's upper half.
            return Tensor(shape: entry.shape, values: (0..<n).map {
                Float(bitPattern: UInt32(UInt16(littleEndian: start.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16)
            })
        default:
            throw SafetensorsError(path: path, cause: .unsupportedDType,
                                   reason: "tensor '\(name)' has dtype \(entry.dtype); expected a float type (F32, F16 or BF16)")
        }
    }

    /// The SHA-256 of the whole file (64 hexadecimal digits, as `sha256sum` prints it), read from the mapping.
    public func sha256() -> String { SHA256.hex(bytes) }

    // MARK: - The header

    /// The element sizes in bits of the dtypes the format defines (safetensors' tensor.rs, `Dtype::bitsize`).
    static let dtypeBits: [String: Int] = [
        "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
        "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64,
    ]

    /// A problem found in the bytes, before the path is attached.
    struct Problem: Error {
        let cause: SafetensorsError.Cause
        let reason: String
        init(_ cause: SafetensorsError.Cause, _ reason: String) { self.cause = cause; self.reason = reason }
    }

    struct Header {
        var dataStart: Int
        var tensors: [String: SafetensorsTensorInfo]
        var metadata: [String: String]
    }

    /// Checks a whole file's bytes (at least 8) and returns its header.
    static func parse(_ file: UnsafeRawBufferPointer) throws -> Header {
        let declared = UInt64(littleEndian: file.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard declared <= UInt64(maxHeaderLength) else {
            throw Problem(.headerTooLarge, "not a safetensors file: the header's length \(declared) exceeds the format's limit of \(maxHeaderLength) bytes")
        }
        let n = Int(declared)
        guard 8 + n <= file.count else {
            throw Problem(.headerBeyondFile, "the header's length (\(n) bytes) runs past the end of the file (\(file.count) bytes: truncated?)")
        }
        let text = UnsafeRawBufferPointer(rebasing: file[8..<(8 + n)])
        if let bad = firstInvalidUTF8(text) {
            throw Problem(.headerNotUTF8, "the header is not valid UTF-8 (at byte \(bad) of the header)")
        }
        guard n > 0, text[0] == UInt8(ascii: "{") else {
            throw Problem(.headerNotJSON, "the header does not start with '{' (not a safetensors header)")
        }
        var parser = HeaderParser(text)
        let root = try parser.document()
        guard case .object(let entries) = root else { throw Problem(.headerNotJSON, "the header is not a JSON object") }

        var tensors: [String: SafetensorsTensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                metadata = try readMetadata(value)
                continue
            }
            let info = try readEntry(name, value)
            tensors[name] = info
        }
        // In offset order, each tensor starts where the previous ended (the first at 0): no holes, no overlap.
        let ordered = tensors.values.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name)
        }
        var end = 0
        for t in ordered {
            guard t.dataOffsets.lowerBound == end else {
                let what = t.dataOffsets.lowerBound > end ? "leaving a hole" : "overlapping the previous tensor"
                throw Problem(.invalidOffsets, "tensor '\(t.name)' starts at data byte \(t.dataOffsets.lowerBound), where the tensors before it end at \(end) (\(what))")
            }
            end = t.dataOffsets.upperBound
        }
        let dataLength = file.count - 8 - n
        guard dataLength == end else {
            throw Problem(.dataLengthMismatch, "the tensors' data is \(end) bytes by the header, but the file holds \(dataLength) after the header (\(dataLength < end ? "truncated?" : "trailing bytes"))")
        }
        return Header(dataStart: 8 + n, tensors: tensors, metadata: metadata)
    }

    private static func readMetadata(_ value: HeaderValue) throws -> [String: String] {
        if case .null = value { return [:] }
        guard case .object(let pairs) = value else {
            throw Problem(.invalidEntry, "the header's __metadata__ is not an object of strings")
        }
        var out: [String: String] = [:]
        for (key, item) in pairs {
            guard case .string(let s) = item else {
                throw Problem(.invalidEntry, "the header's __metadata__ value of '\(key)' is not a string")
            }
            out[key] = s
        }
        return out
    }

    private static func readEntry(_ name: String, _ value: HeaderValue) throws -> SafetensorsTensorInfo {
        guard case .object(let fields) = value else {
            throw Problem(.invalidEntry, "the header's entry for tensor '\(name)' is not an object")
        }
        func field(_ key: String) throws -> HeaderValue {
            guard let v = fields.first(where: { $0.0 == key })?.1 else {
                throw Problem(.invalidEntry, "the header's entry for tensor '\(name)' has no \"\(key)\"")
            }
            return v
        }
        func integers(_ key: String) throws -> [Int] {
            guard case .array(let items) = try field(key) else {
                throw Problem(.invalidEntry, "tensor '\(name)': \"\(key)\" is not an array")
            }
            return try items.map { item in
                guard case .integer(let i) = item else {
                    throw Problem(.invalidEntry, "tensor '\(name)': \"\(key)\" holds \(item.summary), not a non-negative integer")
                }
                return i
            }
        }
        guard case .string(let dtype) = try field("dtype") else {
            throw Problem(.invalidEntry, "tensor '\(name)': \"dtype\" is not a string")
        }
        guard let bits = dtypeBits[dtype] else {
            throw Problem(.unknownDType, "tensor '\(name)' has dtype '\(dtype)', which the safetensors format does not define")
        }
        let shape = try integers("shape")
        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else {
            throw Problem(.invalidEntry, "tensor '\(name)': \"data_offsets\" has \(offsets.count) numbers, not 2 (begin, end)")
        }
        guard offsets[0] <= offsets[1] else {
            throw Problem(.invalidOffsets, "tensor '\(name)' ends (data byte \(offsets[1])) before it begins (\(offsets[0]))")
        }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw Problem(.shapeOverflow, "tensor '\(name)' has shape \(shape), whose size overflows 64 bits") }
            count = product
        }
        let (totalBits, overflow) = count.multipliedReportingOverflow(by: bits)
        guard !overflow else { throw Problem(.shapeOverflow, "tensor '\(name)' has shape \(shape) of \(dtype), whose size in bits overflows 64 bits") }
        guard totalBits % 8 == 0 else {
            throw Problem(.sizeMismatch, "tensor '\(name)' of shape \(shape) and dtype \(dtype) is not a whole number of bytes")
        }
        guard offsets[1] - offsets[0] == totalBits / 8 else {
            throw Problem(.sizeMismatch, "tensor '\(name)' of shape \(shape) and dtype \(dtype) needs \(totalBits / 8) bytes, but its data_offsets span \(offsets[1] - offsets[0])")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: offsets[0]..<offsets[1], count: count)
    }

    /// The offset of the first byte that does not belong to a well-formed UTF-8 sequence (overlong forms,
    /// surrogates and values above U+10FFFF are not well-formed), or nil.
    static func firstInvalidUTF8(_ b: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard i + length <= n else { return i }
            guard b[i + 1] >= low && b[i + 1] <= high else { return i }
            for j in 2..<max(2, length) where b[i + j] < 0x80 || b[i + j] > 0xBF { return i }
            i += length
        }
        return nil
    }
}

/// A JSON value of a safetensors header. Integers are kept exact (offsets and sizes); other numbers are kept
/// only as a mark, since no field this reader uses may hold one.
indirect enum HeaderValue {
    case object([(String, HeaderValue)])
    case array([HeaderValue])
    case string(String)
    /// A non-negative integer that fits in Int.
    case integer(Int)
    /// Any other number (negative, fractional, with an exponent, or too large), as written.
    case otherNumber(String)
    case bool(Bool)
    case null

    /// A short description for error messages.
    var summary: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string(let s): return "the string \"\(s.prefix(40))\""
        case .integer(let i): return "\(i)"
        case .otherNumber(let s): return String(s.prefix(40))
        case .bool(let b): return "\(b)"
        case .null: return "null"
        }
    }
}

/// A strict JSON (RFC 8259) parser over a safetensors header's bytes, already checked to be UTF-8: nesting at
/// most `maxDepth` deep (so a hostile header cannot exhaust the stack), a key twice in one object an error,
/// whitespace after the value allowed (writers pad with spaces), anything else after it an error.
struct HeaderParser {
    static let maxDepth = 8
    private let b: UnsafeRawBufferPointer
    private var i = 0

    init(_ bytes: UnsafeRawBufferPointer) { b = bytes }

    private typealias Problem = SafetensorsFile.Problem

    private func fail(_ message: String, at offset: Int? = nil) -> Problem {
        Problem(.headerNotJSON, "the header is not valid JSON at byte \(offset ?? i) of the header: \(message)")
    }

    mutating func document() throws -> HeaderValue {
        let v = try value(depth: 1)
        skipSpace()
        guard i == b.count else { throw fail("unexpected \(describe(b[i])) after the header's object") }
        return v
    }

    private func describe(_ c: UInt8) -> String {
        c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : String(format: "byte 0x%02X", c)
    }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func value(depth: Int) throws -> HeaderValue {
        skipSpace()
        guard i < b.count else { throw fail("the header ends where a value should be") }
        switch b[i] {
        case UInt8(ascii: "{"):
            guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
            i += 1
            var pairs: [(String, HeaderValue)] = []
            var seen = Set<String>()
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key in quotes") }
                let keyStart = i
                let key = try string()
                guard seen.insert(key).inserted else {
                    throw Problem(.duplicateKey, "the header has the key '\(key)' twice in one object (at byte \(keyStart) of the header)")
                }
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                i += 1
                pairs.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard i < b.count else { throw fail("the header ends inside an object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                throw fail("expected ',' or '}' in an object, found \(describe(b[i]))")
            }
        case UInt8(ascii: "["):
            guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
            i += 1
            var items: [HeaderValue] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < b.count else { throw fail("the header ends inside an array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']' in an array, found \(describe(b[i]))")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try word("true"); return .bool(true)
        case UInt8(ascii: "f"): try word("false"); return .bool(false)
        case UInt8(ascii: "n"): try word("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected \(describe(b[i]))")
        }
    }

    private mutating func word(_ w: StaticString) throws {
        let start = i
        for c in UnsafeRawBufferPointer(start: w.utf8Start, count: w.utf8CodeUnitCount) {
            guard i < b.count, b[i] == c else { throw fail("expected \(w)", at: start) }
            i += 1
        }
    }

    private func isDigit(_ at: Int) -> Bool { at < b.count && b[at] >= 0x30 && b[at] <= 0x39 }

    /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func number() throws -> HeaderValue {
        let start = i
        let negative = b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard isDigit(i) else { throw fail("a number without digits", at: start) }
        var plain = true
        if b[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { throw fail("a number with a leading zero", at: start) }
        } else {
            while isDigit(i) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { throw fail("a number with no digits after '.'", at: start) }
            while isDigit(i) { i += 1 }
            plain = false
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { throw fail("a number with no digits in its exponent", at: start) }
            while isDigit(i) { i += 1 }
            plain = false
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        if plain && !negative, let value = Int(text) { return .integer(value) }
        return .otherNumber(text)
    }

    /// A string starting at the opening quote; its bytes are known to be UTF-8.
    private mutating func string() throws -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while i < b.count {
            let c = b[i]
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                i += 1
                guard i < b.count else { break }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                            throw fail("a string with an unpaired surrogate escape", at: start)
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("a string with an unpaired surrogate escape", at: start) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("a string with an unpaired surrogate escape", at: start)
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                default:
                    throw fail("a string with an invalid escape", at: i - 2)
                }
            case 0x00..<0x20:
                throw fail("a string with an unescaped control character", at: i)
            default:
                out.append(c)
                i += 1
            }
        }
        throw fail("the header ends inside a string", at: start)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw fail("a \\u escape with fewer than 4 hex digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 0x61 + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 0x41 + 10)
            default: throw fail("a \\u escape with a non-hex digit")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }
}
