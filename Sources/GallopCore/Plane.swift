/// A read-only view of one 8-bit image plane: `height` rows of `width`
/// samples, rows `stride` bytes apart.
///
/// A view does not own its memory. Views handed out by a reader are valid
/// only inside the closure they are lent to; copy what must outlive it
/// (``PlaneBuffer``).
public struct Plane: @unchecked Sendable {
    public let base: UnsafePointer<UInt8>
    public let width: Int
    public let height: Int
    /// Bytes between the starts of consecutive rows (>= width × channels).
    public let stride: Int
    /// Interleaved samples per pixel: 1 for luma, 3 for packed RGB, 4 for
    /// packed RGB plus a constant padding byte (see ``Frame/rgb``).
    public let channels: Int

    public init(base: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int, channels: Int = 1) {
        precondition(width > 0 && height > 0 && channels > 0 && stride >= width * channels)
        self.base = base
        self.width = width
        self.height = height
        self.stride = stride
        self.channels = channels
    }

    /// Samples in one row (width × channels).
    @inlinable public var rowLength: Int { width * channels }

    @inlinable public func row(_ y: Int) -> UnsafePointer<UInt8> { base + y * stride }

    @inlinable public subscript(x: Int, y: Int) -> UInt8 { base[y * stride + x * channels] }

    /// The view of a band of whole rows.
    @inlinable public func rows(_ range: Range<Int>) -> Plane {
        precondition(range.lowerBound >= 0 && range.upperBound <= height && !range.isEmpty, "rows out of the plane")
        return Plane(base: row(range.lowerBound), width: width, height: range.count, stride: stride, channels: channels)
    }
}

/// An owned, contiguous plane (stride == width × channels), for tests,
/// synthetic clips and frames kept across calls.
public final class PlaneBuffer: @unchecked Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public private(set) var samples: [UInt8]

    public init(width: Int, height: Int, channels: Int = 1, fill: UInt8 = 0) {
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = [UInt8](repeating: fill, count: width * height * channels)
    }

    public init(width: Int, height: Int, channels: Int = 1, samples: [UInt8]) {
        precondition(samples.count == width * height * channels)
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = samples
    }

    /// Copies a view into owned memory.
    public convenience init(copying plane: Plane) {
        var out = [UInt8](repeating: 0, count: plane.rowLength * plane.height)
        out.withUnsafeMutableBufferPointer { dst in
            for y in 0..<plane.height {
                (dst.baseAddress! + y * plane.rowLength).update(from: plane.row(y), count: plane.rowLength)
            }
        }
        self.init(width: plane.width, height: plane.height, channels: plane.channels, samples: out)
    }

    public subscript(x: Int, y: Int, c: Int = 0) -> UInt8 {
        get { samples[(y * width + x) * channels + c] }
        set { samples[(y * width + x) * channels + c] = newValue }
    }

    /// Lends a view of this buffer for the duration of `body`.
    public func withPlane<R>(_ body: (Plane) throws -> R) rethrows -> R {
        try samples.withUnsafeBufferPointer { buf in
            try body(Plane(base: buf.baseAddress!, width: width, height: height, stride: width * channels, channels: channels))
        }
    }

    public func withMutableSamples<R>(_ body: (inout [UInt8]) throws -> R) rethrows -> R {
        try body(&samples)
    }
}
