@testable import GallopLearned
import XCTest

/// SHA-256 against FIPS 180-4's examples (NIST's "SHA256.pdf" and the long-message vector), and streaming:
/// the same digest whatever the pieces the message is fed in.
final class SHA256Tests: XCTestCase {
    func hex(_ text: String) -> String {
        var h = SHA256()
        h.update(Array(text.utf8))
        return h.hexDigest()
    }

    func testNISTVectors() {
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(million.withUnsafeBytes { SHA256.hex($0) }, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Messages of every length from 0 to 200 (every padding case: 55, 56, 63, 64 bytes …) fed whole and in
    /// pieces of 1, 7, 63, 64 and 65 bytes give the same digest, at the padding boundaries the digests Python's
    /// hashlib gives (pinned); the 896-bit NIST message in pieces gives its digest.
    func testStreamingInPieces() {
        let nist = Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)
        for piece in [1, 7, 63, 64, 65] {
            var h = SHA256()
            for start in stride(from: 0, to: nist.count, by: piece) { h.update(nist[start..<min(nist.count, start + piece)]) }
            XCTAssertEqual(h.hexDigest(), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "pieces of \(piece)")
        }
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        // hashlib.sha256(bytes((i * 31 + 7) & 0xFF for i in range(200))[:length]).hexdigest()
        let pinned = [
            55: "8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b",
            56: "ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63",
            63: "280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076",
            64: "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd",
            65: "788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0",
            119: "3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe",
            120: "1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656",
            200: "44cae5223d431caed4a9e32271d6abf17c3f2f4abac45fcdb48a99fcc6072a09",
        ]
        for (length, digest) in pinned {
            XCTAssertEqual(message.prefix(length).withUnsafeBytes { SHA256.hex($0) }, digest, "length \(length)")
        }
        for length in 0...200 {
            let whole = message.prefix(length).withUnsafeBytes { SHA256.hex($0) }
            for piece in [1, 7, 63, 64, 65] {
                var h = SHA256()
                for start in stride(from: 0, to: length, by: piece) { h.update(message[start..<min(length, start + piece)]) }
                XCTAssertEqual(h.hexDigest(), whole, "length \(length), pieces of \(piece)")
            }
        }
    }

    /// `finalize` leaves the hash open: more bytes may follow.
    func testFinalizeDoesNotEndTheStream() {
        var h = SHA256()
        h.update(Array("ab".utf8))
        _ = h.hexDigest()
        h.update(Array("c".utf8))
        XCTAssertEqual(h.hexDigest(), hex("abc"))
    }

    /// Large messages of odd lengths (16 MiB + 13 bytes, 1,000,003 bytes) fed whole and in odd pieces (4 MiB + 1,
    /// 65,537 bytes) give the digests Python's hashlib gives on the same bytes (pinned), as the portable Swift
    /// implementation libcrypto replaced did.
    func testLargeOddLengthMessagesMatchHashlib() {
        let n = (16 << 20) + 13
        // hashlib.sha256(bytes(((i * 131 + 17) >> 3) & 0xFF for i in range(n))[:length]).hexdigest()
        let message = (0..<n).map { UInt8(truncatingIfNeeded: ($0 &* 131 &+ 17) >> 3) }
        let pinned = [n: "33200e542810419171f141b3ae779ba563aa81c5155f32d16b2a9a3141582b59",
                      1_000_003: "257f804d3d63b852a3e6a5d1ec24a8dc7523c3b93826142ee6c365a9c1c9e28e"]
        for (length, digest) in pinned {
            XCTAssertEqual(message.withUnsafeBytes { SHA256.hex(UnsafeRawBufferPointer(rebasing: $0[..<length])) }, digest, "length \(length)")
            for piece in [(4 << 20) + 1, 65_537] {
                var h = SHA256()
                message.withUnsafeBytes { all in
                    for start in stride(from: 0, to: length, by: piece) { h.update(UnsafeRawBufferPointer(rebasing: all[start..<min(length, start + piece)])) }
                }
                XCTAssertEqual(h.hexDigest(), digest, "length \(length), pieces of \(piece)")
            }
        }
    }

    /// A copy is a value: it hashes on from where the original was, and neither sees the other's bytes after.
    func testACopyHashesOnIndependently() {
        var a = SHA256()
        a.update(Array("ab".utf8))
        var b = a
        b.update(Array("c".utf8))
        a.update(Array("d".utf8))
        XCTAssertEqual(b.hexDigest(), hex("abc"))
        XCTAssertEqual(a.hexDigest(), hex("abd"))
    }
}
