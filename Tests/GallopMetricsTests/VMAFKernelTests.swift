import GallopCore
@testable import GallopMetrics
import GallopTestSupport
import XCTest

/// The vectorised ADM and VIF kernels against the plain-loop code they replace
/// (GallopTestSupport's ReferenceADM and ReferenceVIF, the first version's
/// Int64 matrices): every feature equal to the last bit, at every width from
/// 33 to 80 (each residue mod 16, so both of the peer's AVX2 quirks and the C
/// paths) and a few larger sizes, on textured, noisy, saturated and identical
/// pairs, with one workspace reused across frames and sizes as ``VMAF`` does.
final class VMAFKernelTests: XCTestCase {
    /// Seeded uniform noise over the full 0...255 range: large wavelet coefficients and the clamps.
    static func noise(_ w: Int, _ h: Int, seed: UInt64) -> PlaneBuffer {
        var rng = SplitMix64(seed: seed)
        return PlaneBuffer(width: w, height: h, samples: (0..<(w * h)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    }

    func pairs(_ w: Int, _ h: Int) -> [(String, PlaneBuffer, PlaneBuffer)] {
        let scene = VMAFPlanes.scene(w, h, seed: UInt64(w * 1000 + h))
        let noise = Self.noise(w, h, seed: UInt64(w + h))
        return [("scene", scene, VMAFPlanes.distort(scene, seed: 5, amp: 25)), ("same", scene, scene),
                ("noise", noise, VMAFPlanes.distort(noise, seed: 6, amp: 90)), ("unrelated", scene, noise)]
    }

    func testADMEqualsThePlainLoops() {
        let sizes = (33...80).map { ($0, 33 + $0 % 7) } + [(129, 71), (200, 36), (257, 130)]
        var admSpace: VMAFADM.Workspace?
        for (w, h) in sizes {
            if admSpace.map({ $0.width != w || $0.height != h }) ?? true { admSpace = VMAFADM.Workspace(width: w, height: h) }
            for (name, ref, dis) in pairs(w, h) {
                ref.withPlane { r in
                    dis.withPlane { d in
                        for avx2 in [true, false] {
                            let fast = VMAFADM.features(reference: r, distorted: d, peerAVX2: avx2, workspace: admSpace)
                            let plain = ReferenceADM.features(reference: r, distorted: d, peerAVX2: avx2)
                            XCTAssertEqual(fast.adm2, plain.adm2, "\(name) \(w)×\(h) avx2 \(avx2)")
                            XCTAssertEqual(fast.scales, plain.scales, "\(name) \(w)×\(h) avx2 \(avx2)")
                        }
                    }
                }
            }
        }
    }

    func testVIFEqualsThePlainLoops() {
        let sizes = (33...80).map { ($0, 33 + $0 % 7) } + [(16, 16), (129, 71), (200, 36), (257, 130)]
        var vifSpace: VMAFVIF.Workspace?
        for (w, h) in sizes {
            if vifSpace.map({ $0.width != w || $0.height != h }) ?? true { vifSpace = VMAFVIF.Workspace(width: w, height: h) }
            for (name, ref, dis) in pairs(w, h) {
                ref.withPlane { r in
                    dis.withPlane { d in
                        for avx2 in [true, false] {
                            XCTAssertEqual(VMAFVIF.features(reference: r, distorted: d, peerAVX2: avx2, workspace: vifSpace),
                                           ReferenceVIF.features(reference: r, distorted: d, peerAVX2: avx2), "\(name) \(w)×\(h) avx2 \(avx2)")
                        }
                    }
                }
            }
        }
    }
}
