import GallopCore

extension Kernels {
    /// One frame's 8-bit 4:2:0 planes and the conversion that makes its RGB.
    public struct YUVFrame {
        public let luma: Plane, cb: Plane, cr: Plane
        public let conversion: YUVToRGB

        public init(luma: Plane, cb: Plane, cr: Plane, conversion: YUVToRGB) {
            precondition(luma.channels == 1 && cb.channels == 1 && cr.channels == 1
                         && cb.width == (luma.width + 1) / 2 && cb.height == (luma.height + 1) / 2
                         && cr.width == cb.width && cr.height == cb.height, "YUVFrame needs 8-bit 4:2:0 planes")
            self.luma = luma
            self.cb = cb
            self.cr = cr
            self.conversion = conversion
        }

        /// The frame's planes when the reader handed out YUV in place of RGB.
        public init?(_ frame: Frame) {
            guard let conversion = frame.rgbFromYUV, let chroma = frame.chroma else { return nil }
            self.init(luma: frame.luma, cb: chroma.cb, cr: chroma.cr, conversion: conversion)
        }

        /// The RGB, made (for the rare pair whose other frame came as packed
        /// RGB): `channels` 3, or 4 with a padding byte of 255 as in RGB0.
        public func rgb(channels: Int) -> PlaneBuffer {
            conversion.rgb(luma: luma, cb: cb, cr: cr, channels: channels)
        }
    }

    /// Σ|RGB_previous − RGB_current| over every pixel and channel, and the
    /// opponent sums of the current frame's RGB (as ``opponentSums(_:)``),
    /// from the YUV planes of both frames in one pass: the same numbers as
    /// ``sumAbsoluteDifference(_:_:)`` and ``opponentSums(_:)`` on the RGB
    /// that ``YUVToRGB`` makes, without writing it (1.5 bytes a pixel read per
    /// frame, against 4 written and 4 + 4 read). Per pair of rows, each chroma
    /// row's R, G and B terms are computed once and doubled to the luma width;
    /// the pixel loop is then a plain loop in 16-bit lanes. Either part may
    /// be skipped: no `previous`, no SAD; `opponent` false, no sums.
    public static func yuvColour(previous: YUVFrame?, current: YUVFrame, opponent: Bool) -> (sad: Int64?, opponent: OpponentSums?) {
        if let previous {
            precondition(previous.luma.width == current.luma.width && previous.luma.height == current.luma.height, "frames differ in size")
            if opponent {
                let r = yuvColour(previous, current, sad: true, opponent: true)
                return (r.sad, r.opponent)
            }
            return (yuvColour(previous, current, sad: true, opponent: false).sad, nil)
        }
        guard opponent else { return (nil, nil) }
        return (nil, yuvColour(current, current, sad: false, opponent: true).opponent)
    }

    @inline(__always)
    private static func yuvColour(_ a: YUVFrame, _ b: YUVFrame, sad withSAD: Bool, opponent withOpponent: Bool) -> (sad: Int64, opponent: OpponentSums) {
        let w = b.luma.width, h = b.luma.height, cw = (w + 1) / 2, n = 2 * cw
        var sad: Int64 = 0
        var out = OpponentSums(count: w * h, rg: 0, rgSquares: 0, yb2: 0, yb2Squares: 0)
        // R, G and B chroma terms at luma width, for b then a.
        var terms = [Int16](repeating: 0, count: 6 * n)
        terms.withUnsafeMutableBufferPointer { buffer in
            let bR = buffer.baseAddress!, bG = bR + n, bB = bG + n
            let aR = bB + n, aG = aR + n, aB = aG + n
            let mb = b.conversion, ma = a.conversion
            for cy in 0..<((h + 1) / 2) {
                chromaTerms(mb, b.cb.row(cy), b.cr.row(cy), cw, bR, bG, bB)
                if withSAD { chromaTerms(ma, a.cb.row(cy), a.cr.row(cy), cw, aR, aG, aB) }
                for y in (2 * cy)..<min(h, 2 * cy + 2) {
                    let lb = b.luma.row(y), la = a.luma.row(y)
                    var rowSAD: Int64 = 0
                    var chunk = 0
                    while chunk < w {
                        // ≤ 4096 pixels per chunk: 4096 × 765 fits Int32 and 4096 × 510² fits UInt32.
                        let end = min(w, chunk + 4096)
                        var s: Int32 = 0, rg: Int32 = 0, yb: Int32 = 0
                        var rgSq: UInt32 = 0, ybSq: UInt32 = 0
                        for x in chunk..<end {
                            let yB = mb.luma(lb[x])
                            let red = clip(yB &+ bR[x]), green = clip(yB &+ bG[x]), blue = clip(yB &+ bB[x])
                            if withSAD {
                                let yA = ma.luma(la[x])
                                let dr = clip(yA &+ aR[x]) &- red, dg = clip(yA &+ aG[x]) &- green, db = clip(yA &+ aB[x]) &- blue
                                let mr = dr >> 15, mg = dg >> 15, mbl = db >> 15
                                s &+= Int32((dr ^ mr) &- mr &+ (dg ^ mg) &- mg &+ (db ^ mbl) &- mbl)
                            }
                            if withOpponent {
                                let p = red &- green, q = red &+ green &- (blue &<< 1)
                                rg &+= Int32(p)
                                yb &+= Int32(q)
                                rgSq &+= UInt32(bitPattern: Int32(p) &* Int32(p))
                                ybSq &+= UInt32(bitPattern: Int32(q) &* Int32(q))
                            }
                        }
                        rowSAD += Int64(s)
                        out.rg += Int64(rg); out.yb2 += Int64(yb)
                        out.rgSquares += Int64(rgSq); out.yb2Squares += Int64(ybSq)
                        chunk = end
                    }
                    sad += rowSAD
                }
            }
        }
        return (sad, out)
    }

    @inline(__always) private static func clip(_ v: Int16) -> Int16 { YUVToRGB.saturate(v) }

    /// One chroma row's R, G and B terms (``YUVToRGB/chroma(u:v:)``), each
    /// written to both pixels it serves as one 32-bit store (two 16-bit
    /// stores do not vectorise).
    @inline(__always)
    private static func chromaTerms(_ m: YUVToRGB, _ u: UnsafePointer<UInt8>, _ v: UnsafePointer<UInt8>, _ count: Int,
                                    _ r: UnsafeMutablePointer<Int16>, _ g: UnsafeMutablePointer<Int16>, _ b: UnsafeMutablePointer<Int16>) {
        @inline(__always) func twice(_ t: Int16) -> UInt32 { UInt32(UInt16(bitPattern: t)) &* 0x0001_0001 }
        r.withMemoryRebound(to: UInt32.self, capacity: count) { r2 in
            g.withMemoryRebound(to: UInt32.self, capacity: count) { g2 in
                b.withMemoryRebound(to: UInt32.self, capacity: count) { b2 in
                    for i in 0..<count {
                        let t = m.chroma(u: u[i], v: v[i])
                        r2[i] = twice(t.r)
                        g2[i] = twice(t.g)
                        b2[i] = twice(t.b)
                    }
                }
            }
        }
    }
}
