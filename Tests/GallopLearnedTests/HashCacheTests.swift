import Foundation
@testable import GallopLearned
import XCTest

/// The weights' hash cache (``HashCache``): a hit does not read the file, a touched or rewritten file is hashed
/// again, a corrupt cache file is ignored (and rewritten), `GALLOP_HASH_CACHE=none` turns it off.
final class HashCacheTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "gallop-hash-cache-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// The real hash, counting the reads.
    final class Counting {
        var reads = 0
        func hash(_ path: String) throws -> String {
            reads += 1
            return try ModelRef.hashFile(path)
        }
    }

    func sha256sum(_ path: String) throws -> String {
        try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { SHA256.hex($0) }
    }

    func testAHitReturnsTheSameHashWithoutReading() throws {
        let weights = dir + "/model.safetensors"
        try Data("weights one".utf8).write(to: URL(fileURLWithPath: weights))
        let cache = HashCache(file: dir + "/cache/weights-sha256"), counting = Counting()
        let first = try cache.sha256(of: weights, hash: counting.hash)
        XCTAssertEqual(first, try sha256sum(weights))
        XCTAssertEqual(counting.reads, 1)
        XCTAssertEqual(try cache.sha256(of: weights, hash: counting.hash), first)
        XCTAssertEqual(counting.reads, 1)
        // A relative path to the same file is the same entry.
        let here = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(here) }
        XCTAssertEqual(try cache.sha256(of: "model.safetensors", hash: counting.hash), first)
        XCTAssertEqual(counting.reads, 1)
        // The file records the absolute path, device, inode, size, times and hash.
        let text = try String(contentsOfFile: dir + "/cache/weights-sha256", encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("gallop-weights-sha256 1\n" + HashCache.absolute(weights) + "\t"), text)
        XCTAssertTrue(text.hasSuffix("\t\(first)\n"), text)
        // No temporary file left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/cache"), ["weights-sha256"])
    }

    func testATouchedOrRewrittenFileIsHashedAgain() throws {
        let weights = dir + "/model.safetensors"
        try Data("weights one".utf8).write(to: URL(fileURLWithPath: weights))
        let cache = HashCache(file: dir + "/weights-sha256"), counting = Counting()
        _ = try cache.sha256(of: weights, hash: counting.hash)
        // Touched (content the same, mtime moved): hashed again, the same hash.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: weights)
        XCTAssertEqual(try cache.sha256(of: weights, hash: counting.hash), try sha256sum(weights))
        XCTAssertEqual(counting.reads, 2)
        XCTAssertEqual(try cache.sha256(of: weights, hash: counting.hash), try sha256sum(weights))
        XCTAssertEqual(counting.reads, 2)
        // Rewritten with the same size and its old mtime set back: ctime still moved, so hashed again (the new hash).
        let attributes = try FileManager.default.attributesOfItem(atPath: weights)
        try Data("weights two".utf8).write(to: URL(fileURLWithPath: weights))
        try FileManager.default.setAttributes([.modificationDate: attributes[.modificationDate]!], ofItemAtPath: weights)
        let second = try cache.sha256(of: weights, hash: counting.hash)
        XCTAssertEqual(counting.reads, 3)
        XCTAssertEqual(second, try sha256sum(weights))
        // One entry per path: the old one replaced.
        XCTAssertEqual(HashCache.read(dir + "/weights-sha256").count, 1)
    }

    func testACorruptCacheIsIgnoredAndRewritten() throws {
        let weights = dir + "/model.safetensors"
        try Data("weights".utf8).write(to: URL(fileURLWithPath: weights))
        let file = dir + "/weights-sha256"
        let cache = HashCache(file: file), counting = Counting()
        let good = try cache.sha256(of: weights, hash: counting.hash)
        let line = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")[1]
        let wrong = String(repeating: "0", count: 64)
        let corrupt: [Data] = [
            Data([0xff, 0xfe, 0x00, 0x0a, 0x80]),                                   // not text
            Data("gallop-weights-sha256 1\n\(line.dropLast(10))".utf8),             // cut mid-line
            Data("gallop-weights-sha256 1\n\(line.dropLast(64))\(wrong.dropLast())\n".utf8), // a 63-digit hash
            Data("gallop-weights-sha256 1\n\(line.dropLast(64))\(wrong.uppercased())X\n\t\t\n".utf8),
            Data("gallop-weights-sha256 2\n\(line.dropLast(64))\(wrong)\n".utf8),   // another format: its hash not taken
            Data(),
        ]
        for (i, bytes) in corrupt.enumerated() {
            try bytes.write(to: URL(fileURLWithPath: file))
            XCTAssertEqual(try cache.sha256(of: weights, hash: counting.hash), good, "case \(i)")
            XCTAssertEqual(counting.reads, 2 + i, "case \(i)")
            XCTAssertEqual(HashCache.read(file).map(\.sha256), [good], "case \(i): rewritten")
        }
        // A folder where the cache file should be: hashed, no error, nothing cached.
        try FileManager.default.removeItem(atPath: file)
        try FileManager.default.createDirectory(atPath: file, withIntermediateDirectories: true)
        XCTAssertEqual(try cache.sha256(of: weights, hash: counting.hash), good)
        XCTAssertEqual(try cache.sha256(of: weights, hash: counting.hash), good)
        XCTAssertEqual(counting.reads, 2 + corrupt.count + 1)
    }

    func testTheEnvironmentChoosesTheFileOrNone() {
        XCTAssertNil(HashCache.fromEnvironment(["GALLOP_HASH_CACHE": "none", "HOME": "/home/u"]).file)
        XCTAssertEqual(HashCache.fromEnvironment(["GALLOP_HASH_CACHE": "/tmp/c", "HOME": "/home/u"]).file, "/tmp/c")
        XCTAssertEqual(HashCache.fromEnvironment(["XDG_CACHE_HOME": "/x", "HOME": "/home/u"]).file, "/x/gallop/weights-sha256")
        XCTAssertEqual(HashCache.fromEnvironment(["XDG_CACHE_HOME": "rel", "HOME": "/home/u"]).file, "/home/u/.cache/gallop/weights-sha256")
        XCTAssertEqual(HashCache.fromEnvironment(["HOME": "/home/u"]).file, "/home/u/.cache/gallop/weights-sha256")
        XCTAssertNil(HashCache.fromEnvironment([:]).file)
        // Off: every call hashes.
        let counting = Counting()
        let path = #filePath
        _ = try? HashCache(file: nil).sha256(of: path, hash: counting.hash)
        _ = try? HashCache(file: nil).sha256(of: path, hash: counting.hash)
        XCTAssertEqual(counting.reads, 2)
    }
}
