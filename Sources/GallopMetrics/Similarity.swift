import Foundation
import GallopCore

/// Full-reference kernels: x264's 8×8 SSIM, Gaussian SSIM and
/// MS-SSIM. Each is checked against a scalar reference in `SimilarityTests`.
public enum Similarity {
    /// FFmpeg's `ssim` filter (from x264) on one plane: sums over 4×4 blocks,
    /// SSIM of every 8×8 window made of 2×2 neighbouring blocks (stride 4), no
    /// weighting, integer constants c1 = 416 and c2 = 235963 for 8 bits; the
    /// mean over the (W/4 − 1)(H/4 − 1) windows. Matches `vf_ssim.c`.
    public static func ssimFast(_ a: Plane, _ b: Plane) -> Double {
        precondition(a.width == b.width && a.height == b.height && a.channels == 1 && b.channels == 1)
        let bw = a.width / 4, bh = a.height / 4
        guard bw >= 2, bh >= 2 else { return .nan }
        // Block sums (s1, s2, ss, s12) for two block rows. Each band of four
        // rows is first summed per column (vectorised over x), then per block.
        var previous = [SIMD4<Int32>](repeating: .zero, count: bw)
        var current = previous
        let n = 4 * bw
        var c1s = [Int32](repeating: 0, count: n), c2s = c1s, css = c1s, c12s = c1s
        func blockRow(_ by: Int, into out: inout [SIMD4<Int32>]) {
            c1s.withUnsafeMutableBufferPointer { s1 in
            c2s.withUnsafeMutableBufferPointer { s2 in
            css.withUnsafeMutableBufferPointer { ss in
            c12s.withUnsafeMutableBufferPointer { s12 in
                s1.update(repeating: 0); s2.update(repeating: 0); ss.update(repeating: 0); s12.update(repeating: 0)
                for dy in 0..<4 {
                    let ra = a.row(4 * by + dy), rb = b.row(4 * by + dy)
                    for x in 0..<n {
                        let p = Int32(ra[x]), q = Int32(rb[x])
                        s1[x] &+= p
                        s2[x] &+= q
                        ss[x] &+= p &* p &+ q &* q
                        s12[x] &+= p &* q
                    }
                }
                for bx in 0..<bw {
                    let k = 4 * bx
                    out[bx] = SIMD4(s1[k] &+ s1[k + 1] &+ s1[k + 2] &+ s1[k + 3],
                                    s2[k] &+ s2[k + 1] &+ s2[k + 2] &+ s2[k + 3],
                                    ss[k] &+ ss[k + 1] &+ ss[k + 2] &+ ss[k + 3],
                                    s12[k] &+ s12[k + 1] &+ s12[k + 2] &+ s12[k + 3])
                }
            }
            }
            }
            }
        }
        let c1: Int32 = 416, c2: Int32 = 235_963
        var total = 0.0
        blockRow(0, into: &previous)
        for by in 1..<bh {
            blockRow(by, into: &current)
            var rowSum: Float = 0
            for bx in 0..<(bw - 1) {
                let s = previous[bx] &+ previous[bx + 1] &+ current[bx] &+ current[bx + 1]
                let s1 = s[0], s2 = s[1], ss = s[2], s12 = s[3]
                let vars = ss &* 64 &- s1 &* s1 &- s2 &* s2
                let covar = s12 &* 64 &- s1 &* s2
                rowSum += Float(2 &* s1 &* s2 &+ c1) * Float(2 &* covar &+ c2)
                    / (Float(s1 &* s1 &+ s2 &* s2 &+ c1) * Float(vars &+ c2))
            }
            total += Double(rowSum)
            swap(&previous, &current)
        }
        return total / Double((bh - 1) * (bw - 1))
    }

    /// The normalised 1-D Gaussian of scikit-image's SSIM: σ = 1.5, truncated
    /// at 3.5σ (radius 5, 11 taps), as `scipy.ndimage.gaussian_filter`.
    public static let gaussian: [Float] = {
        let sigma = 1.5, radius = 5
        let w = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let sum = w.reduce(0, +)
        return w.map { Float($0 / sum) }
    }()

    /// Mean SSIM and mean contrast-structure term over the valid region of
    /// two single-channel float images (Wang et al. 2004 with the 11×11
    /// Gaussian window above, K1 = 0.01, K2 = 0.03, L = 255, population
    /// covariances): scikit-image's `structural_similarity(gaussian_weights=True,
    /// sigma=1.5, use_sample_covariance=False, data_range=255)`, whose mean is
    /// over the map cropped by the window radius, i.e. exactly the valid region.
    public static func gaussianSSIM(_ a: FloatImage, _ b: FloatImage) -> (ssim: Double, cs: Double)? {
        precondition(a.width == b.width && a.height == b.height)
        let taps = gaussian.count, r = taps / 2
        let w = a.width, h = a.height
        guard w >= taps, h >= taps else { return nil }
        let ow = w - 2 * r, oh = h - 2 * r
        let c1: Float = (0.01 * 255) * (0.01 * 255), c2: Float = (0.03 * 255) * (0.03 * 255)
        // Horizontally filtered rows of x, y, x², y², xy (values centred on 128
        // so single precision keeps the variances exact to ~1e-3), 11 rows in a ring.
        var ring = [Float](repeating: 0, count: 5 * taps * ow)
        var ssimSum = 0.0, csSum = 0.0
        let g = gaussian
        a.pixels.withUnsafeBufferPointer { abuf in
        b.pixels.withUnsafeBufferPointer { bbuf in
        ring.withUnsafeMutableBufferPointer { rb in
            let base = rb.baseAddress!
            func filterRow(_ y: Int) {
                let slot = y % taps
                let pa = abuf.baseAddress! + y * w
                let pb = bbuf.baseAddress! + y * w
                let ox = base + (0 * taps + slot) * ow, oy = base + (1 * taps + slot) * ow
                let oxx = base + (2 * taps + slot) * ow, oyy = base + (3 * taps + slot) * ow, oxy = base + (4 * taps + slot) * ow
                for x in 0..<ow {
                    var sx: Float = 0, sy: Float = 0, sxx: Float = 0, syy: Float = 0, sxy: Float = 0
                    for k in 0..<taps {
                        let p = pa[x + k] - 128, q = pb[x + k] - 128, wk = g[k]
                        sx += wk * p; sy += wk * q
                        sxx += wk * p * p; syy += wk * q * q; sxy += wk * p * q
                    }
                    ox[x] = sx; oy[x] = sy; oxx[x] = sxx; oyy[x] = syy; oxy[x] = sxy
                }
            }
            for y in 0..<(taps - 1) { filterRow(y) }
            for y in 0..<oh {
                filterRow(y + taps - 1)
                var rowSSIM: Double = 0, rowCS: Double = 0
                for x in 0..<ow {
                    var mx: Float = 0, my: Float = 0, mxx: Float = 0, myy: Float = 0, mxy: Float = 0
                    for k in 0..<taps {
                        let slot = (y + k) % taps, wk = g[k]
                        mx += wk * base[(0 * taps + slot) * ow + x]
                        my += wk * base[(1 * taps + slot) * ow + x]
                        mxx += wk * base[(2 * taps + slot) * ow + x]
                        myy += wk * base[(3 * taps + slot) * ow + x]
                        mxy += wk * base[(4 * taps + slot) * ow + x]
                    }
                    let vx = mxx - mx * mx, vy = myy - my * my, cov = mxy - mx * my
                    let ux = mx + 128, uy = my + 128
                    let cs = (2 * cov + c2) / (vx + vy + c2)
                    let l = (2 * ux * uy + c1) / (ux * ux + uy * uy + c1)
                    rowSSIM += Double(l * cs)
                    rowCS += Double(cs)
                }
                ssimSum += rowSSIM
                csSum += rowCS
            }
        }
        }
        }
        let n = Double(ow * oh)
        return (ssimSum / n, csSum / n)
    }

    /// MS-SSIM weights (Wang, Simoncelli and Bovik 2003).
    public static let msWeights: [Double] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]

    /// The smallest short side with five scales of an 11×11 window (conventions.md).
    public static let msMinSide = 161

    /// MS-SSIM (Wang 2003) as TensorFlow's `tf.image.ssim_multiscale` and
    /// pytorch-msssim compute it: at each of five scales the Gaussian SSIM
    /// above on the valid region; contrast-structure terms at scales 1-4 and
    /// full SSIM at the fifth, each clamped at 0 and raised to its weight, then
    /// multiplied; 2×2 average pooling between scales (an odd last row or column
    /// averages the samples it has, as TensorFlow's SAME pooling). Nil when the
    /// short side is under 161 px.
    public static func msSSIM(_ a: FloatImage, _ b: FloatImage) -> Double? {
        guard min(a.width, a.height) >= msMinSide else { return nil }
        var x = a, y = b
        var result = 1.0
        for scale in 0..<5 {
            guard let s = gaussianSSIM(x, y) else { return nil }
            let term = scale < 4 ? s.cs : s.ssim
            result *= pow(max(0, term), msWeights[scale])
            if scale < 4 {
                x = x.pooled()
                y = y.pooled()
            }
        }
        return result
    }
}

extension FloatImage {
    /// 2×2 average pooling, ceil size; edge cells average the samples they cover.
    func pooled() -> FloatImage {
        let w = (width + 1) / 2, h = (height + 1) / 2
        var out = FloatImage(width: w, height: h)
        for y in 0..<h {
            let y0 = 2 * y, y1 = min(2 * y + 1, height - 1)
            for x in 0..<w {
                let x0 = 2 * x, x1 = min(2 * x + 1, width - 1)
                var s: Float = self[x0, y0], n: Float = 1
                if x1 != x0 { s += self[x1, y0]; n += 1 }
                if y1 != y0 { s += self[x0, y1]; n += 1 }
                if x1 != x0 && y1 != y0 { s += self[x1, y1]; n += 1 }
                out.pixels[y * w + x] = s / n
            }
        }
        return out
    }
}
