import GallopCore
@testable import GallopMetrics
import GallopTestSupport
import XCTest

/// Small deterministic planes for the VMAF known-answer tests. The expected
/// numbers are full-precision values of libvmaf 2.3.0's integer arithmetic
/// (a numpy model of it built these planes with the same SplitMix64
/// arithmetic); each rounds to what the peer, FFmpeg 7.0.2's libvmaf 2.3.0,
/// prints for the same planes to 6 decimals:
/// `python3 -m gallopcheck.crosscheck_vmaf fixtures` lists those.
/// Integer results (sums, checksums) must match exactly, Float-rounded
/// features exactly, Double results within 1e-12 relative (libm's exp and
/// summation order).
enum VMAFPlanes {
    /// A textured scene shifted right by 2t columns, with seeded noise of ±20,
    /// and a flat band (100) over the left quarter: the low-variance branches.
    static func scene(_ w: Int, _ h: Int, seed: UInt64, t: Int = 0) -> PlaneBuffer {
        var rng = SplitMix64(seed: seed)
        var s = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let u = x + 2 * t
                let base = (u * 7 + y * 3 + (u * y) / 11) % 160 + 48
                let n = Int(rng.next() % 41)
                s[y * w + x] = UInt8(x < w / 4 ? 100 : base + n - 20)
            }
        }
        return PlaneBuffer(width: w, height: h, samples: s)
    }

    /// `p` plus seeded noise uniform in −amp...amp, clamped to 0...255.
    static func distort(_ p: PlaneBuffer, seed: UInt64, amp: Int) -> PlaneBuffer {
        var rng = SplitMix64(seed: seed)
        let s = p.samples.map { v -> UInt8 in
            UInt8(min(255, max(0, Int(v) + Int(rng.next() % UInt64(2 * amp + 1)) - amp)))
        }
        return PlaneBuffer(width: p.width, height: p.height, samples: s)
    }

    /// Border paths (48×40), odd sizes (37×33), a width that is a multiple of 8 but not of 16 (64×36).
    static let sizes = [(48, 40), (37, 33), (64, 36)]
}

final class VMAFModelTests: XCTestCase {
    /// The embedded resource is libvmaf v2.3.0's vmaf_v0.6.1 model, read exactly.
    func testResourceIsTheV061Model() {
        let m = VMAFModel.v061
        XCTAssertEqual(m.version, "vmaf_v0.6.1")
        XCTAssertTrue(m.source.contains("v2.3.0") && m.source.contains("2221e57b43f0e6b26693c2066f04d42f"), m.source)
        XCTAssertTrue(m.licence.hasPrefix("BSD-2-Clause-Patent"))
        XCTAssertEqual(m.features, ["adm2", "motion2", "vif_scale0", "vif_scale1", "vif_scale2", "vif_scale3"])
        XCTAssertEqual(m.vectors.count, 211)
        XCTAssertEqual(m.coefficients.count, 211)
        XCTAssertEqual(m.gamma, 0.04)
        XCTAssertEqual(m.rho, -1.33133)
        XCTAssertEqual(m.slopes[0], 0.012020766332648465)
        XCTAssertEqual(m.intercepts[0], -0.3092981927591963)
        XCTAssertEqual(m.clip, [0, 100])
        // The first support vector (libsvm `-4 1:0.65734273 2:0.34681232 ...`) and one with a missing index (4th: 5 omitted).
        XCTAssertEqual(m.coefficients[0], -4)
        XCTAssertEqual(m.vectors[0], [0.65734273, 0.34681232, 0.093755557, 0.60913934, 0.69117362, 0.73495824])
        XCTAssertEqual(m.vectors[3], [0.20371751, 0.49612229, 0.10534315, -1.110223e-16, 0, 2.220446e-16])
    }

    /// Features → score, against libvmaf's predict.c/svm.cpp arithmetic evaluated
    /// in Python on the same model file. [1, 0, 1, 1, 1, 1] is identical frames
    /// without motion: the first frame of a clip scored against itself.
    func testPredictKnownAnswers() {
        let cases: [([Double], Double)] = [
            ([1, 0, 1, 1, 1, 1], 97.428042642611),
            ([0.95, 3.2, 0.6, 0.85, 0.9, 0.93], 80.80149674885025),
            ([0.7, 10, 0.3, 0.5, 0.6, 0.65], 20.232349978301375),
            ([0.2, 0, 0.01, 0.01, 0.01, 0.01], 3.1144750310214016),
            ([0.88, 1.5, 0.42, 0.71, 0.8, 0.86], 56.922411685895256),
            ([0, 0, 0, 0, 0, 0], 4.336670510917963),
        ]
        for (f, expected) in cases {
            let features = VMAFFeatures(adm2: f[0], motion2: f[1], vif: Array(f[2...]))
            XCTAssertEqual(VMAFModel.v061.predict(features), expected, accuracy: expected * 1e-12, "\(f)")
        }
    }

    /// The clip: identical frames with strong motion exceed 100 before it.
    func testPredictClipsToTheModelRange() {
        let f = VMAFFeatures(adm2: 1, motion2: 20, vif: [1, 1, 1, 1])
        XCTAssertEqual(VMAFModel.v061.unclipped(f), 120.80583516378228, accuracy: 120.8 * 1e-12)
        XCTAssertEqual(VMAFModel.v061.predict(f), 100)
    }
}

final class VMAFMotionTests: XCTestCase {
    /// A plain scalar blur with libvmaf's edge rule, for the vectorised kernel.
    func scalarBlur(_ p: PlaneBuffer, shift: Int) -> [UInt16] {
        let w = p.width, h = p.height, f = VMAFMotion.filter.map(Int.init)
        func m(_ t: Int, _ n: Int) -> Int { t < 0 ? -t : (t >= n ? n - (t - n + shift) : t) }
        var v = [Int](repeating: 0, count: w * h), out = [UInt16](repeating: 0, count: w * h)
        for i in 0..<h { for j in 0..<w { v[i * w + j] = ((0..<5).map { f[$0] * Int(p[j, m(i - 2 + $0, h)]) }.reduce(0, +) + 128) >> 8 } }
        for i in 0..<h { for j in 0..<w { out[i * w + j] = UInt16(((0..<5).map { f[$0] * v[i * w + m(j - 2 + $0, w)] }.reduce(0, +) + 32768) >> 16) } }
        return out
    }

    func testBlurMatchesScalarReference() {
        for (w, h) in VMAFPlanes.sizes + [(3, 3), (5, 4), (17, 9)] {
            let p = VMAFPlanes.scene(w, h, seed: 3)
            for shift in [1, 2] {
                XCTAssertEqual(p.withPlane { VMAFMotion.blur($0, mirrorShift: shift).samples }, scalarBlur(p, shift: shift), "\(w)×\(h) shift \(shift)")
            }
        }
    }

    /// Four frames of the scene moving 2 px a frame: the blurs' checksum, the SADs and
    /// motion(t) exactly as libvmaf 2.3.0 computes them (the peer, fed these planes as yuv444p
    /// rawvideo, prints the same motions to its 6 decimals); libvmaf ≥ 3's mirror (shift 2) gives other motions.
    func testMotionKnownAnswers() {
        let expected: [(checksum: UInt64, sads: [UInt64], motion: [Double], head: [Double])] = [
            (237000246, [8785544, 8723584, 8770496], [17.874235153198242, 17.74817657470703, 17.84362030029297],
             [17.868452072143555, 17.693086624145508, 17.828855514526367]),
            (151295164, [5580628, 5494557, 5581394], [17.853668212890625, 17.57830810546875, 17.856117248535156],
             [17.89137077331543, 17.49260711669922, 17.863115310668945]),
            (284296683, [10232826, 10180224, 10229071], [17.348947525024414, 17.259765625, 17.34258270263672],
             [17.3435001373291, 17.273406982421875, 17.30092430114746]),
        ]
        for ((w, h), e) in zip(VMAFPlanes.sizes, expected) {
            let frames = (0..<4).map { VMAFPlanes.scene(w, h, seed: 7, t: $0) }
            let blurs = frames.map { f in f.withPlane { VMAFMotion.blur($0) } }
            XCTAssertEqual(blurs.map { $0.samples.reduce(UInt64(0)) { $0 + UInt64($1) } }.reduce(0, +), e.checksum, "\(w)×\(h)")
            XCTAssertEqual((1..<4).map { VMAFMotion.sad(blurs[$0], blurs[$0 - 1]) }, e.sads, "\(w)×\(h)")
            XCTAssertEqual((1..<4).map { VMAFMotion.motion(blurs[$0], blurs[$0 - 1]) }, e.motion, "\(w)×\(h)")
            let head = frames.map { f in f.withPlane { VMAFMotion.blur($0, mirrorShift: 2) } }
            XCTAssertEqual((1..<4).map { VMAFMotion.motion(head[$0], head[$0 - 1]) }, e.head, "\(w)×\(h) libvmaf ≥ 3")
        }
    }

    /// The lookahead: motion2(0) = 0, then the smaller of this and the next motion, the last frame its own.
    func testMotion2Lookahead() {
        XCTAssertEqual(VMAFMotion.motion2([]), [])
        XCTAssertEqual(VMAFMotion.motion2([0]), [0])
        XCTAssertEqual(VMAFMotion.motion2([0, 5]), [0, 5])
        XCTAssertEqual(VMAFMotion.motion2([0, 5, 3, 4, 9, 1]), [0, 3, 3, 4, 1, 1])
    }

    /// A constant clip has no motion.
    func testConstantFramesHaveNoMotion() {
        let a = Planes.constant(40, 36, 90).withPlane { VMAFMotion.blur($0) }
        XCTAssertEqual(VMAFMotion.motion(a, a), 0)
        XCTAssertTrue(a.samples.allSatisfy { $0 == 90 * 256 })
    }
}

final class VMAFVIFTests: XCTestCase {
    /// The 16-bit log2 table: round(log2f(i)·2048) with C's round (half away from zero).
    /// 33108 is an exact half (30750.5): rounding half to even would give 30750.
    func testLog2Table() {
        let t = VMAFVIF.log2Table
        XCTAssertEqual(t[32767...65535].reduce(0) { $0 + Int($1) }, 1_044_062_817)
        XCTAssertEqual(t[32767], 30720)
        XCTAssertEqual(t[32768], 30720)
        XCTAssertEqual(t[65535], 32768)
        XCTAssertEqual(t[33108], 30751)
    }

    /// The four scales on the scene against a noisy copy of itself, and against itself
    /// (identical planes read just under 1 at coarse scales, as in libvmaf). Float-rounded: exact.
    /// The peer prints the same values to 6 decimals on these sizes, where its AVX2 code and
    /// libvmaf's C code agree (width 0 or 9...15 mod 16).
    func testVIFKnownAnswers() {
        let expected: [(w: Int, h: Int, dis: [Double], same: [Double])] = [
            (48, 40, [0.4479934871196747, 0.8778334259986877, 0.9332230687141418, 0.9488185048103333],
             [1.0, 0.9999998807907104, 0.9999997019767761, 0.9999992847442627]),
            (41, 33, [0.44031694531440735, 0.8845563530921936, 0.9414957165718079, 0.9767122268676758],
             [1.0, 0.9999998211860657, 1.0, 1.0]),
            (64, 36, [0.45466265082359314, 0.8969335556030273, 0.9477360844612122, 0.9669867157936096],
             [1.0, 0.9999998807907104, 0.9999996423721313, 0.9999997615814209]),
        ]
        for e in expected {
            let ref = VMAFPlanes.scene(e.w, e.h, seed: 11), dis = VMAFPlanes.distort(ref, seed: 12, amp: 15)
            ref.withPlane { r in
                dis.withPlane { d in XCTAssertEqual(VMAFVIF.features(reference: r, distorted: d), e.dis, "\(e.w)×\(e.h)") }
                XCTAssertEqual(VMAFVIF.features(reference: r, distorted: r), e.same, "\(e.w)×\(e.h) against itself")
            }
        }
    }

    /// Widths 1...8 mod 16: the peer's AVX2 scale 0 reads the last row's overrun means in row 0
    /// (``VMAFVIF/avx2Overrun(_:_:)``). The peer prints vif_scale0 0.431769 and 0.435968 for these
    /// pairs, and 0.994754 and 0.991501 for each scene against itself; libvmaf's C code gives the
    /// `c` values (1 against itself). Scales 1-3 are unaffected.
    func testVIFScale0PeerAVX2Overrun() {
        let expected: [(w: Int, h: Int, peer: Double, c: Double, same: Double)] = [
            (37, 33, 0.4317685067653656, 0.43257319927215576, 0.994754433631897),
            (40, 36, 0.43596774339675903, 0.43927887082099915, 0.9915006160736084),
            (56, 36, 0.44775035977363586, 0.45062845945358276, 0.9936684370040894),
        ]
        for e in expected {
            let ref = VMAFPlanes.scene(e.w, e.h, seed: 11), dis = VMAFPlanes.distort(ref, seed: 12, amp: 15)
            ref.withPlane { r in
                dis.withPlane { d in
                    let peer = VMAFVIF.features(reference: r, distorted: d), c = VMAFVIF.features(reference: r, distorted: d, peerAVX2: false)
                    XCTAssertEqual(peer[0], e.peer, "\(e.w)×\(e.h)")
                    XCTAssertEqual(c[0], e.c, "\(e.w)×\(e.h) C")
                    XCTAssertEqual(Array(peer[1...]), Array(c[1...]))
                }
                XCTAssertEqual(VMAFVIF.features(reference: r, distorted: r)[0], e.same, "\(e.w)×\(e.h) against itself")
                XCTAssertEqual(VMAFVIF.features(reference: r, distorted: r, peerAVX2: false)[0], 1, "\(e.w)×\(e.h) C against itself")
            }
        }
    }
}

final class VMAFADMTests: XCTestCase {
    /// libvmaf's reciprocal table and the CSF factors of `dwt_quant_step` (Float/Double as in C).
    func testTables() {
        XCTAssertEqual(VMAFADM.divLookup[32768], 0)
        XCTAssertEqual(VMAFADM.divLookup[32768 + 1], 1 << 30)
        XCTAssertEqual(VMAFADM.divLookup[32768 - 3], -357_913_941)
        XCTAssertEqual(VMAFADM.divLookup[65536], 32768)
        XCTAssertEqual(VMAFADM.rfactor(0, 1), 0.017381537705659866)
        XCTAssertEqual(VMAFADM.rfactor(0, 2), 0.005890686996281147)
        XCTAssertEqual(VMAFADM.rfactor(1, 1), 0.031984828412532806)
        XCTAssertEqual(VMAFADM.rfactor(3, 2), 0.0313127376139164)
        // The fixed-point factors of scales 1-3: UInt32(rfactor · 2³²).
        XCTAssertEqual([(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)].map { Int64(Double(VMAFADM.rfactor($0.0, $0.1)) * 4294967296.0) },
                       [137_373_792, 61_414_028, 186_284_160, 104_783_920, 196_165_808, 134_487_184])
    }

    /// adm2 and the four scale ratios on the scene against a noisy copy and against itself
    /// (above 1, as libvmaf gives). 37×33 takes the C wavelet, the others the peer's AVX2 one (width a
    /// multiple of 8); the peer prints the same values to 6 decimals. With the C wavelet, 64×36
    /// reads adm2 0.9697016455141414.
    func testADMKnownAnswers() {
        let expected: [(w: Int, h: Int, adm2: Double, scales: [Double], same: Double, sameScales: [Double])] = [
            (37, 33, 0.9605782022518051, [0.9356090850170047, 0.9296362520331255, 0.9645919544016088, 0.9792504442682823],
             1.0000026815230192, [1.0000205227135133, 1.0000002503335277, 1.0000004739563364, 1.0000005607425129]),
            (64, 36, 0.9697255080801859, [0.9383958046791144, 0.9435491957807254, 0.9641507977730357, 0.9956557659424389],
             1.0000024979687134, [1.0000202361637915, 1.0000002223432594, 1.0000003862877431, 1.0000003412220224]),
        ]
        // Widths 8 mod 16: the AVX2 buffer's overwritten high-row start (the peer prints 0.970451, 0.969234),
        // with the last band row's stores spilling into the next band's row 0 at 40 and 72 (0.986797, 0.981877)
        // and at 48 (0.964657).
        let overwritten: [(w: Int, adm2: Double, scales: [Double])] = [
            (56, 0.9704512549434674, [0.9698498640285683, 0.9445107681311493, 0.9813653471588201, 0.9726964212563687]),
            (88, 0.9692338061421405, [0.9610201595348274, 0.9501461227577774, 0.9685792803889661, 0.9806216352766688]),
            (40, 0.9867974525019423, [0.9803143384569276, 0.9530794233721247, 0.9838170765697217, 1.0070322998144536]),
            (72, 0.9818765378451098, [0.9678537664066469, 0.9485561563704484, 0.9731900398615845, 1.011225556650542]),
            (48, 0.9646568858159253, [0.9451980445361435, 0.9575695821035696, 0.9704429528199324, 0.96940315766802]),
        ]
        for e in overwritten {
            let ref = VMAFPlanes.scene(e.w, 36, seed: 11), dis = VMAFPlanes.distort(ref, seed: 12, amp: 15)
            ref.withPlane { r in
                dis.withPlane { d in
                    let f = VMAFADM.features(reference: r, distorted: d)
                    XCTAssertEqual(f.adm2, e.adm2, accuracy: 1e-15, "\(e.w)×36")
                    XCTAssertEqual(f.scales, e.scales, "\(e.w)×36")
                }
            }
        }
        for e in expected {
            let ref = VMAFPlanes.scene(e.w, e.h, seed: 11), dis = VMAFPlanes.distort(ref, seed: 12, amp: 15)
            ref.withPlane { r in
                dis.withPlane { d in
                    let f = VMAFADM.features(reference: r, distorted: d)
                    XCTAssertEqual(f.adm2, e.adm2, accuracy: 1e-15, "\(e.w)×\(e.h)")
                    XCTAssertEqual(f.scales, e.scales, "\(e.w)×\(e.h)")
                }
                let same = VMAFADM.features(reference: r, distorted: r)
                XCTAssertEqual(same.adm2, e.same, accuracy: 1e-15, "\(e.w)×\(e.h) against itself")
                XCTAssertEqual(same.scales, e.sameScales, "\(e.w)×\(e.h) against itself")
            }
        }
        let ref = VMAFPlanes.scene(64, 36, seed: 11), dis = VMAFPlanes.distort(ref, seed: 12, amp: 15)
        ref.withPlane { r in
            dis.withPlane { d in XCTAssertEqual(VMAFADM.features(reference: r, distorted: d, peerAVX2: false).adm2, 0.9697016455141414, accuracy: 1e-15) }
        }
    }
}

final class VMAFMetricTests: XCTestCase {
    func run(_ clip: [PlaneBuffer], _ reference: [PlaneBuffer]) -> MetricOutput {
        let engine = MetricEngine(metrics: [VMAF()])
        for i in clip.indices {
            clip[i].withPlane { c in
                reference[i].withPlane { r in
                    engine.consume(Frame(index: i, time: Double(i) / 25, duration: 0.04, luma: c),
                                   reference: Frame(index: i, time: Double(i) / 25, duration: 0.04, luma: r))
                }
            }
        }
        return engine.finish()[0].1
    }

    /// Four 64×36 frames of the moving scene against noisy copies (±60): per-frame VMAF, the mean
    /// and the harmonic mean as libvmaf computes them (the peer prints 47.866338, 64.188932,
    /// 52.214119, 52.777656; mean 54.261761, harmonic mean 53.651453), the features' means.
    func testVMAFKnownAnswers() {
        let ref = (0..<4).map { VMAFPlanes.scene(64, 36, seed: 7, t: $0) }
        let clip = ref.indices.map { VMAFPlanes.distort(ref[$0], seed: UInt64(20 + $0), amp: 60) }
        let out = run(clip, ref)
        let expected = [47.86633804836598, 64.18893162147715, 52.21411857922227, 52.77765564256964]
        XCTAssertEqual(out.series.count, 4)
        for (s, e) in zip(out.series, expected) { XCTAssertEqual(s!, e, accuracy: e * 1e-12) }
        let v = Dictionary(out.values, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(v["vmaf"]!!, 54.26176097290876, accuracy: 1e-10)
        XCTAssertEqual(v["vmaf_hmean"]!!, 53.651452668112945, accuracy: 1e-10)
        XCTAssertEqual(v["vmaf_adm2"]!!, 0.8568344785068236, accuracy: 1e-14)
        XCTAssertEqual(v["vmaf_motion2"]!!, 12.96552848815918, accuracy: 1e-12)
        XCTAssertEqual(v["vmaf_vif_scale0"]!!, 0.14269692450761795, accuracy: 1e-14)
        XCTAssertTrue(out.warnings.isEmpty, "\(out.warnings)")
    }

    /// A clip against itself: the first frame has no motion (≈ 97.43), the moving frames reach 100.
    func testIdenticalClip() {
        let ref = (0..<3).map { VMAFPlanes.scene(64, 36, seed: 7, t: $0) }
        let out = run(ref, ref)
        XCTAssertEqual(out.series[0]!, 97.43, accuracy: 0.01)
        XCTAssertEqual(out.series[1]!, 100)
        XCTAssertEqual(out.series[2]!, 100)
    }

    /// Below 33 pixels a side there is no score, with a warning naming the size.
    func testTooSmall() {
        let ref = [VMAFPlanes.scene(32, 40, seed: 1)]
        let out = run(ref, ref)
        XCTAssertEqual(out.values.first!.1, nil)
        XCTAssertEqual(out.series, [nil])
        XCTAssertTrue(out.warnings.first!.contains("32×40"), "\(out.warnings)")
    }
}

final class VMAFStrideTests: XCTestCase {
    /// Decoded frames have rows longer than their width (FFmpeg's linesize): every feature reads the
    /// same numbers from a plane inside a wider buffer whose padding holds other values.
    func testPaddedRowsGiveTheSameFeatures() {
        let ref = VMAFPlanes.scene(56, 36, seed: 11), dis = VMAFPlanes.distort(ref, seed: 12, amp: 15)
        func padded(_ p: PlaneBuffer, _ body: (Plane) -> Void) {
            let stride = p.width + 24
            var mem = [UInt8](repeating: 0xEE, count: stride * p.height)
            for y in 0..<p.height { for x in 0..<p.width { mem[y * stride + x] = p.samples[y * p.width + x] } }
            mem.withUnsafeBufferPointer { body(Plane(base: $0.baseAddress!, width: p.width, height: p.height, stride: stride)) }
        }
        ref.withPlane { r in
            dis.withPlane { d in
                padded(ref) { pr in
                    padded(dis) { pd in
                        XCTAssertEqual(VMAFVIF.features(reference: pr, distorted: pd), VMAFVIF.features(reference: r, distorted: d))
                        XCTAssertEqual(VMAFADM.features(reference: pr, distorted: pd).scales, VMAFADM.features(reference: r, distorted: d).scales)
                        XCTAssertEqual(VMAFMotion.blur(pr).samples, VMAFMotion.blur(r).samples)
                    }
                }
            }
        }
    }
}
