import COpenBLAS

/// The learned encoders' matrix products, through OpenBLAS's `cblas_sgemm` (Debian's `libopenblas-dev`, a
/// pthread build that picks its kernels for the CPU at load time).
///
/// Matrices are row-major, as the weights are stored in `.safetensors` files and as the encoders lay out
/// their activations (one token a row). A matrix operand is a buffer, its shape as the product sees it, and
/// its leading dimension: the distance in elements from one row to the next, at least its row length, so a
/// sub-matrix (a block of columns of a wider buffer, such as one attention head's slice of the fused qkv
/// activations) is read in place by passing the buffer rebased at its first element and the wider row length.
///
/// Every shape, leading dimension and buffer length is checked before OpenBLAS sees it, in every build
/// (`fatalError`, which `-Ounchecked` keeps; `precondition` would be removed there): OpenBLAS itself reports a
/// bad dimension only by printing a line and returning with C untouched, and cannot know a buffer's length.
/// Bad sizes here are programming errors, not bad input: the weights' shapes are checked when a model is loaded.
public enum BLAS {
    /// How an operand enters the product: as stored, or transposed (a weight stored out × in, as PyTorch's
    /// `nn.Linear` keeps it, multiplies activations as its transpose).
    public enum Transpose: Sendable {
        case none
        case transposed

        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// `C ← alpha · op(A) · op(B) + beta · C`, single precision, row-major. `op(A)` is m × k, `op(B)` k × n and C
    /// m × n. A is stored m × k (`transA == .none`, `lda ≥ k`) or k × m (`.transposed`, `lda ≥ m`); B is stored
    /// k × n (`ldb ≥ n`) or n × k (`ldb ≥ k`); `ldc ≥ n`. With `beta == 0` C's old contents are not read
    /// (NaNs there do not propagate); `beta == 1` adds to it, which is how a bias enters: C filled with the bias
    /// rows first. C must not share memory with A or B (BLAS's rule; the result would depend on the kernel's
    /// order); A and B may overlap, since both are only read.
    ///
    /// Several threads may call this at once (each call does its work on the calling thread when OpenBLAS runs
    /// one thread, the default here: see `setThreads`).
    public static func sgemm(
        _ transA: Transpose = .none, _ transB: Transpose = .none,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafeBufferPointer<Float>, lda: Int,
        b: UnsafeBufferPointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutableBufferPointer<Float>, ldc: Int
    ) {
        if let message = misuse(transA, transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: UnsafeBufferPointer(c), ldc: ldc) {
            fatalError(message)
        }
        if m == 0 || n == 0 { return }
        _ = defaultThreads
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas, blasint(m), blasint(n), blasint(k),
                    alpha, a.baseAddress, blasint(lda), b.baseAddress, blasint(ldb),
                    beta, c.baseAddress, blasint(ldc))
    }

    /// The number of threads OpenBLAS uses for each product. One by default, set before the first product
    /// of the process: Gallop scales across cores by worker processes (`--jobs`), one clip each, and a BLAS
    /// pool per worker as wide as the machine would put jobs × cores threads on the cores, which then wait on
    /// each other at every product's barrier (and small products, such as an attention head's 50 × 64 × 50,
    /// gain nothing from a pool). Set more with `setThreads` where one process has the machine to itself.
    public static var threads: Int {
        _ = defaultThreads
        return Int(openblas_get_num_threads())
    }

    /// Sets the number of threads OpenBLAS uses for each later product (at least 1). Call it once, before
    /// the products start, from one thread: OpenBLAS's setting is process-wide and not meant to change
    /// while a product runs.
    public static func setThreads(_ count: Int) {
        check(count >= 1 && count <= 1024, "BLAS.setThreads: thread count \(count) is outside 1...1024")
        _ = defaultThreads
        openblas_set_num_threads(Int32(count))
    }

    /// The CPU kernel family OpenBLAS chose at load time (such as "Haswell" or "Zen"), for benchmark output.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Runs once, before the first product or thread query: OpenBLAS otherwise starts with as many threads as
    /// the machine has cores (or `OPENBLAS_NUM_THREADS`).
    private static let defaultThreads: Void = { openblas_set_num_threads(1) }()

    /// What is wrong with a product's arguments, in one sentence, or nil: sizes, leading dimensions, buffer
    /// lengths, OpenBLAS's integer range, and C overlapping A or B.
    static func misuse(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                       a: UnsafeBufferPointer<Float>, lda: Int, b: UnsafeBufferPointer<Float>, ldb: Int,
                       c: UnsafeBufferPointer<Float>, ldc: Int) -> String? {
        guard m >= 0 && n >= 0 && k >= 0 else { return "sgemm: negative size (m \(m), n \(n), k \(k))" }
        // The stored shapes (rows × row length) of the three operands.
        let (aRows, aCols) = transA == .none ? (m, k) : (k, m)
        let (bRows, bCols) = transB == .none ? (k, n) : (n, k)
        let extents: [Int]
        do {
            extents = try [("A", aRows, aCols, lda, a.count), ("B", bRows, bCols, ldb, b.count), ("C", m, n, ldc, c.count)]
                .map { try extent($0.0, rows: $0.1, cols: $0.2, ld: $0.3, available: $0.4) }
        } catch {
            return (error as? Misuse)?.message ?? "\(error)"
        }
        let bound = Int(blasint.max)
        guard m <= bound && n <= bound && k <= bound && lda <= bound && ldb <= bound && ldc <= bound else {
            return "sgemm: a size or leading dimension exceeds OpenBLAS's integer range \(bound) (m \(m), n \(n), k \(k), lda \(lda), ldb \(ldb), ldc \(ldc))"
        }
        if extents[2] > 0 {
            let cStart = UnsafeRawPointer(c.baseAddress!), cEnd = cStart + extents[2] * MemoryLayout<Float>.stride
            for (name, buffer, count) in [("A", a, extents[0]), ("B", b, extents[1])] where count > 0 {
                let start = UnsafeRawPointer(buffer.baseAddress!), end = start + count * MemoryLayout<Float>.stride
                if start < cEnd && cStart < end {
                    return "sgemm: C overlaps \(name) in memory; BLAS requires the output to be a separate buffer"
                }
            }
        }
        return nil
    }

    private struct Misuse: Error { let message: String }

    /// The number of elements a row-major operand spans (0 when it is empty), after checking that its leading
    /// dimension is at least its row length (and at least 1, as BLAS requires) and that the buffer holds it.
    private static func extent(_ name: String, rows: Int, cols: Int, ld: Int, available: Int) throws -> Int {
        guard ld >= max(1, cols) else {
            throw Misuse(message: "sgemm: leading dimension of \(name) is \(ld), less than its row length \(cols) (stored \(rows) × \(cols))")
        }
        if rows == 0 || cols == 0 { return 0 }
        let (span, overflow) = (rows - 1).multipliedReportingOverflow(by: ld)
        guard !overflow && span <= Int.max / 4 - cols else {
            throw Misuse(message: "sgemm: \(name) (\(rows) × \(cols), leading dimension \(ld)) spans more bytes than Int holds")
        }
        let needed = span + cols
        guard available >= needed else {
            throw Misuse(message: "sgemm: buffer of \(name) holds \(available) elements; \(rows) × \(cols) with leading dimension \(ld) needs \(needed)")
        }
        return needed
    }

    /// A check kept in every build (see the type's comment).
    private static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError(message()) }
    }
}
