import Foundation
import GallopCore
@testable import GallopLearned
import XCTest

/// Safetensors files written by the tests themselves (the format is an 8-byte little-endian length, a JSON
/// header and the data): a good file in F32, F16 and BF16 with metadata, then every way a file can be cut
/// short or its header be wrong, each a thrown `SafetensorsError` with its cause and a one-sentence message
/// naming the file.
final class SafetensorsTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("gallop-safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    // MARK: - Writing files

    /// The file's bytes: the header's length, the header padded with spaces to a multiple of 8 (as the
    /// reference writer pads it, unless `pad` is false), then the data.
    static func file(header: String, data: [UInt8], pad: Bool = true) -> [UInt8] {
        var h = Array(header.utf8)
        if pad { while h.count % 8 != 0 { h.append(0x20) } }
        return file(headerBytes: h, data: data)
    }

    static func file(headerBytes h: [UInt8], data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out += $0 }
        return out + h + data
    }

    /// A header and data for tensors given as (name, dtype, shape, raw bytes), laid out one after the other.
    static func build(_ tensors: [(String, String, [Int], [UInt8])], metadata: [String: String]? = nil) -> (String, [UInt8]) {
        var parts: [String] = []
        if let metadata {
            let items = metadata.keys.sorted().map { "\"\($0)\":\"\(metadata[$0]!)\"" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var data: [UInt8] = []
        for (name, dtype, shape, bytes) in tensors {
            let shapeText = shape.map(String.init).joined(separator: ",")
            parts.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shapeText)],\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
            data += bytes
        }
        return ("{" + parts.joined(separator: ",") + "}", data)
    }

    static func bytes(f32 values: [Float]) -> [UInt8] { values.flatMap { le($0.bitPattern) } }
    static func bytes(f16 values: [Float]) -> [UInt8] { values.flatMap { le(Float16($0).bitPattern) } }
    /// bfloat16: the upper half of float32 (exact for the values used, whose lower half is zero).
    static func bytes(bf16 values: [Float]) -> [UInt8] { values.flatMap { le(UInt16($0.bitPattern >> 16)) } }
    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    func write(_ bytes: [UInt8], name: String = "model.safetensors") throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Opening `bytes` throws a SafetensorsError with `cause`, whose message names the file in one sentence
    /// and contains `mentions`.
    func expectFailure(_ bytes: [UInt8], _ cause: SafetensorsError.Cause, mentions: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try write(bytes, name: "bad.safetensors")
        do {
            let opened = try SafetensorsFile(path: path)
            XCTFail("opened a bad file with \(opened.tensors.count) tensors; expected \(cause)", file: file, line: line)
        } catch let error as SafetensorsError {
            XCTAssertEqual(error.cause, cause, "\(error)", file: file, line: line)
            checkSentence(error, path: path, file: file, line: line)
            if let mentions { XCTAssertTrue(error.description.contains(mentions), "\(error) should mention \(mentions)", file: file, line: line) }
        }
    }

    func checkSentence(_ error: SafetensorsError, path: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(error.description.hasPrefix(path + ": "), "\(error)", file: file, line: line)
        XCTAssertFalse(error.description.contains("\n"), "\(error)", file: file, line: line)
    }

    // MARK: - A good file

    static let f32Values: [Float] = [0, 1, -2.5, 3.25e-20, .greatestFiniteMagnitude, -.leastNonzeroMagnitude]
    /// All exact in F16: ±0, a subnormal, the largest finite value, infinity.
    static let f16Values: [Float] = [-0.0, 1.5, -65504, Float(Float16.leastNonzeroMagnitude), .infinity, 0.333251953125]
    /// All exact in BF16.
    static let bf16Values: [Float] = [3.140625, Float(-1e30).bf16Rounded, 1.0, -.infinity]

    static func goodFile() -> [UInt8] {
        let (header, data) = build([
            ("f32", "F32", [2, 3], bytes(f32: f32Values)),
            ("half", "F16", [3, 2], bytes(f16: f16Values)),
            // Data bytes 0-24, 24-36, 36-44, 44-48, 48-48, 48-50, then 50-58: the last F32 tensor is not 4-byte aligned.
            ("brain", "BF16", [4], bytes(bf16: bf16Values)),
            ("scalar", "F32", [], bytes(f32: [42])),
            ("empty", "F32", [0, 5], []),
            ("odd", "F16", [1], bytes(f16: [2])),
            ("unaligned", "F32", [2], bytes(f32: [7, -7])),
        ], metadata: ["format": "pt", "note": "a \\\"quoted\\\" value, é"])
        return file(header: header, data: data)
    }

    func testGoodFile() throws {
        let path = try write(Self.goodFile())
        let st = try SafetensorsFile(path: path)
        XCTAssertEqual(st.metadata, ["format": "pt", "note": "a \"quoted\" value, é"])
        XCTAssertEqual(st.names, ["brain", "empty", "f32", "half", "odd", "scalar", "unaligned"])
        XCTAssertEqual(st.dataStart % 8, 0, "the writer padded the header to 8 bytes")

        let f32 = try st.tensor("f32")
        XCTAssertEqual(f32.shape, [2, 3])
        XCTAssertTrue(f32.isMapped, "an aligned F32 tensor is read in place")
        XCTAssertEqual(f32.values.map(\.bitPattern), Self.f32Values.map(\.bitPattern))

        let half = try st.tensor("half")
        XCTAssertEqual(half.shape, [3, 2])
        XCTAssertFalse(half.isMapped)
        XCTAssertEqual(half.values.map(\.bitPattern), Self.f16Values.map(\.bitPattern))

        let brain = try st.tensor("brain")
        XCTAssertEqual(brain.values.map(\.bitPattern), Self.bf16Values.map(\.bitPattern))

        let scalar = try st.tensor("scalar")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.values, [42])

        let empty = try st.tensor("empty")
        XCTAssertEqual(empty.shape, [0, 5])
        XCTAssertEqual(empty.count, 0)
        XCTAssertEqual(empty.values, [])

        let unaligned = try st.tensor("unaligned")
        XCTAssertEqual(try st.info("unaligned").dataOffsets, 50..<58)
        XCTAssertFalse(unaligned.isMapped, "an F32 tensor at an unaligned offset is copied")
        XCTAssertEqual(unaligned.values, [7, -7])
        XCTAssertEqual(try st.tensor("odd").values, [2])
    }

    /// A tensor read in place keeps its file mapped after the file object itself is gone.
    func testMappedTensorOutlivesTheFileObject() throws {
        let path = try write(Self.goodFile())
        var st: SafetensorsFile? = try SafetensorsFile(path: path)
        let tensor = try st!.tensor("f32")
        weak let weakFile = st
        st = nil
        XCTAssertNotNil(weakFile, "the tensor keeps the mapping's owner alive")
        XCTAssertEqual(tensor.values.map(\.bitPattern), Self.f32Values.map(\.bitPattern))
    }

    func testHeaderWithoutPaddingMetadataOrTensors() throws {
        let noPad = try write(Self.file(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: Self.bytes(f32: [5]), pad: false), name: "nopad.safetensors")
        XCTAssertEqual(try SafetensorsFile(path: noPad).tensor("a").values, [5])
        let empty = try SafetensorsFile(path: try write(Self.file(header: "{}", data: []), name: "empty.safetensors"))
        XCTAssertEqual(empty.names, [])
        XCTAssertEqual(empty.metadata, [:])
        // JSON whitespace between tokens, escapes in names, a null metadata, unknown fields ignored.
        let spaced = "{ \"__metadata__\" : null ,\n\t\"a\\u00e9\\ud83d\\ude00\\/\" : { \"shape\" : [ 1 ] , \"dtype\" : \"F32\" , \"data_offsets\" : [ 0 , 4 ], \"extra\": {\"x\": [true, false, null, -1.5e3]} } }"
        let st = try SafetensorsFile(path: try write(Self.file(header: spaced, data: Self.bytes(f32: [9])), name: "spaced.safetensors"))
        XCTAssertEqual(st.names, ["aé😀/"])
        XCTAssertEqual(try st.tensor("aé😀/").values, [9])
    }

    // MARK: - Truncated files

    func testTruncated() throws {
        let good = Self.goodFile()
        let headerLength = Int(good[0]) | Int(good[1]) << 8
        try expectFailure([], .headerTooSmall, mentions: "0 bytes")
        try expectFailure(Array(good.prefix(4)), .headerTooSmall, mentions: "4 bytes long")
        try expectFailure(Array(good.prefix(8)), .headerBeyondFile, mentions: "runs past the end of the file (8 bytes")
        try expectFailure(Array(good.prefix(8 + headerLength / 2)), .headerBeyondFile)
        try expectFailure(Array(good.prefix(8 + headerLength + 5)), .dataLengthMismatch, mentions: "truncated")
        try expectFailure(Array(good.dropLast()), .dataLengthMismatch, mentions: "truncated")
        try expectFailure(good + [0], .dataLengthMismatch, mentions: "trailing bytes")
    }

    /// Every prefix of a good file is an error, never a trap or a file that opens.
    func testEveryPrefixIsAnError() throws {
        let good = Self.goodFile()
        for length in 0..<good.count {
            let path = try write(Array(good.prefix(length)), name: "prefix.safetensors")
            XCTAssertThrowsError(try SafetensorsFile(path: path), "prefix of \(length) bytes") { error in
                guard let error = error as? SafetensorsError else { return XCTFail("\(error)") }
                self.checkSentence(error, path: path)
            }
        }
    }

    func testHeaderLengthLimit() throws {
        var bytes = Self.le(UInt64(100_000_001))
        bytes += Array("{}".utf8)
        try expectFailure(bytes, .headerTooLarge, mentions: "100000001")
        try expectFailure(Self.le(UInt64.max) + [0x7B, 0x7D], .headerTooLarge)
    }

    // MARK: - Malformed headers

    static let entryA = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
    static let data8 = bytes(f32: [1, 2])

    func testNotUTF8() throws {
        var header = Array("{\"a\u{E9}\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}".utf8)
        let accent = header.firstIndex(of: 0xC3)!
        header[accent] = 0xFF
        try expectFailure(Self.file(headerBytes: header, data: Self.data8), .headerNotUTF8, mentions: "byte \(accent)")
        // An overlong '/' (C0 AF) and a UTF-8-encoded surrogate (ED A0 80) are not UTF-8 either.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            let h = Array("{\"a".utf8) + bad + Array("\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}".utf8)
            try expectFailure(Self.file(headerBytes: h, data: Self.data8), .headerNotUTF8)
        }
    }

    func testNotJSON() throws {
        let a = Self.entryA
        let cases: [(String, String)] = [
            ("{\(a)", "ends inside an object"),
            ("{\(a),}", "expected a key"),
            (" {\(a)}", "does not start with '{'"),
            ("[{\(a)}]", "does not start with '{'"),
            ("{\(a)}x", "unexpected 'x' after"),
            ("{\(a)}}", "unexpected '}' after"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]}}", "unexpected ']'"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", "leading zero"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":tru}", "expected true"),
            ("{\"a\\x\":{}}", "invalid escape"),
            ("{\"a\\ud800\":{}}", "unpaired surrogate"),
            ("{\"a\n\":{}}", "control character"),
            ("{'a':{}}", "expected a key in quotes"),
            ("{\"a\" {}}", "expected ':'"),
            ("{\(a),\"deep\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12],\"x\":[[[[[[[[1]]]]]]]]}}", "nested deeper than 8"),
        ]
        for (header, mention) in cases {
            try expectFailure(Self.file(header: header, data: Self.data8), .headerNotJSON, mentions: mention)
        }
        // A thousand-deep nesting is refused at depth 8, not followed down the stack.
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        try expectFailure(Self.file(header: deep, data: []), .headerNotJSON, mentions: "nested deeper")
        // Trailing spaces are the writers' padding; a trailing NUL is not JSON.
        try expectFailure(Self.file(header: "{\(a)}\u{0}", data: Self.data8, pad: false), .headerNotJSON)
    }

    func testDuplicateKeys() throws {
        try expectFailure(Self.file(header: "{\(Self.entryA),\(Self.entryA)}", data: Self.data8), .duplicateKey, mentions: "'a' twice")
        try expectFailure(Self.file(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"shape\":[2],\"data_offsets\":[0,8]}}", data: Self.data8),
                          .duplicateKey, mentions: "'shape' twice")
        try expectFailure(Self.file(header: "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},\(Self.entryA)}", data: Self.data8), .duplicateKey)
    }

    func testHolesAndOverlaps() throws {
        func two(_ a: [Int], _ b: [Int], data: Int) throws {
            let header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\(a[0]),\(a[1])]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\(b[0]),\(b[1])]}}"
            try expectFailure(Self.file(header: header, data: [UInt8](repeating: 0, count: data)), .invalidOffsets, mentions: "tensor '")
        }
        try two([0, 8], [12, 20], data: 20)   // a hole between them
        try two([0, 8], [4, 12], data: 12)    // overlapping
        try two([4, 12], [12, 20], data: 20)  // the first starts after 0
        try two([0, 8], [0, 8], data: 8)      // the same bytes twice
        try expectFailure(Self.file(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", data: []), .invalidOffsets, mentions: "before it begins")
    }

    func testSizeMismatchAndOverflow() throws {
        try expectFailure(Self.file(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", data: [UInt8](repeating: 0, count: 12)),
                          .sizeMismatch, mentions: "needs 8 bytes, but its data_offsets span 12")
        try expectFailure(Self.file(header: "{\"a\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[0,8]}}", data: [UInt8](repeating: 0, count: 8)),
                          .sizeMismatch, mentions: "needs 12 bytes")
        try expectFailure(Self.file(header: "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", data: [0]),
                          .sizeMismatch, mentions: "whole number of bytes")
        try expectFailure(Self.file(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", data: []),
                          .shapeOverflow, mentions: "[4294967296, 4294967296]")
        try expectFailure(Self.file(header: "{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}", data: []),
                          .shapeOverflow, mentions: "in bits")
    }

    func testInvalidEntries() throws {
        let cases: [(String, SafetensorsError.Cause, String)] = [
            ("{\"a\":[1]}", .invalidEntry, "not an object"),
            ("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", .invalidEntry, "no \"dtype\""),
            ("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", .invalidEntry, "no \"shape\""),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", .invalidEntry, "no \"data_offsets\""),
            ("{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", .invalidEntry, "\"dtype\" is not a string"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", .invalidEntry, "\"shape\" is not an array"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", .invalidEntry, "holds -2, not a non-negative integer"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", .invalidEntry, "holds 2.0"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8e0]}}", .invalidEntry, "holds 8e0"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999]}}", .invalidEntry, "holds 99999999999999999999"),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", .invalidEntry, "the string \"2\""),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}}", .invalidEntry, "3 numbers, not 2"),
            ("{\"__metadata__\":{\"k\":1},\(Self.entryA)}", .invalidEntry, "value of 'k' is not a string"),
            ("{\"__metadata__\":[],\(Self.entryA)}", .invalidEntry, "__metadata__ is not an object"),
            ("{\"a\":{\"dtype\":\"F128\",\"shape\":[2],\"data_offsets\":[0,8]}}", .unknownDType, "'F128'"),
        ]
        for (header, cause, mention) in cases {
            try expectFailure(Self.file(header: header, data: Self.data8), cause, mentions: mention)
        }
    }

    // MARK: - Reading tensors

    func testIntegerTensorIsAClearError() throws {
        let (header, data) = Self.build([("weight", "F32", [1], Self.bytes(f32: [1])), ("position_ids", "I64", [1, 3], (0..<3).flatMap { Self.le(Int64($0)) })])
        let path = try write(Self.file(header: header, data: data))
        let st = try SafetensorsFile(path: path)
        XCTAssertEqual(try st.info("position_ids").dtype, "I64")
        XCTAssertThrowsError(try st.tensor("position_ids")) { error in
            guard let error = error as? SafetensorsError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.cause, .unsupportedDType)
            XCTAssertEqual(error.description, "\(path): tensor 'position_ids' has dtype I64; expected a float type (F32, F16 or BF16)")
        }
        XCTAssertEqual(try st.tensor("weight").values, [1])
    }

    func testMissingTensor() throws {
        let path = try write(Self.goodFile())
        let st = try SafetensorsFile(path: path)
        XCTAssertThrowsError(try st.tensor("visual.proj")) { error in
            guard let error = error as? SafetensorsError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.cause, .missingTensor)
            XCTAssertEqual(error.description, "\(path): no tensor named 'visual.proj' (the file has 7 tensors: 'brain', 'empty', 'f32', 'half', 'odd', …)")
        }
    }

    func testUnreadablePaths() throws {
        for path in [folder.appendingPathComponent("absent.safetensors").path, folder.path] {
            XCTAssertThrowsError(try SafetensorsFile(path: path)) { error in
                guard let error = error as? SafetensorsError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.cause, .unreadable)
                self.checkSentence(error, path: path)
            }
        }
    }

    /// Random byte changes in a good file's first bytes (length and header) and random lengths: each either
    /// opens (and its float tensors read) or throws a SafetensorsError. A trap would end the test run.
    func testMutatedFilesNeverTrap() throws {
        let good = Self.goodFile()
        var g = SplitMix64(seed: 25)
        let path = folder.appendingPathComponent("mutated.safetensors").path
        var opened = 0, refused = 0
        for _ in 0..<600 {
            var bytes = good
            for _ in 0..<(1 + Int(g.next() % 3)) {
                let at = Int(g.next() % UInt64(min(bytes.count, 8 + 200)))
                bytes[at] = g.next() % 4 == 0 ? UInt8(truncatingIfNeeded: g.next()) : [0x22, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x30, 0x39, 0x5C][Int(g.next() % 10)]
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let st = try SafetensorsFile(path: path)
                for name in st.names { _ = try? st.tensor(name).values }
                opened += 1
            } catch let error as SafetensorsError {
                checkSentence(error, path: path)
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 0)
        XCTAssertEqual(opened + refused, 600)
    }

    // MARK: - SHA-256 of the file

    /// The file's SHA-256 from the mapping equals coreutils' `sha256sum` on the same file.
    func testFileHashEqualsSha256sum() throws {
        var g = SplitMix64(seed: 7)
        // A file larger than one block and not a whole number of blocks (1 MB + 37 bytes of data).
        let values = (0..<262_153).map { _ in Float(g.gaussian()) }
        let (header, data) = Self.build([("w", "F32", [values.count], Self.bytes(f32: values))])
        let path = try write(Self.file(header: header, data: data))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let expected = String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init)
        XCTAssertEqual(try SafetensorsFile(path: path).sha256(), expected)
    }
}

private extension Float {
    /// The value with its lower 16 bits cleared (a bfloat16 value).
    var bf16Rounded: Float { Float(bitPattern: bitPattern & 0xFFFF_0000) }
}
