// Times each shared pixel kernel against a plain scalar loop computing the
// same sums (the "reference" column: the straightforward code one would write
// first), on one frame-sized plane, in release builds:
//
//   swift build -c release --product gallop-kernel-bench
//   .build/release/gallop-kernel-bench [WIDTH HEIGHT [REPEATS]]
//
// Prints a markdown table of thread CPU time per call (median of REPEATS calls
// and the min–max). Each kernel's result is checked equal to its reference
// before it is timed. Speed is reported, never asserted; scripts/bench
// compares whole runs against peers. The data stay in cache here, so a
// kernel that streams a cold frame in a real run costs more. The last rows
// time the colour analyses from 4:2:0 planes against libswscale's RGB0
// conversion and the packed kernels they replace.
import Foundation
import GallopCore
import GallopMetrics
import GallopTestSupport
import GallopVideo

let args = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let width = args.count > 0 ? args[0] : 1280
let height = args.count > 1 ? args[1] : 720
let repeats = args.count > 2 ? args[2] : 31
guard args.count == CommandLine.arguments.count - 1, width >= 16, height >= 16, repeats >= 1 else {
    FileHandle.standardError.write(Data("usage: gallop-kernel-bench [WIDTH HEIGHT [REPEATS]] (WIDTH, HEIGHT >= 16)\n".utf8))
    exit(64)
}

/// A smooth, textured test image with noise (seeded: every run times the same data).
func makePlane(channels: Int, seed: UInt64) -> PlaneBuffer {
    var rng = SplitMix64(seed: seed)
    var samples = [UInt8](repeating: 255, count: width * height * channels)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<min(channels, 3) {
                let base = 128 + 60 * sin(Double(x) / 37 + Double(c) + Double(seed)) * cos(Double(y) / 23)
                let noise = Double(rng.next() % 17) - 8
                samples[(y * width + x) * channels + c] = UInt8(clamping: Int(base + noise))
            }
        }
    }
    return PlaneBuffer(width: width, height: height, channels: channels, samples: samples)
}

func threadCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Keeps a result observable so that the optimiser cannot drop the work that made it.
nonisolated(unsafe) var kept: [String] = []
func keep<T>(_ value: T) {
    if kept.count < 1 { kept.append(String(describing: value)) } else { withExtendedLifetime(value) {} }
}

/// Sorted per-call times in ms (after one untimed call).
func time(_ body: () -> Void) -> [Double] {
    body()
    return (0..<repeats).map { _ in
        let t0 = threadCPU()
        body()
        return (threadCPU() - t0) * 1000
    }.sorted()
}

// Plain scalar references: the obvious loops, Int64 arithmetic, ternaries,
// giving the kernels' whole results (checked equal before timing).
enum Reference {
    static func sad(_ a: Plane, _ b: Plane) -> Int64 {
        var s: Int64 = 0
        for y in 0..<a.height { for x in 0..<a.rowLength { s += abs(Int64(a.row(y)[x]) - Int64(b.row(y)[x])) } }
        return s
    }
    static func sse(_ a: Plane, _ b: Plane) -> Int64 {
        var s: Int64 = 0
        for y in 0..<a.height { for x in 0..<a.rowLength { let d = Int64(a.row(y)[x]) - Int64(b.row(y)[x]); s += d * d } }
        return s
    }
    static func frameStats(_ p: Plane, clipLow: UInt8, clipHigh: UInt8) -> Kernels.FrameStats {
        let g = Kernels.regionGrid
        var sums = [Int64](repeating: 0, count: g * g), counts = [Int](repeating: 0, count: g * g)
        var s: Int64 = 0, q: Int64 = 0, low = 0, high = 0
        // Cell columns as the kernel bounds them: cell c holds x in c·W/g ..< (c+1)·W/g.
        let cellOf = (0..<p.width).map { x in (0..<g).first { c in x < (c + 1) * p.width / g }! }
        for y in 0..<p.height {
            for x in 0..<p.width {
                let v = p[x, y]
                s += Int64(v); q += Int64(v) * Int64(v)
                low += v <= clipLow ? 1 : 0
                high += v >= clipHigh ? 1 : 0
                let cell = (y * g / p.height) * g + cellOf[x]
                sums[cell] += Int64(v); counts[cell] += 1
            }
        }
        let means = zip(sums, counts).map { $1 > 0 ? Double($0) / Double($1) : 0 }
        return Kernels.FrameStats(count: p.width * p.height, sum: s, sumSquares: q, clippedLow: low, clippedHigh: high, regionMeans: means)
    }
    static func pairDifference(_ a: Plane, _ b: Plane, offset: Int) -> Kernels.PairDifference {
        let bs = Kernels.blockSize
        var sad: Int64 = 0, centred: Int64 = 0, worst = 0.0
        for y in 0..<a.height { for x in 0..<a.width { let d = Int64(a[x, y]) - Int64(b[x, y]); sad += abs(d); centred += abs(d - Int64(offset)) } }
        for by in stride(from: 0, to: a.height, by: bs) {
            for bx in stride(from: 0, to: a.width, by: bs) {
                var s: Int64 = 0, n = 0
                for y in by..<min(a.height, by + bs) {
                    for x in bx..<min(a.width, bx + bs) { s += abs(Int64(a[x, y]) - Int64(b[x, y])); n += 1 }
                }
                worst = max(worst, Double(s) / Double(n))
            }
        }
        return Kernels.PairDifference(count: a.width * a.height, sad: sad, centredSAD: centred, maxBlockMAD: worst)
    }
    static func secondDifferences(_ p: Plane) -> Kernels.SecondDifferences {
        var s: Int64 = 0, q: Int64 = 0, n: Int64 = 0
        for y in 1..<(p.height - 1) {
            for x in 1..<(p.width - 1) {
                func v(_ dx: Int, _ dy: Int) -> Int64 { Int64(p[x + dx, y + dy]) }
                let l = v(-1, 0) + v(1, 0) + v(0, -1) + v(0, 1) - 4 * v(0, 0)
                s += l; q += l * l
                let corners: Int64 = v(-1, -1) + v(1, -1) + v(-1, 1) + v(1, 1)
                let edges: Int64 = v(0, -1) + v(0, 1) + v(-1, 0) + v(1, 0)
                n += abs(corners - 2 * edges + 4 * v(0, 0))
            }
        }
        return Kernels.SecondDifferences(laplacian: Kernels.LaplacianSums(count: (p.width - 2) * (p.height - 2), sum: s, sumSquares: q),
                                         immerkaerSum: n)
    }
    static func opponentSums(_ p: Plane) -> Kernels.OpponentSums {
        var o = Kernels.OpponentSums(count: p.width * p.height, rg: 0, rgSquares: 0, yb2: 0, yb2Squares: 0)
        for y in 0..<p.height {
            let r = p.row(y)
            for x in 0..<p.width {
                let red = Int64(r[p.channels * x]), green = Int64(r[p.channels * x + 1]), blue = Int64(r[p.channels * x + 2])
                let rg: Int64 = red - green, yb: Int64 = red + green - 2 * blue
                o.rg += rg; o.rgSquares += rg * rg
                o.yb2 += yb; o.yb2Squares += yb * yb
            }
        }
        return o
    }
    /// vf_blockdetect.c's loops as written: one W × H float buffer, each column's sum kept in its first row and each
    /// row's in its first column, every sum in Float in the filter's order.
    static func blockinessProfiles(_ p: Plane) -> Blockiness.Profiles {
        let w = p.width, h = p.height
        var grad = [Float](repeating: 0, count: w * h)
        func d(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) -> Float { Float(abs(Int(p[x0, y0]) - Int(p[x1, y1]))) }
        for j in 1..<h where w - 4 > 3 {
            for i in 3..<(w - 4) {
                var temp = d(i + 1, j, i + 2, j) + d(i + 2, j, i + 3, j)
                temp += d(i + 3, j, i + 4, j) + d(i, j, i - 1, j)
                temp += d(i - 1, j, i - 2, j) + d(i - 2, j, i - 3, j)
                grad[j * w + i] = d(i, j, i + 1, j) / max(1, temp)
                grad[i] += grad[j * w + i]
            }
        }
        for j in 3..<max(3, h - 4) {
            for i in 1..<max(1, w) {
                var temp = d(i, j + 1, i, j + 2) + d(i, j + 2, i, j + 3)
                temp += d(i, j + 3, i, j + 4) + d(i, j, i, j - 1)
                temp += d(i, j - 1, i, j - 2) + d(i, j - 2, i, j - 3)
                grad[j * w + i] = d(i, j, i, j + 1) / max(1, temp)
                grad[j * w] += grad[j * w + i]
            }
        }
        return Blockiness.Profiles(columns: Array(grad[0..<w]), rows: (0..<h).map { grad[$0 * w] })
    }
}

struct Row { var name: String; var kernel: [Double]; var reference: [Double] }
nonisolated(unsafe) var rows: [Row] = []
func measure<T: Equatable>(_ name: String, kernel: () -> T, reference: () -> T) {
    let k = kernel(), r = reference()
    guard k == r else {
        FileHandle.standardError.write(Data("gallop-kernel-bench: \(name) gives \(k), its reference \(r)\n".utf8))
        exit(1)
    }
    rows.append(Row(name: name, kernel: time { keep(kernel()) }, reference: time { keep(reference()) }))
}

let lumaA = makePlane(channels: 1, seed: 1), lumaB = makePlane(channels: 1, seed: 2)
lumaA.withPlane { a in
    lumaB.withPlane { b in
        measure("frameStats: Σv, Σv², clipped counts, 4×4 region means (luma)",
                kernel: { Kernels.frameStats(a, clipLow: 16, clipHigh: 235) }, reference: { Reference.frameStats(a, clipLow: 16, clipHigh: 235) })
        measure("pairDifference: Σ|a−b|, centred Σ|a−b−δ|, worst 16×16 block (luma), δ = 3",
                kernel: { Kernels.pairDifference(a, b, offset: 3) }, reference: { Reference.pairDifference(a, b, offset: 3) })
        measure("pairDifference, δ = 0 (the common case: no centred pass)",
                kernel: { Kernels.pairDifference(a, b, offset: 0) }, reference: { Reference.pairDifference(a, b, offset: 0) })
        measure("sumAbsoluteDifference (luma)", kernel: { Kernels.sumAbsoluteDifference(a, b) }, reference: { Reference.sad(a, b) })
        measure("sumSquaredError (luma)", kernel: { Kernels.sumSquaredError(a, b) }, reference: { Reference.sse(a, b) })
        measure("secondDifferences: Laplacian ΣL, ΣL², Immerkær Σ|N| (luma)",
                kernel: { Kernels.secondDifferences(a) }, reference: { Reference.secondDifferences(a) })
        measure("\(Blockiness.info.name): FFmpeg blockdetect's column and row sums (luma; the period search after them is O(W + H))",
                kernel: { Blockiness.profiles(a) }, reference: { Reference.blockinessProfiles(a) })
        // VMAF's features against the plain loops they replace (GallopTestSupport's ReferenceADM and
        // ReferenceVIF), with the buffers kept across calls as a VMAF metric keeps them for its clip.
        if width >= VMAF.minimumSide && height >= VMAF.minimumSide {
            let adm = VMAFADM.Workspace(width: width, height: height), vif = VMAFVIF.Workspace(width: width, height: height)
            measure("VMAF ADM: adm2 and its four scales (wavelets, decoupling, masking; both planes)",
                    kernel: { let f = VMAFADM.features(reference: a, distorted: b, workspace: adm); return [f.adm2] + f.scales },
                    reference: { let f = ReferenceADM.features(reference: a, distorted: b); return [f.adm2] + f.scales })
            measure("VMAF VIF: its four scales (filters, downsampling, per-pixel statistic; both planes)",
                    kernel: { VMAFVIF.features(reference: a, distorted: b, workspace: vif) },
                    reference: { ReferenceVIF.features(reference: a, distorted: b) })
        }
    }
}
for channels in [3, 4] {
    let label = channels == 3 ? "RGB24" : "RGB0"
    let a = makePlane(channels: channels, seed: 3), b = makePlane(channels: channels, seed: 4)
    a.withPlane { a in
        b.withPlane { b in
            measure("sumAbsoluteDifference (\(label))", kernel: { Kernels.sumAbsoluteDifference(a, b) }, reference: { Reference.sad(a, b) })
            measure("opponentSums (\(label))", kernel: { Kernels.opponentSums(a) }, reference: { Reference.opponentSums(a) })
        }
    }
}

// The colour analyses of 4:2:0 frames (BT.709, limited range): the fused
// kernel from the YUV planes, against its parts on RGB0 made first (the
// conversion not counted), and against the path it replaces: libswscale's
// RGB0 conversion of the current frame, then the two kernels band by band
// (the previous frame's RGB0 made once, so here in cache; in a real run it
// has left the cache and its SAD costs more).
let yuv709 = YUVToRGB(inverse: SwscaleRGB0.inverseTable(colorspace: 1), fullRange: false)
/// Luma and half-size chroma, rows padded by 64 bytes and a spare row (libswscale's SIMD reads past row ends).
func makeYUV(seed: UInt64) -> [[UInt8]] {
    let y = makePlane(channels: 1, seed: seed), rgb = makePlane(channels: 3, seed: seed + 10)
    let cw = (width + 1) / 2, ch = (height + 1) / 2
    var planes = [[UInt8](repeating: 0, count: (width + 64) * (height + 1)),
                  [UInt8](repeating: 0, count: (cw + 64) * (ch + 1)), [UInt8](repeating: 0, count: (cw + 64) * (ch + 1))]
    for r in 0..<height { for x in 0..<width { planes[0][r * (width + 64) + x] = y[x, r] } }
    for r in 0..<ch {
        for x in 0..<cw {
            for c in 1...2 { planes[c][r * (cw + 64) + x] = rgb[min(width - 1, 2 * x), min(height - 1, 2 * r), c] }
        }
    }
    return planes
}
func withYUV<R>(_ p: [[UInt8]], _ body: (Kernels.YUVFrame) -> R) -> R {
    let cw = (width + 1) / 2, ch = (height + 1) / 2
    return p[0].withUnsafeBufferPointer { y in p[1].withUnsafeBufferPointer { u in p[2].withUnsafeBufferPointer { v in
        body(Kernels.YUVFrame(luma: Plane(base: y.baseAddress!, width: width, height: height, stride: width + 64),
                              cb: Plane(base: u.baseAddress!, width: cw, height: ch, stride: cw + 64),
                              cr: Plane(base: v.baseAddress!, width: cw, height: ch, stride: cw + 64), conversion: yuv709))
    } } }
}
struct ColourSums: Equatable { var sad: Int64?; var opponent: Kernels.OpponentSums? }
let yuvA = makeYUV(seed: 5), yuvB = makeYUV(seed: 6)
withYUV(yuvA) { a in
    withYUV(yuvB) { b in
        let ra = a.rgb(channels: 4), rb = b.rgb(channels: 4)
        ra.withPlane { pa in rb.withPlane { pb in
            measure("yuvColour: Σ|ΔRGB| and opponent sums from two 4:2:0 frames, vs the two kernels on RGB0 made first",
                    kernel: { let r = Kernels.yuvColour(previous: a, current: b, opponent: true); return ColourSums(sad: r.sad, opponent: r.opponent) },
                    reference: { ColourSums(sad: Kernels.sumAbsoluteDifference(pa, pb), opponent: Kernels.opponentSums(pb)) })
            measure("yuvColour, Σ|ΔRGB| alone", kernel: { Kernels.yuvColour(previous: a, current: b, opponent: false).sad },
                    reference: { Kernels.sumAbsoluteDifference(pa, pb) })
            measure("yuvColour, opponent sums alone", kernel: { Kernels.yuvColour(previous: nil, current: b, opponent: true).opponent },
                    reference: { Kernels.opponentSums(pb) })
            guard let sws = SwscaleRGB0(width: width, height: height, colorspace: 1, fullRange: false) else {
                FileHandle.standardError.write(Data("gallop-kernel-bench: libswscale refused the conversion\n".utf8))
                exit(1)
            }
            measure("yuvColour, vs libswscale's RGB0 conversion then both kernels in 32-row bands (the path it replaces)",
                    kernel: { let r = Kernels.yuvColour(previous: a, current: b, opponent: true); return ColourSums(sad: r.sad, opponent: r.opponent) },
                    reference: {
                        let rgb = sws.convert(luma: b.luma, cb: b.cb, cr: b.cr)
                        var sums = ColourSums(sad: 0, opponent: Kernels.OpponentSums(count: 0, rg: 0, rgSquares: 0, yb2: 0, yb2Squares: 0))
                        for y in stride(from: 0, to: height, by: 32) {
                            let rows = y..<min(height, y + 32)
                            sums.sad! += Kernels.sumAbsoluteDifference(pa.rows(rows), rgb.rows(rows))
                            sums.opponent!.add(Kernels.opponentSums(rgb.rows(rows)))
                        }
                        return sums
                    })
            measure("libswscale's RGB0 conversion alone (yuv420p, one frame)", kernel: { sws.convert(luma: b.luma, cb: b.cb, cr: b.cr).width },
                    reference: { width })
        } }
    }
}

func fmt(_ t: [Double]) -> String { String(format: "%.3f [%.3f–%.3f]", t[t.count / 2], t.first!, t.last!) }
print("Kernels on \(width)x\(height) (data in cache), thread CPU ms per call, median of \(repeats) [min–max]; "
      + "the plain loop is the obvious scalar code giving the same result\n")
print("| kernel | Gallop kernel (ms) | plain loop (ms) | speed-up |")
print("|---|---:|---:|---:|")
for r in rows {
    print("| \(r.name) | \(fmt(r.kernel)) | \(fmt(r.reference)) | \(String(format: "%.1f×", r.reference[r.reference.count / 2] / r.kernel[r.kernel.count / 2])) |")
}
