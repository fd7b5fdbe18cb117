import Foundation

/// The six elementary features VMAF v0.6.1 reads per frame, as libvmaf's
/// integer extractors compute them (`adm2`, `motion2`, `vif_scale0...3`).
public struct VMAFFeatures: Sendable, Equatable {
    public var adm2: Double
    public var motion2: Double
    /// VIF at scales 0 (full size) to 3 (1/8).
    public var vif: [Double]

    public init(adm2: Double, motion2: Double, vif: [Double]) {
        precondition(vif.count == 4, "VMAF reads VIF at four scales")
        self.adm2 = adm2
        self.motion2 = motion2
        self.vif = vif
    }

    /// The value of a feature named as in the model resource's `features` list.
    func value(_ name: String) -> Double? {
        switch name {
        case "adm2": adm2
        case "motion2": motion2
        case "vif_scale0": vif[0]
        case "vif_scale1": vif[1]
        case "vif_scale2": vif[2]
        case "vif_scale3": vif[3]
        default: nil
        }
    }
}

/// A VMAF model: libvmaf's support-vector regression from the features to
/// the score (`libvmaf/src/predict.c` and `svm.cpp` at v2.3.0).
///
/// The numbers are data, in one resource file
/// (`Sources/GallopMetrics/Resources/vmaf_v0.6.1.json`, made from libvmaf's
/// `model/vmaf_v0.6.1.json` at v2.3.0 by
/// `scripts/gallopcheck/crosscheck_vmaf.py model`, which names the source
/// commit, its md5 and the licence, BSD-2-Clause-Patent). The file is
/// embedded in the binary (SwiftPM `.embedInCode`), so an installed or copied
/// `gallop` needs no resource bundle beside it, and parsed once
/// (``v061``).
///
/// Prediction, all in Double as libvmaf computes it:
/// 1. normalise (`linear_rescale`): x_i = slopes[i+1]·f_i + intercepts[i+1],
///    in the model's feature order;
/// 2. libsvm ν-SVR with the RBF kernel: p = Σ_k coef_k·exp(−γ‖x − sv_k‖²) − ρ,
///    summed in the file's order (libsvm's `svm_predict_values`; the squared
///    distance is summed over indices in order, a sparse index libsvm omits
///    being 0 here);
/// 3. denormalise: (p − intercepts[0]) / slopes[0];
/// 4. clip to [0, 100]. The model's score transform stays off, as in libvmaf
///    unless the model enables it or the caller asks (FFmpeg's `libvmaf`
///    filter does not).
public struct VMAFModel: Sendable, Decodable {
    /// Where the numbers come from (repository, file, tag, commit, md5).
    public let source: String
    public let licence: String
    /// The model's name (`vmaf_v0.6.1`).
    public let version: String
    /// Feature names in the SVR's input order.
    public let features: [String]
    /// Index 0 denormalises the prediction; index i + 1 normalises feature i.
    public let slopes: [Double]
    public let intercepts: [Double]
    /// The RBF kernel's γ and the SVR's offset ρ.
    public let gamma: Double
    public let rho: Double
    /// The score's range.
    public let clip: [Double]
    /// One coefficient and one dense vector per support vector.
    public let coefficients: [Double]
    public let vectors: [[Double]]

    /// libvmaf's default model, read once from the embedded resource.
    public static let v061: VMAFModel = {
        do {
            let model = try JSONDecoder().decode(VMAFModel.self, from: Data(PackageResources.vmaf_v0_6_1_json))
            try model.validate()
            return model
        } catch {
            // The resource is committed and pinned by VMAFModelTests: failing here is a build defect.
            preconditionFailure("the embedded VMAF model resource vmaf_v0.6.1.json is invalid: \(error)")
        }
    }()

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// Sizes and names agree: every feature known, one slope and intercept per
    /// feature plus the output's, one vector of the features' length per coefficient.
    func validate() throws {
        let probe = VMAFFeatures(adm2: 0, motion2: 0, vif: [0, 0, 0, 0])
        if let unknown = features.first(where: { probe.value($0) == nil }) { throw Invalid(description: "unknown feature \(unknown)") }
        guard slopes.count == features.count + 1, intercepts.count == features.count + 1 else {
            throw Invalid(description: "\(slopes.count) slopes and \(intercepts.count) intercepts for \(features.count) features")
        }
        guard coefficients.count == vectors.count, !vectors.isEmpty, vectors.allSatisfy({ $0.count == features.count }) else {
            throw Invalid(description: "\(coefficients.count) coefficients for \(vectors.count) support vectors of \(features.count) features")
        }
        guard clip.count == 2, clip[0] <= clip[1] else { throw Invalid(description: "clip \(clip) is not a range") }
    }

    /// The SVR's output before the clip (steps 1-3 above).
    public func unclipped(_ f: VMAFFeatures) -> Double {
        let n = features.count
        var x = [Double](repeating: 0, count: n)
        for i in 0..<n { x[i] = slopes[i + 1] * f.value(features[i])! + intercepts[i + 1] }
        var sum = 0.0
        for (k, v) in vectors.enumerated() {
            var d2 = 0.0
            for i in 0..<n {
                let d = x[i] - v[i]
                d2 += d * d
            }
            sum += coefficients[k] * exp(-gamma * d2)
        }
        return (sum - rho - intercepts[0]) / slopes[0]
    }

    /// The frame's VMAF: the SVR's output clipped to the model's range.
    public func predict(_ f: VMAFFeatures) -> Double {
        min(max(unclipped(f), clip[0]), clip[1])
    }
}
