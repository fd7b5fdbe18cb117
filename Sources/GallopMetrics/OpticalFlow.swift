import Foundation
import GallopCore

/// One bilinear interpolation position in a row-major grid of `width` ×
/// `height` samples: the four neighbours and the fractions, the position
/// clamped to the border. The sampler for single positions: float images,
/// flow fields and the patch warp's border path use it; a tap computed once
/// serves several grids of the same size (a flow's u and v). The two loops
/// that sample whole rows with shared weights (the patch warp's interior,
/// the flow upsampler) keep their own row form for speed.
public struct BilinearTap {
    public let k00: Int, k01: Int, k10: Int, k11: Int
    public let fx: Float, fy: Float

    @inlinable public init(width: Int, height: Int, _ x: Float, _ y: Float) {
        let cx = min(max(x, 0), Float(width - 1)), cy = min(max(y, 0), Float(height - 1))
        let x0 = min(Int(cx), max(0, width - 2)), y0 = min(Int(cy), max(0, height - 2))
        let x1 = min(x0 + 1, width - 1), y1 = min(y0 + 1, height - 1)
        fx = cx - Float(x0)
        fy = cy - Float(y0)
        k00 = y0 * width + x0
        k01 = y0 * width + x1
        k10 = y1 * width + x0
        k11 = y1 * width + x1
    }

    /// The interpolated value: rows first, then between them.
    @inlinable public func apply(_ p: UnsafePointer<Float>) -> Float {
        let top = p[k00] + (p[k01] - p[k00]) * fx, bottom = p[k10] + (p[k11] - p[k10]) * fx
        return top * (1 - fy) + bottom * fy
    }

    @inlinable public func apply(_ p: [Float]) -> Float {
        p.withUnsafeBufferPointer { apply($0.baseAddress!) }
    }
}

/// A single-channel float image, row-major, no padding.
public struct FloatImage: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]? = nil) {
        self.width = width
        self.height = height
        self.pixels = pixels ?? [Float](repeating: 0, count: width * height)
    }

    /// Luma samples as floats (0-255).
    public init(_ plane: Plane) {
        precondition(plane.channels == 1)
        width = plane.width
        height = plane.height
        var out = [Float](repeating: 0, count: plane.width * plane.height)
        out.withUnsafeMutableBufferPointer { dst in
            for y in 0..<plane.height {
                let row = plane.row(y), o = dst.baseAddress! + y * plane.width
                for x in 0..<plane.width { o[x] = Float(row[x]) }
            }
        }
        pixels = out
    }

    @inlinable public subscript(x: Int, y: Int) -> Float { pixels[y * width + x] }

    /// Half size by 2×2 averaging (odd last rows/columns are dropped).
    public func halved() -> FloatImage {
        let w = width / 2, h = height / 2
        var out = [Float](repeating: 0, count: w * h)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    let a = src.baseAddress! + 2 * y * width, b = a + width
                    let o = dst.baseAddress! + y * w
                    for x in 0..<w { o[x] = 0.25 * (a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1]) }
                }
            }
        }
        return FloatImage(width: w, height: h, pixels: out)
    }

    /// Bilinear sample with clamping to the border.
    @inlinable public func sample(_ x: Float, _ y: Float) -> Float {
        BilinearTap(width: width, height: height, x, y).apply(pixels)
    }
}

/// A dense flow field: the displacement (u, v) in pixels of every pixel of
/// the first frame into the second.
public struct FlowField: Sendable {
    public let width: Int
    public let height: Int
    public var u: [Float]
    public var v: [Float]

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        u = [Float](repeating: 0, count: width * height)
        v = [Float](repeating: 0, count: width * height)
    }

    /// Bilinear sample of the field at a real position (clamped).
    @inlinable public func sample(_ x: Float, _ y: Float) -> (Float, Float) {
        let tap = BilinearTap(width: width, height: height, x, y)
        return (tap.apply(u), tap.apply(v))
    }

    /// Resampled to another size (bilinear, pixel centres aligned), the
    /// displacements scaled with it: coarse-to-fine initialisation.
    func upsampled(toWidth w: Int, height h: Int) -> FlowField {
        var out = FlowField(width: w, height: h)
        let sx = Float(width) / Float(w), sy = Float(height) / Float(h)
        let scaleU = Float(w) / Float(width), scaleV = Float(h) / Float(height)
        // Per output column: source columns and weight, computed once.
        var x0s = [Int](repeating: 0, count: w), x1s = x0s, fxs = [Float](repeating: 0, count: w)
        for x in 0..<w {
            let cx = min(max((Float(x) + 0.5) * sx - 0.5, 0), Float(width - 1))
            let x0 = min(Int(cx), max(0, width - 2))
            x0s[x] = x0
            x1s[x] = min(x0 + 1, width - 1)
            fxs[x] = cx - Float(x0)
        }
        for (src, scale, isU) in [(u, scaleU, true), (v, scaleV, false)] {
            var dst = [Float](repeating: 0, count: w * h)
            for y in 0..<h {
                let cy = min(max((Float(y) + 0.5) * sy - 0.5, 0), Float(height - 1))
                let y0 = min(Int(cy), max(0, height - 2)), y1 = min(y0 + 1, height - 1)
                let fy = cy - Float(y0)
                let r0 = y0 * width, r1 = y1 * width, o = y * w
                for x in 0..<w {
                    let a = src[r0 + x0s[x]], b = src[r0 + x1s[x]], c = src[r1 + x0s[x]], d = src[r1 + x1s[x]]
                    let fx = fxs[x]
                    dst[o + x] = scale * ((a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy)
                }
            }
            if isU { out.u = dst } else { out.v = dst }
        }
        return out
    }
}

/// Dense optical flow by Dense Inverse Search (Kroeger, Timofte, Dai and Van
/// Gool, "Fast Optical Flow using Dense Inverse Search", ECCV 2016), as
/// OpenCV's `DISOpticalFlow` without its variational refinement.
///
/// Coarse to fine over a 2× pyramid (OpenCV's coarsest-scale rule): at each
/// level, square patches on a regular grid each find their displacement by
/// inverse-compositional Gauss–Newton on mean-normalised intensities
/// (illumination changes between frames cancel), starting from the coarser
/// level's flow or a neighbour's (spatial propagation, forward then backward
/// raster order); the patches are then densified, every pixel taking the
/// average of the patches that cover it weighted by 1 / max(1, |photometric
/// error|). Accuracy is checked against known shifts, zooms and rotations of
/// real frames (`FlowTests`, `scripts/crosscheck-flow` against OpenCV).
public struct DISFlow: Sendable {
    public var patchSize = 8
    public var stride = 4
    public var iterations = 16
    /// The finest pyramid level searched (0 = the input size).
    public var finestScale = 0

    public init(patchSize: Int = 8, stride: Int = 4, iterations: Int = 16, finestScale: Int = 0) {
        self.patchSize = patchSize
        self.stride = stride
        self.iterations = iterations
        self.finestScale = finestScale
    }

    /// OpenCV's rule: coarse enough that a patch spans a quarter of the
    /// longer side, no coarser than a patch on the shorter side.
    public func coarsestScale(width: Int, height: Int) -> Int {
        let a = Int((log2(Double(max(width, height)) / (4 * Double(patchSize)))).rounded())
        let b = Int(log2(Double(min(width, height)) / Double(patchSize)))
        return max(0, min(a, b))
    }

    /// A pyramid: level 0 is the image itself.
    public func pyramid(_ image: FloatImage) -> [FloatImage] {
        var levels = [image]
        let top = coarsestScale(width: image.width, height: image.height)
        while levels.count <= top { levels.append(levels.last!.halved()) }
        return levels
    }

    /// Flow from `from` to `to`, both pyramids of the same image size.
    public func flow(from p0: [FloatImage], to p1: [FloatImage]) -> FlowField {
        let top = min(p0.count, p1.count) - 1
        var flow = FlowField(width: p0[top].width, height: p0[top].height)
        var level = top
        while level >= finestScale {
            let i0 = p0[level], i1 = p1[level]
            if flow.width != i0.width || flow.height != i0.height {
                flow = flow.upsampled(toWidth: i0.width, height: i0.height)
            }
            flow = refine(i0, i1, initial: flow)
            level -= 1
        }
        if finestScale > 0 {
            flow = flow.upsampled(toWidth: p0[0].width, height: p0[0].height)
        }
        return flow
    }

    /// One level: patch search, then densification.
    func refine(_ i0: FloatImage, _ i1: FloatImage, initial: FlowField) -> FlowField {
        let w = i0.width, h = i0.height, ps = patchSize
        guard w >= ps + 2, h >= ps + 2 else { return initial }
        let xs = Array(Swift.stride(from: 0, through: w - ps, by: stride)) + ((w - ps) % stride == 0 ? [] : [w - ps])
        let ys = Array(Swift.stride(from: 0, through: h - ps, by: stride)) + ((h - ps) % stride == 0 ? [] : [h - ps])
        let nx = xs.count, ny = ys.count
        var pu = [Float](repeating: 0, count: nx * ny), pv = pu
        // Initial guesses from the coarser flow at each patch centre.
        for j in 0..<ny {
            for i in 0..<nx {
                let c = (ys[j] + ps / 2) * w + xs[i] + ps / 2
                pu[j * nx + i] = initial.u[c]
                pv[j * nx + i] = initial.v[c]
            }
        }
        var out = FlowField(width: w, height: h)
        // Central-difference gradients of the template image, once per level.
        var gx = [Float](repeating: 0, count: w * h), gy = gx
        i0.pixels.withUnsafeBufferPointer { src in
            gx.withUnsafeMutableBufferPointer { ox in
                gy.withUnsafeMutableBufferPointer { oy in
                    let p = src.baseAddress!
                    for y in 0..<h {
                        let mid = p + y * w, up = p + max(0, y - 1) * w, dn = p + min(h - 1, y + 1) * w
                        let rx = ox.baseAddress! + y * w, ry = oy.baseAddress! + y * w
                        for x in 1..<(w - 1) { rx[x] = 0.5 * (mid[x + 1] - mid[x - 1]) }
                        rx[0] = 0.5 * (mid[1] - mid[0])
                        rx[w - 1] = 0.5 * (mid[w - 1] - mid[w - 2])
                        for x in 0..<w { ry[x] = 0.5 * (dn[x] - up[x]) }
                    }
                }
            }
        }
        i0.pixels.withUnsafeBufferPointer { p0 in
            i1.pixels.withUnsafeBufferPointer { p1 in
            gx.withUnsafeBufferPointer { pgx in
            gy.withUnsafeBufferPointer { pgy in
                let search = PatchSearch(i0: p0.baseAddress!, i1: p1.baseAddress!, gx: pgx.baseAddress!, gy: pgy.baseAddress!,
                                         width: w, height: h, size: ps)
                defer { search.deallocate() }
                // Forward pass (propagating from left and top), then backward (from right and bottom).
                for pass in 0..<2 {
                    let forward = pass == 0
                    for jj in 0..<ny {
                        let j = forward ? jj : ny - 1 - jj
                        for ii in 0..<nx {
                            let i = forward ? ii : nx - 1 - ii
                            let k = j * nx + i
                            search.load(x: xs[i], y: ys[j])
                            var best = (pu[k], pv[k])
                            var bestCost = search.cost(best.0, best.1)
                            let ni = forward ? i - 1 : i + 1, nj = forward ? j - 1 : j + 1
                            if ni >= 0 && ni < nx {
                                let c = search.cost(pu[j * nx + ni], pv[j * nx + ni])
                                if c < bestCost { best = (pu[j * nx + ni], pv[j * nx + ni]); bestCost = c }
                            }
                            if nj >= 0 && nj < ny {
                                let c = search.cost(pu[nj * nx + i], pv[nj * nx + i])
                                if c < bestCost { best = (pu[nj * nx + i], pv[nj * nx + i]); bestCost = c }
                            }
                            let result = search.descend(from: best, iterations: forward ? iterations : max(1, iterations / 2))
                            pu[k] = result.0
                            pv[k] = result.1
                        }
                    }
                }
                // Densification: each pixel averages the patches covering it,
                // weighted by 1 / max(1, |I1(x + u) − I0(x)|).
                var sumU = [Float](repeating: 0, count: w * h), sumV = sumU, sumW = sumU
                sumU.withUnsafeMutableBufferPointer { su in
                    sumV.withUnsafeMutableBufferPointer { sv in
                        sumW.withUnsafeMutableBufferPointer { sw in
                            for j in 0..<ny {
                                for i in 0..<nx {
                                    let u = pu[j * nx + i], v = pv[j * nx + i]
                                    search.warp(x: xs[i], y: ys[j], u, v)
                                    for r in 0..<ps {
                                        let row = (ys[j] + r) * w + xs[i]
                                        let warpedRow = search.warped[r]
                                        for c in 0..<ps {
                                            let err = abs(warpedRow[c] - p0[row + c])
                                            let weight = 1 / max(1, err)
                                            su[row + c] += weight * u
                                            sv[row + c] += weight * v
                                            sw[row + c] += weight
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                for k in 0..<(w * h) {
                    if sumW[k] > 0 {
                        out.u[k] = sumU[k] / sumW[k]
                        out.v[k] = sumV[k] / sumW[k]
                    } else {
                        out.u[k] = initial.u[k]
                        out.v[k] = initial.v[k]
                    }
                }
            }
            }
            }
        }
        return out
    }
}

/// Inverse-compositional search of one 8×8 patch, mean-normalised. A patch
/// row is one `SIMD8<Float>`: strict floating-point reductions do not
/// auto-vectorise, explicit 8-lane rows do.
struct PatchSearch {
    typealias Row = SIMD8<Float>
    static let size = 8
    let i0: UnsafePointer<Float>, i1: UnsafePointer<Float>
    let gx: UnsafePointer<Float>, gy: UnsafePointer<Float>
    let width: Int, height: Int
    /// Template minus its mean, gradients minus their means, the warped patch (8 rows each).
    let template: UnsafeMutablePointer<Row>
    let tx: UnsafeMutablePointer<Row>
    let ty: UnsafeMutablePointer<Row>
    let warped: UnsafeMutablePointer<Row>
    /// [inverse Hessian xx, xy, yy, patch x, patch y]
    let state: UnsafeMutablePointer<Float>

    init(i0: UnsafePointer<Float>, i1: UnsafePointer<Float>, gx: UnsafePointer<Float>, gy: UnsafePointer<Float>,
         width: Int, height: Int, size: Int) {
        precondition(size == PatchSearch.size, "patches are 8×8")
        self.i0 = i0
        self.i1 = i1
        self.gx = gx
        self.gy = gy
        self.width = width
        self.height = height
        template = .allocate(capacity: 8)
        tx = .allocate(capacity: 8)
        ty = .allocate(capacity: 8)
        warped = .allocate(capacity: 8)
        state = .allocate(capacity: 5)
    }

    func deallocate() {
        template.deallocate(); tx.deallocate(); ty.deallocate(); warped.deallocate(); state.deallocate()
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Row {
        UnsafeRawPointer(p).loadUnaligned(as: Row.self)
    }

    /// Takes the template patch at (x, y) with its gradients.
    func load(x: Int, y: Int) {
        var st = Row(), sx = Row(), sy = Row()
        for r in 0..<8 {
            let base = (y + r) * width + x
            template[r] = PatchSearch.load(i0 + base)
            tx[r] = PatchSearch.load(gx + base)
            ty[r] = PatchSearch.load(gy + base)
            st += template[r]; sx += tx[r]; sy += ty[r]
        }
        let mt = st.sum() / 64, mx = sx.sum() / 64, my = sy.sum() / 64
        var hxx = Row(), hxy = Row(), hyy = Row()
        for r in 0..<8 {
            template[r] -= mt
            tx[r] -= mx
            ty[r] -= my
            hxx += tx[r] * tx[r]
            hxy += tx[r] * ty[r]
            hyy += ty[r] * ty[r]
        }
        let a = hxx.sum() + 1e-3, b = hxy.sum(), c = hyy.sum() + 1e-3
        let det = a * c - b * b
        if det > 1e-6 {
            state[0] = c / det; state[1] = -b / det; state[2] = a / det
        } else {
            state[0] = 0; state[1] = 0; state[2] = 0
        }
        state[3] = Float(x)
        state[4] = Float(y)
    }

    /// Samples the second image over the patch at (x, y) displaced by (u, v).
    /// One displacement for the whole patch: four taps with shared weights.
    /// Returns the mean of the samples.
    @discardableResult
    func warp(x: Int, y: Int, _ u: Float, _ v: Float) -> Float {
        let w = width
        let fx0 = Float(x) + u, fy0 = Float(y) + v
        let ix = Int(fx0.rounded(.down)), iy = Int(fy0.rounded(.down))
        let ax = fx0 - Float(ix), ay = fy0 - Float(iy)
        var sum = Row()
        if ix >= 0 && iy >= 0 && ix + 9 <= w && iy + 9 <= height {
            let w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay
            var top = PatchSearch.load(i1 + iy * w + ix), topRight = PatchSearch.load(i1 + iy * w + ix + 1)
            for r in 0..<8 {
                let below = i1 + (iy + r + 1) * w + ix
                let bottom = PatchSearch.load(below), bottomRight = PatchSearch.load(below + 1)
                let s = w00 * top + w01 * topRight + w10 * bottom + w11 * bottomRight
                warped[r] = s
                sum += s
                top = bottom
                topRight = bottomRight
            }
        } else {
            for r in 0..<8 {
                var row = Row()
                for c in 0..<8 { row[c] = BilinearTap(width: w, height: height, fx0 + Float(c), fy0 + Float(r)).apply(i1) }
                warped[r] = row
                sum += row
            }
        }
        return sum.sum() / 64
    }

    /// Mean-normalised sum of squared differences at (u, v) for the loaded patch.
    func cost(_ u: Float, _ v: Float) -> Float {
        let mean = warp(x: Int(state[3]), y: Int(state[4]), u, v)
        var s = Row()
        for r in 0..<8 {
            let d = warped[r] - mean - template[r]
            s += d * d
        }
        return s.sum()
    }

    /// Gauss–Newton steps from `start`, with two guards in the spirit of
    /// OpenCV's DIS: if the end point costs clearly more than the best point
    /// seen on the way (a diverging search), the best point is taken instead,
    /// and the start is given back if the patch wandered more than a patch
    /// size from it (a textureless or vanishing patch has no reliable minimum).
    /// The converged point is preferred to the lowest-cost one because
    /// bilinear sampling blurs fractional positions, which biases raw SSD
    /// towards whole-pixel shifts.
    func descend(from start: (Float, Float), iterations: Int) -> (Float, Float) {
        var (u, v) = start
        var best = start
        var bestCost = Float.infinity
        let x = Int(state[3]), y = Int(state[4])
        for _ in 0..<iterations {
            let mean = warp(x: x, y: y, u, v)
            var bx = Row(), by = Row(), sq = Row()
            for r in 0..<8 {
                let d = warped[r] - mean - template[r]
                bx += tx[r] * d
                by += ty[r] * d
                sq += d * d
            }
            let cost = sq.sum()
            if cost < bestCost {
                bestCost = cost
                best = (u, v)
            }
            let sx = bx.sum(), sy = by.sum()
            let du = state[0] * sx + state[1] * sy
            let dv = state[1] * sx + state[2] * sy
            u -= du
            v -= dv
            if du * du + dv * dv < 1e-4 { break }
        }
        var result = (u, v)
        if cost(u, v) > 1.5 * bestCost + 1 { result = best }
        let limit = Float(PatchSearch.size)
        if abs(result.0 - start.0) > limit || abs(result.1 - start.1) > limit { return start }
        return result
    }
}
