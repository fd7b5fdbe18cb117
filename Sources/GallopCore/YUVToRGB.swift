/// libswscale's unscaled 8-bit 4:2:0 to RGB conversion, bit for bit.
///
/// FFmpeg 5.1 on x86-64 converts yuv420p (and yuvj420p) of even height at its
/// own size to RGB0 with `ff_yuv_420_bgr32_ssse3` (libswscale/x86/yuv_2_rgb.asm):
/// each chroma sample serves its 2×2 luma block, no interpolation, and with
/// 16-bit `pmulhw` products (⌊a·b / 2¹⁶⌋):
///
///     y' = ⌊(8Y − yOffset) · yMul / 2¹⁶⌋,  u' = 8U − 1024,  v' = 8V − 1024
///     R = clip(y' + ⌊v'·vToR / 2¹⁶⌋)
///     G = clip(y' + ⌊u'·uToG / 2¹⁶⌋ + ⌊v'·vToG / 2¹⁶⌋)
///     B = clip(y' + ⌊u'·uToB / 2¹⁶⌋),  clip to 0…255.
///
/// The coefficients come from `ff_yuv2rgb_c_init_tables` (libswscale/yuv2rgb.c)
/// given `sws_getCoefficients`' four inverse-matrix numbers and the source
/// range, with brightness 0, contrast and saturation 1. Other libraries or
/// CPUs may round differently (the C fallback uses lookup tables), so the
/// reader uses this only after checking it against libswscale itself.
public struct YUVToRGB: Sendable, Equatable {
    public let yMul: Int16, yOffset: Int16
    public let vToR: Int16, uToG: Int16, vToG: Int16, uToB: Int16

    public init(yMul: Int16, yOffset: Int16, vToR: Int16, uToG: Int16, vToG: Int16, uToB: Int16) {
        self.yMul = yMul
        self.yOffset = yOffset
        self.vToR = vToR
        self.uToG = uToG
        self.vToG = vToG
        self.uToB = uToB
    }

    /// From libswscale's inverse table (crv, cbu, cgu, cgv in 16.16, as
    /// `sws_getCoefficients` returns them) and the source range.
    public init(inverse table: [Int32], fullRange: Bool) {
        precondition(table.count == 4, "an inverse table has four entries")
        var crv = Int64(table[0]), cbu = Int64(table[1]), cgu = -Int64(table[2]), cgv = -Int64(table[3])
        var cy: Int64 = 1 << 16, oy: Int64 = 0
        if fullRange {
            // C division truncates toward zero, as Swift's does.
            crv = crv * 224 / 255; cbu = cbu * 224 / 255; cgu = cgu * 224 / 255; cgv = cgv * 224 / 255
        } else {
            cy = cy * 255 / 219
            oy = 16 << 16
        }
        // libswscale's roundToInt16: (f + 2¹⁵) >> 16, clamped to ±0x7FFF (−0x8000 below).
        func round16(_ f: Int64) -> Int16 {
            let r = (f + (1 << 15)) >> 16
            return r < -0x7FFF ? Int16.min : Int16(min(r, 0x7FFF))
        }
        self.init(yMul: round16(cy << 13), yOffset: round16(oy << 3), vToR: round16(crv << 13),
                  uToG: round16(cgu << 13), vToG: round16(cgv << 13), uToB: round16(cbu << 13))
    }

    /// ⌊a·b / 2¹⁶⌋, `pmulhw`.
    @inlinable public static func high(_ a: Int16, _ b: Int16) -> Int16 {
        Int16(truncatingIfNeeded: (Int32(a) &* Int32(b)) >> 16)
    }

    /// The chroma terms added to y' for R, G and B.
    @inlinable public func chroma(u: UInt8, v: UInt8) -> (r: Int16, g: Int16, b: Int16) {
        let u1 = Int16(u) &* 8 &- 1024, v1 = Int16(v) &* 8 &- 1024
        return (Self.high(v1, vToR), Self.high(u1, uToG) &+ Self.high(v1, vToG), Self.high(u1, uToB))
    }

    /// y', the luma term.
    @inlinable public func luma(_ y: UInt8) -> Int16 {
        Self.high(Int16(y) &* 8 &- yOffset, yMul)
    }

    /// 0…255, as `packuswb` saturates: a channel is `saturate(luma + chroma term)`.
    @inlinable public static func saturate(_ x: Int16) -> Int16 { min(max(x, 0), 255) }

    /// One pixel.
    @inlinable public func rgb(y: UInt8, u: UInt8, v: UInt8) -> (r: UInt8, g: UInt8, b: UInt8) {
        let l = luma(y), c = chroma(u: u, v: v)
        @inline(__always) func clip(_ x: Int16) -> UInt8 { UInt8(truncatingIfNeeded: Self.saturate(x)) }
        return (clip(l &+ c.r), clip(l &+ c.g), clip(l &+ c.b))
    }

    /// The packed RGB of 8-bit 4:2:0 planes (each chroma sample serving its
    /// 2×2 block): `channels` 3, or 4 with a padding byte of 255 as in RGB0.
    public func rgb(luma: Plane, cb: Plane, cr: Plane, channels: Int) -> PlaneBuffer {
        precondition(channels == 3 || channels == 4)
        precondition(cb.width == (luma.width + 1) / 2 && cb.height == (luma.height + 1) / 2
                     && cr.width == cb.width && cr.height == cb.height, "chroma planes are not 4:2:0 of the luma")
        let w = luma.width
        var samples = [UInt8](repeating: 255, count: w * luma.height * channels)
        for y in 0..<luma.height {
            let row = luma.row(y), u = cb.row(y >> 1), v = cr.row(y >> 1)
            for x in 0..<w {
                let (r, g, b) = rgb(y: row[x], u: u[x >> 1], v: v[x >> 1])
                let o = (y * w + x) * channels
                samples[o] = r; samples[o + 1] = g; samples[o + 2] = b
            }
        }
        return PlaneBuffer(width: w, height: luma.height, channels: channels, samples: samples)
    }
}
