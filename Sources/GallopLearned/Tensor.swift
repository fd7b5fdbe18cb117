/// A float32 tensor: its shape (row-major, last dimension contiguous) and its values, either owned or read in
/// place from a weights file's memory mapping.
///
/// A mapped tensor keeps its file (and so the mapping) alive for as long as it exists: weights read in place
/// cost no copy, and the page cache holding them is shared by every worker process that maps the same file.
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    /// The number of values: the product of `shape` (1 for a scalar's empty shape).
    public let count: Int
    private let storage: Storage

    /// `@unchecked Sendable`: a mapping is read-only (`PROT_READ`) and its owner unmaps it only when no tensor
    /// refers to it; owned values are an immutable array.
    private enum Storage {
        case owned([Float])
        case mapped(UnsafePointer<Float>, owner: AnyObject)
    }

    /// A tensor owning `values`, which must number the product of `shape`.
    public init(shape: [Int], values: [Float]) {
        let count = shape.reduce(1, *)
        precondition(values.count == count, "Tensor: \(values.count) values for shape \(shape), which holds \(count)")
        self.shape = shape
        self.count = count
        storage = .owned(values)
    }

    /// A tensor viewing `count` floats at `base` inside memory that `owner` keeps valid.
    init(shape: [Int], count: Int, mapped base: UnsafePointer<Float>, owner: AnyObject) {
        self.shape = shape
        self.count = count
        storage = .mapped(base, owner: owner)
    }

    /// Whether the values are read in place from a file's mapping (rather than converted into an array).
    public var isMapped: Bool {
        if case .mapped = storage { return true }
        return false
    }

    /// Calls `body` with the values, row-major.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        switch storage {
        case .owned(let values):
            return try values.withUnsafeBufferPointer(body)
        case .mapped(let base, let owner):
            return try withExtendedLifetime(owner) { try body(UnsafeBufferPointer(start: base, count: count)) }
        }
    }

    /// A copy of the values, row-major.
    public var values: [Float] {
        switch storage {
        case .owned(let values): return values
        case .mapped: return withUnsafeBufferPointer { Array($0) }
        }
    }
}
