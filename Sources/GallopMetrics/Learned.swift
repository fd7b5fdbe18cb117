import GallopCore
import GallopLearned

/// The shared passes that run a learned image encoder over every frame handed to metrics (``AnalysisKey``
/// `.dinoFeatures`, `.clipB32Features`, `.clipL14Features`): each frame is preprocessed as VBench 0.1.5 does
/// (``Preprocessor``: `dino_transform` or `clip_transform` on the float frame), into a batch buffer, and every
/// ``batchSize`` frames the batch goes through the encoder at once (one product per layer for the whole batch
/// uses the GEMMs better than one frame at a time; the features are the same). The features are needed only
/// when the clip ends (``ClipAnalyses/features``). The encoder comes from ``ModelStore`` (loaded once per
/// process); a model that cannot be loaded or run leaves a failure the metrics report as a warning.
enum LearnedPass {
    /// Frames encoded together.
    static let batchSize = 8

    /// The model key, preprocessing and layer-norm ε (nil: the model's own) of each feature analysis.
    static func recipe(_ key: AnalysisKey) -> (model: ModelKey, kind: Preprocessor.Kind, eps: Float?) {
        switch key {
        // VBench's DINO is facebookresearch/dino's `vit_base`, layer norm ε 1e-6, whatever a config beside the
        // weights says (facebook/dino-vitb16's HF config states 1e-12).
        case .dinoFeatures: return (.dinoViTB16, .dino, 1e-6)
        case .clipB32Features: return (.clipViTB32, .clip, nil)
        case .clipL14Features: return (.clipViTL14, .clip, nil)
        default: preconditionFailure("\(key) is not a learned feature analysis")
        }
    }

    static func pass(_ key: AnalysisKey) -> AnalysisPass {
        AnalysisPass(name: "\(key)") { setup in
            let (model, kind, eps) = recipe(key)
            var encoder: VisionEncoder?, failure: String?
            if let ref = setup.settings.models[model] {
                do { encoder = try ModelStore.shared.visionEncoder(ref, eps: eps) } catch { failure = "\(error)" }
            } else {
                failure = "models.\(model.rawValue) is not configured"
            }
            var features: [[Float]] = []
            var preprocessor: Preprocessor?
            var buffer: [Float] = [], pending = 0
            func flush() {
                defer { pending = 0 }
                guard pending > 0, let encoder, let p = preprocessor, failure == nil else { return }
                do {
                    let out = try buffer.withUnsafeBufferPointer { b in
                        try encoder.encode(UnsafeBufferPointer(rebasing: b[0..<(pending * p.count)]), count: pending,
                                           height: p.outputHeight, width: p.outputWidth)
                    }
                    let d = encoder.outputDimension
                    for i in 0..<pending { features.append(Array(out[(i * d)..<((i + 1) * d)])) }
                } catch {
                    failure = "\(error)"
                }
            }
            return PassRun(frame: { c in
                guard encoder != nil, failure == nil else { return }
                let f = c.frame
                // A size change mid-clip: the batch so far is encoded at its own size first.
                if preprocessor?.inputWidth != f.luma.width || preprocessor?.inputHeight != f.luma.height {
                    flush()
                    // The model's trained side (grid × patch): 224 for all three of VBench's encoders.
                    let side = encoder!.architecture.grid * encoder!.architecture.patch
                    preprocessor = Preprocessor(kind, size: side, height: f.luma.height, width: f.luma.width)
                    buffer = [Float](repeating: 0, count: batchSize * preprocessor!.count)
                }
                let p = preprocessor!
                buffer.withUnsafeMutableBufferPointer { b in
                    p.write(f, into: UnsafeMutableBufferPointer(rebasing: b[(pending * p.count)..<((pending + 1) * p.count)]))
                }
                pending += 1
                if pending == batchSize { flush() }
            }, clipEnd: { clip in
                flush()
                if let failure { clip.featureFailures[key] = failure } else { clip.features[key] = features }
            })
        }
    }
}

/// The learned metrics' formulas on known features (the encoders' outputs), separate from the encoders so
/// they are tested on hand-computed answers.
public enum LearnedFormulas {
    /// `v / |v|` (VBench's `F.normalize`, p = 2, ε 1e-12).
    public static func normalized(_ v: [Float]) -> [Double] {
        let d = v.map(Double.init)
        let norm = max((d.reduce(0) { $0 + $1 * $1 }).squareRoot(), 1e-12)
        return d.map { $0 / norm }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    /// VBench's subject/background consistency (subject_consistency.py 54-66, background_consistency.py 44-56):
    /// frame t ≥ 1 scores (max(0, cos(f_{t−1}, f_t)) + max(0, cos(f_0, f_t))) / 2; the clip's value is their mean
    /// over the N − 1 frames (nil for one frame: VBench divides by zero). Series: nil, then each frame's score.
    public static func consistency(_ features: [[Float]]) -> (value: Double?, series: [Double?]) {
        guard !features.isEmpty else { return (nil, []) }
        let f = features.map(normalized)
        var series: [Double?] = [nil], total = 0.0
        for t in f.indices.dropFirst() {
            let s = (max(0, dot(f[t - 1], f[t])) + max(0, dot(f[0], f[t]))) / 2
            series.append(s)
            total += s
        }
        return (f.count > 1 ? total / Double(f.count - 1) : nil, series)
    }

    /// VBench's aesthetic quality (aesthetic_quality.py 60-72): each frame's L2-normalised feature through the
    /// linear head (w · f̂ + b), divided by 10, averaged over the frames. Series: each frame's value.
    public static func aesthetic(_ features: [[Float]], head: (weight: [Float], bias: Float)) -> (value: Double?, series: [Double?]) {
        let w = head.weight.map(Double.init)
        let series: [Double?] = features.map { (dot(w, normalized($0)) + Double(head.bias)) / 10 }
        return (series.isEmpty ? nil : series.reduce(0) { $0 + $1! } / Double(series.count), series)
    }

    /// torchmetrics' CLIP score: each frame's 100 · cos(image, text), the clip's value max(0, mean) (the
    /// functional clamps the mean, clip_score.py 353-354). Series: each frame's 100 · cos.
    public static func clipScore(_ features: [[Float]], text: [Float]) -> (value: Double?, series: [Double?]) {
        let t = normalized(text)
        let series: [Double?] = features.map { 100 * dot(normalized($0), t) }
        return (series.isEmpty ? nil : max(0, series.reduce(0) { $0 + $1! } / Double(series.count)), series)
    }
}

/// The warning of a learned metric whose features are missing (one frame is handled by each metric).
func learnedFailure(_ name: String, _ key: AnalysisKey, _ clip: ClipAnalyses) -> MetricOutput? {
    if let failure = clip.featureFailures[key] {
        return MetricOutput(values: [(name, nil)], warnings: ["\(name) not computed: \(failure)"])
    }
    guard clip.features[key] != nil else {
        return MetricOutput(values: [(name, nil)], warnings: ["\(name) not computed: no features"])
    }
    return nil
}

/// VBench's frame sampling, as each learned metric's `about` states it.
let learnedSampling = "Frames: every frame at native size as VBench reads them (decord, all frames); --every, --max-frames and --max-side apply (a frame scaled down by --max-side is resized to the 224 px input from there) and are recorded, and the row warns that the number is then not VBench's (resolution native)."
