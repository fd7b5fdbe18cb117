/// Whether 8-bit luma uses the limited (16-235) or full (0-255) range.
public enum ColorRange: String, Sendable, Codable {
    case limited, full

    /// Inclusive luma levels at or beyond which a sample counts as clipped.
    public var clipLevels: (low: UInt8, high: UInt8) {
        switch self {
        case .limited: return (16, 235)
        case .full: return (0, 255)
        }
    }
}

/// One decoded frame as metrics see it: plane views plus timing.
///
/// `luma` is the stored Y plane (not range-converted). `rgb` is packed RGB,
/// 3 bytes a pixel, or 4 with a padding byte that holds the same value in
/// every pixel of every frame (the reader's RGB0, whose 4-byte pixels the
/// kernels read as one word), and present only when a selected metric asked
/// for colour. When the frame is 8-bit 4:2:0 YUV that libswscale would turn
/// into RGB by a formula the reader has checked (``YUVToRGB``), `rgb` is nil
/// and `rgbFromYUV` says how to get it from `luma` and `chroma` instead.
/// Views are valid only during the call that receives the frame.
public struct Frame: @unchecked Sendable {
    /// Index among the frames handed to metrics (after `--every` sampling).
    public let index: Int
    /// Index in the decoded stream, before sampling.
    public let sourceIndex: Int
    /// Presentation time in seconds from the first frame.
    public let time: Double
    /// Display duration in seconds (next frame's time minus this one's when known).
    public let duration: Double
    public let luma: Plane
    public let rgb: Plane?
    /// Luma at the motion analysis size (long side ≤ 512 by default), present
    /// only when a metric needs optical flow.
    public let motion: Plane?
    /// The stored chroma planes (Cb, Cr) at their own resolution, present only
    /// when asked for (or with `rgbFromYUV`) and when the frame is planar
    /// 8-bit YUV at its native size.
    public let chroma: (cb: Plane, cr: Plane)?
    /// The frame's RGB as `luma` and 4:2:0 `chroma` through this conversion,
    /// in place of `rgb` (see above).
    public let rgbFromYUV: YUVToRGB?
    public let range: ColorRange
    /// The luma at another size, present only when asked for (a clip scaled to
    /// the size of its reference for VMAF, or that reference to the clip's size).
    public let scaledLuma: Plane?

    public init(index: Int, sourceIndex: Int? = nil, time: Double, duration: Double, luma: Plane, rgb: Plane? = nil,
                motion: Plane? = nil, chroma: (cb: Plane, cr: Plane)? = nil, rgbFromYUV: YUVToRGB? = nil,
                range: ColorRange = .limited, scaledLuma: Plane? = nil) {
        precondition(rgbFromYUV == nil || (chroma.map { $0.cb.width == (luma.width + 1) / 2 && $0.cb.height == (luma.height + 1) / 2
                                                         && $0.cr.width == $0.cb.width && $0.cr.height == $0.cb.height } ?? false),
                     "rgbFromYUV needs 4:2:0 chroma planes")
        self.index = index
        self.sourceIndex = sourceIndex ?? index
        self.time = time
        self.duration = duration
        self.luma = luma
        self.rgb = rgb
        self.motion = motion
        self.chroma = chroma
        self.rgbFromYUV = rgbFromYUV
        self.range = range
        self.scaledLuma = scaledLuma
    }
}
