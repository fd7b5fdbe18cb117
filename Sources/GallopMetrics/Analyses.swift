import GallopCore
import GallopLearned

/// A shared analysis metrics read from their ``FrameContext`` (or, for
/// ``cuts``, from ``ClipAnalyses``), named in ``MetricInfo/needs``.
///
/// ``spec`` is the table: what each analysis depends on, what the reader must
/// hand out for it, and the pass that computes it. The engine resolves the
/// selected metrics' analyses with their dependencies once, and runs each
/// pass once per frame for all metrics, dependencies first (as libvmaf's
/// feature extractor registry, for analyses the metrics share).
public enum AnalysisKey: CaseIterable, Sendable, Hashable {
    /// RGB: packed planes (`Frame.rgb`), or for native-size 4:2:0 the YUV planes with `Frame.rgbFromYUV` (libswscale's exact
    /// conversion, made on the fly); the reader converts only when asked. A metric reads it through the colour sums.
    case rgb
    /// ``Kernels/FrameStats`` of the luma plane (mean, variance, clipping, regions), this frame's and the previous one's.
    case lumaStats
    /// ``Kernels/PairDifference`` between this luma plane and the previous one.
    case lumaPair
    /// Σ|a − b| between this RGB plane and the previous one.
    case rgbPair
    /// ``Kernels/OpponentSums`` of this RGB plane (colourfulness).
    case opponentSums
    /// ``Kernels/SecondDifferences`` of the luma (Laplacian and Immerkær sums).
    case secondDifferences
    /// Dense optical flow from the previous frame to this one (motion planes).
    case flow
    /// Flow from this frame back to the previous one too (occlusion checks).
    case backwardFlow
    /// Flows between the frames two apart, t−2 → t and back, on even t.
    case skipFlow
    /// The reference clip's frame aligned with this one (full-reference metrics).
    case reference
    /// The stored chroma planes of the frame and of its reference.
    case chroma
    /// When the reference's size differs from the clip's: the clip's luma scaled to the reference's size
    /// (bicubic, FFmpeg's `scale` filter by default) and the reference's own luma (``FrameContext/atReferenceSize``),
    /// the pair VMAF's users compare (the clip brought to the reference's resolution).
    case atReferenceSize
    /// The frame's and the reference's luma as float images (Gaussian SSIMs).
    case referenceImages
    /// The clip's hard cuts and held frames: a series kept per frame, decided when the clip ends (``ClipAnalyses``).
    case cuts
    /// The clip's sound, decoded in the same pass and measured as it arrives (``AudioAnalysis``: loudness,
    /// peaks, clipping), handed to the metrics when the clip ends (``ClipAnalyses/audio``).
    case audio
    /// The sound's true peak too: the reader resamples it to 192 kHz (the costliest part of the audio).
    case truePeak
    /// DINO ViT-B/16 CLS features of VBench's `dino_transform` of every frame (``LearnedPass``), when the clip ends.
    case dinoFeatures
    /// CLIP ViT-B/32 image features of VBench's `clip_transform` (shared by `background_consistency` and `clip_score`).
    case clipB32Features
    /// CLIP ViT-L/14 image features of VBench's `clip_transform`.
    case clipL14Features
    /// The sound's onset-strength envelope (``OnsetEnvelope/forSync(rate:)``: spectral flux of its mono downmix),
    /// built by ``AudioAnalysis`` as the sound arrives.
    case onsets

    /// The table: each analysis once.
    public var spec: AnalysisSpec {
        switch self {
        case .rgb: AnalysisSpec(reads: [.rgb])
        case .lumaStats: AnalysisSpec(pass: .lumaStats)
        case .lumaPair: AnalysisSpec(dependencies: [.lumaStats], spatial: true, pass: .lumaPair)
        case .rgbPair: AnalysisSpec(dependencies: [.rgb], pass: .colourSums)
        case .opponentSums: AnalysisSpec(dependencies: [.rgb], pass: .colourSums)
        case .secondDifferences: AnalysisSpec(spatial: true, pass: .secondDifferences)
        // The flows pass always computes the forward flow; the backward and two-apart ones when asked.
        case .flow: AnalysisSpec(reads: [.motionPlanes], spatial: true, pass: .flows)
        case .backwardFlow: AnalysisSpec(dependencies: [.flow], spatial: true, pass: .flows)
        case .skipFlow: AnalysisSpec(dependencies: [.flow], spatial: true, pass: .flows)
        case .reference: AnalysisSpec(reads: [.reference])
        case .chroma: AnalysisSpec(dependencies: [.reference], reads: [.chroma])
        case .atReferenceSize: AnalysisSpec(dependencies: [.reference], reads: [.atReferenceSize])
        case .referenceImages: AnalysisSpec(dependencies: [.reference], spatial: true, pass: .referenceImages)
        case .cuts: AnalysisSpec(dependencies: [.lumaPair], pass: .cuts)
        case .audio: AnalysisSpec(reads: [.audio])
        case .truePeak: AnalysisSpec(dependencies: [.audio], reads: [.truePeak])
        case .dinoFeatures: AnalysisSpec(dependencies: [.rgb], pass: LearnedPass.pass(.dinoFeatures))
        case .clipB32Features: AnalysisSpec(dependencies: [.rgb], pass: LearnedPass.pass(.clipB32Features))
        case .clipL14Features: AnalysisSpec(dependencies: [.rgb], pass: LearnedPass.pass(.clipL14Features))
        case .onsets: AnalysisSpec(dependencies: [.audio])
        }
    }

    /// `keys` and every analysis they depend on, each once and after its
    /// dependencies (in declaration order where the dependencies allow).
    public static func resolve(_ keys: some Sequence<AnalysisKey>) -> [AnalysisKey] {
        let asked = Set(keys)
        guard let order = DependencyOrder.sorted(allCases.filter(asked.contains), dependencies: { $0.spec.dependencies }) else {
            preconditionFailure("the analyses' dependencies have a cycle")
        }
        return order
    }

    /// The passes that compute `analyses` (resolved), each once and after the passes of its analyses' dependencies.
    static func passes(for analyses: [AnalysisKey]) -> [AnalysisPass] {
        var byName: [String: AnalysisPass] = [:], members: [String: [AnalysisKey]] = [:], roots: [String] = []
        for key in analyses {
            guard let pass = key.spec.pass else { continue }
            if byName[pass.name] == nil { roots.append(pass.name) }
            byName[pass.name] = pass
            members[pass.name, default: []].append(key)
        }
        // The passes a key's dependencies come from (through analyses the reader provides, which have none).
        func sources(_ key: AnalysisKey) -> [String] {
            key.spec.dependencies.flatMap { d in d.spec.pass.map { [$0.name] } ?? sources(d) }
        }
        guard let order = DependencyOrder.sorted(roots, dependencies: { name in
            members[name, default: []].flatMap(sources).filter { $0 != name }
        }) else { preconditionFailure("the analysis passes' dependencies have a cycle") }
        return order.map { byName[$0]! }
    }
}

/// What the video reader must hand out with each frame.
public enum ReaderInput: CaseIterable, Sendable, Hashable {
    case rgb
    case chroma
    /// Luma scaled to the optical-flow size (`Frame.motion`).
    case motionPlanes
    /// The reference clip's aligned frame.
    case reference
    /// With a reference of another size, the clip's luma at the reference's size and the reference's own luma.
    case atReferenceSize
    /// The clip's sound track, decoded in the frames' pass (`ReadOptions.audio`).
    case audio
    /// Each run of sound's 192 kHz peaks (`AudioRequest.truePeak`).
    case truePeak
}

/// One row of the analysis table (``AnalysisKey/spec``).
public struct AnalysisSpec: Sendable {
    /// Analyses computed before this one, every frame it is.
    public let dependencies: [AnalysisKey]
    /// What the reader must provide for it.
    public let reads: [ReaderInput]
    /// Computed on blocks, windows or patches: it means nothing on frames smaller than a block.
    public let spatial: Bool
    /// The pass that computes it; nil when the reader provides it as it is.
    let pass: AnalysisPass?

    init(dependencies: [AnalysisKey] = [], reads: [ReaderInput] = [], spatial: Bool = false, pass: AnalysisPass? = nil) {
        self.dependencies = dependencies
        self.reads = reads
        self.spatial = spatial
        self.pass = pass
    }
}

extension Sequence<AnalysisKey> {
    /// What the reader must hand out for these analyses (resolved).
    public var readerInputs: Set<ReaderInput> { Set(flatMap { $0.spec.reads }) }
    /// Whether any of these analyses (resolved) is spatial.
    public var anySpatial: Bool { contains { $0.spec.spatial } }
}

/// What a pass is made with, once per engine.
struct PassSetup {
    /// Every analysis the engine computes (resolved).
    let selected: Set<AnalysisKey>
    let settings: MetricSettings
    /// How many of a frame's optical flows may run at once.
    let flowThreads: Int
}

/// A pass made for one engine: `frame` fills this frame's results into the
/// context (its dependencies' results are already there); `clipEnd` fills
/// the clip's, once the last frame is in. Each keeps what it needs from frame
/// to frame in its own captured state.
struct PassRun {
    let frame: (inout FrameContext) -> Void
    var clipEnd: ((inout ClipAnalyses) -> Void)? = nil
}

/// The computation behind one or more analyses (those whose spec names it:
/// the two colour sums share a pass over the RGB rows, the flows a frame's
/// pyramids). `make` builds its ``PassRun`` for the analyses selected.
struct AnalysisPass: Sendable {
    let name: String
    let make: @Sendable (PassSetup) -> PassRun

    static let lumaStats = AnalysisPass(name: "lumaStats") { setup in
        let grid = setup.settings.flicker.grid
        var previous: Kernels.FrameStats?
        return PassRun { c in
            let f = c.frame
            let stats = Kernels.frameStats(f.luma, clipLow: f.range.clipLevels.low, clipHigh: f.range.clipLevels.high, grid: grid)
            c.stats = stats
            c.previousStats = previous
            previous = stats
        }
    }

    static let secondDifferences = AnalysisPass(name: "secondDifferences") { _ in
        PassRun { c in c.secondDifferences = Kernels.secondDifferences(c.frame.luma) }
    }

    /// The luma difference, with the previous frame shifted by the difference of the means (rounded).
    static let lumaPair = AnalysisPass(name: "lumaPair") { _ in
        PassRun { c in
            guard let previous = c.previous, let stats = c.stats, let previousStats = c.previousStats else { return }
            let offset = Int((previousStats.mean - stats.mean).rounded())
            c.lumaPair = Kernels.pairDifference(previous.luma, c.frame.luma, offset: offset)
        }
    }

    /// Each pair's centred MAD and whether it repeats, per frame; the cuts (``CutDetector``) when the clip ends.
    static let cuts = AnalysisPass(name: "cuts") { setup in
        let freeze = setup.settings.freeze, options = setup.settings.cuts
        var scores: [Double?] = [], repeats: [Bool] = []
        return PassRun(frame: { c in
            scores.append(c.lumaPair?.centredMAD)
            repeats.append(c.lumaPair.map { Freeze.isRepeat($0, freeze) } ?? false)
        }, clipEnd: { clip in
            clip.cuts = Set(CutDetector.cuts(in: scores, repeats: repeats, options))
            clip.repeats = repeats
        })
    }

    /// Rows per band of the colour sums: both kernels run on one band before
    /// the next, so the band is read from cache by the second (32 rows of
    /// 1080p RGB0 are 240 KiB).
    static let colourBand = 32

    /// The RGB pair SAD and the opponent sums (whichever are selected): from the YUV planes in one pass when
    /// both frames came that way (``Kernels/yuvColour(previous:current:opponent:)``), else band by band over
    /// packed RGB, making the RGB of a frame that came as YUV (a format change mid-clip).
    static let colourSums = AnalysisPass(name: "colourSums") { setup in
        let wantsSAD = setup.selected.contains(.rgbPair), wantsOpponent = setup.selected.contains(.opponentSums)
        return PassRun { c in
            let frame = c.frame, yuv = Kernels.YUVFrame(frame)
            guard frame.rgb != nil || yuv != nil else { return }
            let previous = c.previous
            let before: Frame? = wantsSAD && (previous?.rgb != nil || previous?.rgbFromYUV != nil) ? previous : nil
            if let yuv, before == nil || before!.rgb == nil {
                (c.rgbSAD, c.opponent) = Kernels.yuvColour(previous: before.flatMap(Kernels.YUVFrame.init), current: yuv,
                                                           opponent: wantsOpponent)
                return
            }
            // Packed RGB for both (a frame that came as YUV is converted here).
            let channels = frame.rgb?.channels ?? before!.rgb!.channels
            func withRGB<R>(_ f: Frame, _ body: (Plane) -> R) -> R {
                if let rgb = f.rgb { return body(rgb) }
                return Kernels.YUVFrame(f)!.rgb(channels: channels).withPlane(body)
            }
            (c.rgbSAD, c.opponent) = withRGB(frame) { rgb in
                guard let before else { return packedColourSums(rgb, before: nil, opponent: wantsOpponent) }
                return withRGB(before) { packedColourSums(rgb, before: $0, opponent: wantsOpponent) }
            }
        }
    }

    /// Both kernels on one band of rows before the next.
    static func packedColourSums(_ rgb: Plane, before: Plane?, opponent wantsOpponent: Bool) -> (sad: Int64?, opponent: Kernels.OpponentSums?) {
        var sad: Int64? = before == nil ? nil : 0
        var opponent: Kernels.OpponentSums? = wantsOpponent
            ? Kernels.OpponentSums(count: 0, rg: 0, rgSquares: 0, yb2: 0, yb2Squares: 0) : nil
        guard sad != nil || opponent != nil else { return (nil, nil) }
        var y = 0
        while y < rgb.height {
            let rows = y..<min(rgb.height, y + AnalysisPass.colourBand)
            let band = rgb.rows(rows)
            if let before { sad! += Kernels.sumAbsoluteDifference(before.rows(rows), band) }
            if opponent != nil { opponent!.add(Kernels.opponentSums(band)) }
            y = rows.upperBound
        }
        return (sad, opponent)
    }

    /// The forward flow, and the backward and two-apart flows when selected (``MotionState``).
    static let flows = AnalysisPass(name: "flows") { setup in
        let o = setup.settings.flow
        let motion = MotionState(needs: setup.selected, dis: DISFlow(stride: o.stride, iterations: o.iterations),
                                 plan: MotionPlan(warmBackward: o.warmBackward, skipSide: o.skipSide), threads: setup.flowThreads)
        return PassRun { c in c.motion = motion.consume(c.frame) }
    }

    static let referenceImages = AnalysisPass(name: "referenceImages") { _ in
        PassRun { c in
            guard let reference = c.reference else { return }
            c.referenceImages = (FloatImage(c.frame.luma), FloatImage(reference.luma))
        }
    }
}

/// Depth-first topological order.
enum DependencyOrder {
    /// `roots` and everything they depend on, each once and after its
    /// dependencies, otherwise in the order of `roots`; nil on a cycle.
    static func sorted<Node: Hashable>(_ roots: [Node], dependencies: (Node) -> [Node]) -> [Node]? {
        var done: Set<Node> = [], visiting: Set<Node> = [], order: [Node] = []
        func visit(_ node: Node) -> Bool {
            if done.contains(node) { return true }
            guard visiting.insert(node).inserted else { return false }
            for d in dependencies(node) where !visit(d) { return false }
            visiting.remove(node)
            done.insert(node)
            order.append(node)
            return true
        }
        for root in roots where !visit(root) { return nil }
        return order
    }
}
