import CLibCrypto

/// SHA-256 (FIPS 180-4), streaming: the content hash of a model's files, which enters a run's fingerprint so that
/// two runs with differently named copies of the same weights agree and two runs with different weights do not.
///
/// Computed by OpenSSL's libcrypto (``CLibCrypto``), which uses the CPU's SHA extensions where present: ViT-B/32's
/// ~350 MB of weights are hashed at every start that does not find them in the hash cache (``HashCache``). A value
/// type: a copy hashes on from where the original was (the context is copied before the first write to a shared one).
public struct SHA256: Sendable {
    /// The one owner of a libcrypto context, freed in deinit.
    private final class Context: @unchecked Sendable {
        let pointer: OpaquePointer

        init() {
            // Only out of memory makes libcrypto fail here: nothing to recover.
            guard let p = gallop_sha256_new() else { fatalError("SHA256: libcrypto could not make a SHA-256 context") }
            pointer = p
        }

        init(copying other: Context) {
            guard let p = gallop_sha256_copy(other.pointer) else { fatalError("SHA256: libcrypto could not copy a SHA-256 context") }
            pointer = p
        }

        deinit { gallop_sha256_free(pointer) }
    }

    // Unchecked: the context is mutated only when this value holds the one reference to it (copy on write).
    nonisolated(unsafe) private var context = Context()

    public init() {}

    /// Adds bytes to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        guard gallop_sha256_update(context.pointer, base, bytes.count) == 1 else { fatalError("SHA256: libcrypto's update failed") }
    }

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest of everything added (the value itself is unchanged: more may be added after).
    public func finalize() -> [UInt8] {
        let copy = Context(copying: context)
        var digest = [UInt8](repeating: 0, count: 32)
        guard gallop_sha256_final(copy.pointer, &digest) == 1 else { fatalError("SHA256: libcrypto's final failed") }
        return digest
    }

    /// The digest as 64 lower-case hexadecimal digits (as `sha256sum` prints it).
    public func hexDigest() -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    /// The hex digest of bytes in memory.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var hash = SHA256()
        hash.update(bytes)
        return hash.hexDigest()
    }
}
