import Dispatch
import GallopConfig
import GallopCore
import GallopMetrics
import GallopReport
import GallopResults
import GallopVideo

/// Scores one clip: one decode, every selected metric fed from it (and, with
/// `--reference`, the reference clip decoded alongside, frame by frame).
public struct Scorer: Sendable {
    public let config: RunConfig
    /// The rows' `config` object (computed once).
    private let configJSON: JSONValue
    public let types: [any Metric.Type]
    /// Threads per clip: the decoder's, and how many of a frame's optical
    /// flows run at once (0: FFmpeg's choice for the decoder; the flows get
    /// what the runner's other jobs leave free).
    public let threads: Int
    /// Reference clips by relative path, and by "prompt|seed".
    private let referencesByPath: Set<String>
    private let referencesByName: [String: String]
    /// Entries of the reference folder named like clips that cannot be read (a FIFO, a dangling link), by
    /// relative path, with the cause: a clip whose own reference is one is an error row, never paired by name.
    private let unusableReferences: [String: String]

    /// A clip must decode at least this share of its declared duration, or it is flagged.
    public static let minimumDecodedShare = 0.9
    /// Below this side (px) the block- and patch-based metrics mean nothing.
    public static let minimumSide = 16
    /// With `strict`, a clip that decodes less than ``minimumDecodedShare`` of its declared duration is an error row.
    public let strict: Bool
    /// The audio metrics named explicitly (`--metrics loudness_lufs`, or a config file's `metrics:` list): a clip
    /// without sound says they are null in a warning. The default set (`all`) asks for no sound, so a silent clip
    /// scored with it has `audio: false` and no warning. Set by the command from the names it was given; starts
    /// as the run's metrics that measure sound (a ``RunConfig`` lists the metrics it was asked for).
    public var namedAudio: [String]

    /// Safe limits: a clip beyond them is an error row that names the limit, before any frame is decoded
    /// (frame size) or when it is reached (frames), rather than a decoder failing far from the cause.
    public struct Limits: Sendable {
        /// Pixels per frame (default 8192 × 8192).
        public var pixels = 8192 * 8192
        /// Frames decoded per clip (default a million: 11.6 hours at 24 fps).
        public var frames = 1_000_000
        public init() {}
    }
    public let limits: Limits
    /// Whether each ok row carries the thumbnails of its moments kept while scoring (``FrameKeeper``, `keptFrames`).
    public var keepsThumbnails = true
    /// The prompt suite's texts by prompt id (`--prompts`), for `clip_score`; nil without a suite.
    public var promptTexts: [String: String]?
    /// For resuming (``ResumePlan/make``): when clip_score is scored, the hash of a clip's prompt text now; nil
    /// when it is not (its rows then depend on no text).
    public var promptHash: ((ClipName) -> String?)? {
        guard types.contains(where: { $0 == CLIPScore.self }) else { return nil }
        let texts = promptTexts
        return { CLIPScore.promptHash(texts?[$0.prompt]) }
    }
    /// The candidate pools' sizes (tests set ``FrameKeeper/Capacity/none`` to make every frame a miss).
    var keeperCapacity = FrameKeeper.Capacity()

    public init(config: RunConfig, threads: Int = 0, strict: Bool = false, limits: Limits = Limits()) throws {
        self.strict = strict
        self.limits = limits
        self.types = try MetricRegistry.select(config.metrics, reference: config.reference != nil, models: Set(config.models.keys))
        namedAudio = types.filter { MetricRegistry.measuresSound($0.info) && config.metrics.contains($0.info.name) }.map { $0.info.name }
        var config = config
        config.metrics = types.map { $0.info.name }
        self.config = config
        self.configJSON = config.json
        self.threads = threads
        var byPath = Set<String>(), byName: [String: String] = [:], unusable: [String: String] = [:]
        if let root = config.reference {
            let scan = try Discovery.scan(root)
            for entry in scan.unreadable { unusable[entry.relativePath] = entry.cause }
            for rel in scan.clips {
                byPath.insert(rel)
                // A reference folder may or may not have model folders: index both readings.
                for name in [ClipName.parse(relativePath: rel), ClipName.parse(relativePath: rel, model: "")] {
                    let key = Scorer.key(name)
                    if byName[key] == nil { byName[key] = rel }
                }
            }
        }
        referencesByPath = byPath
        referencesByName = byName
        unusableReferences = unusable
    }

    static func key(_ name: ClipName) -> String { "\(name.prompt)|\(name.seed.map(String.init) ?? "")" }

    /// The reference for a clip: the same relative path under the reference
    /// folder, else the same prompt id and seed.
    public func referencePath(for relativePath: String, name: ClipName) -> String? {
        guard let root = config.reference else { return nil }
        if referencesByPath.contains(relativePath) { return root + "/" + relativePath }
        return referencesByName[Scorer.key(name)].map { root + "/" + $0 }
    }

    /// Never throws: a clip that cannot be read is an `error` row naming the cause.
    /// `spareCores`: cores this clip may use for its flows when `threads` is 0.
    /// `onFrame` is called after each frame is scored (a worker's sign of life).
    public func score(path: String, relativePath: String, name: ClipName, spareCores: Int = 1,
                      onFrame: (() -> Void)? = nil) -> ClipResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var result = scoreUntimed(path: path, relativePath: relativePath, name: name, spareCores: spareCores, onFrame: onFrame)
        result.contentKey = ContentKey.of(path)
        // Frames are keyed by the content scored: a file with no key keeps none.
        result.keptFrames?.contentKey = result.contentKey
        if result.contentKey.isEmpty { result.keptFrames = nil }
        result.wallSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    /// The error row of a clip that could not be scored at all (its worker died twice).
    public func failedRow(path: String, relativePath: String, name: ClipName, error: String) -> ClipResult {
        var result = unscorableRow(relativePath: relativePath, name: name, error: error)
        result.contentKey = ContentKey.of(path)
        return result
    }

    /// The error row of an entry discovery found cannot be scored (``Discovery/Unscorable``): nothing is
    /// opened, and with no content key the row is made again by the next run rather than kept.
    public func unscorableRow(_ entry: Discovery.Unscorable) -> ClipResult {
        unscorableRow(relativePath: entry.clip.relativePath, name: entry.clip.name, error: entry.error)
    }

    private func unscorableRow(relativePath: String, name: ClipName, error: String) -> ClipResult {
        var result = ClipResult(path: relativePath, name: name, status: .error, error: error)
        result.config = configJSON
        result.fingerprint = configJSON["fingerprint"]?.stringValue ?? ""
        return result
    }

    private func scoreUntimed(path: String, relativePath: String, name: ClipName, spareCores: Int, onFrame: (() -> Void)?) -> ClipResult {
        var result = ClipResult(path: relativePath, name: name, status: .ok)
        result.config = configJSON
        result.fingerprint = configJSON["fingerprint"]?.stringValue ?? ""
        func fail(_ message: String, warnings: [String] = []) -> ClipResult {
            result.status = .error
            result.error = message
            result.warnings = warnings
            return result
        }
        var settings = config.options
        settings.models = config.models
        settings.promptID = name.prompt
        settings.promptText = promptTexts?[name.prompt]
        let engine = MetricEngine(types: types, settings: settings, flowThreads: threads > 0 ? threads : spareCores)
        let options = ReadOptions(maxSide: config.maxSide, every: config.every, maxFrames: config.maxFrames,
                                  rgb: engine.needsRGB, threads: threads,
                                  motionSide: engine.needsMotion ? config.motionSide : nil, chroma: engine.needsChroma,
                                  audio: engine.needsAudio ? AudioRequest(truePeak: engine.needsTruePeak) : nil)
        var reader: VideoReader
        do {
            reader = try VideoReader(path: path, options: options)
        } catch {
            return fail(error.description)
        }
        let info = reader.info
        if info.width * info.height > limits.pixels {
            return fail("\(path): frames of \(info.width)x\(info.height) are over the limit of \(limits.pixels) pixels a frame")
        }
        // Rounded as the results file keeps them, so the reports `gallop score` writes equal `gallop report`'s.
        result.fps = rounded(info.fps, 6)
        result.width = info.width
        result.height = info.height
        result.rotation = info.rotation

        var reference: ReferenceStream?
        if engine.needsReference {
            if let cause = unusableReferences[relativePath] {
                return fail("\(path): its reference \(config.reference ?? "")/\(relativePath) cannot be read: \(cause)")
            }
            guard let refPath = referencePath(for: relativePath, name: name) else {
                return fail("\(path): no reference clip in \(config.reference ?? "") (looked for \(relativePath), then prompt '\(name.prompt)'"
                    + (name.seed.map { " seed \($0)" } ?? " without a seed") + ")")
            }
            do {
                reference = try ReferenceStream(path: refPath, size: FrameSize(width: info.outputWidth, height: info.outputHeight),
                                                clipSize: FrameSize(width: info.width, height: info.height), chroma: engine.needsChroma,
                                                atItsSize: types.filter { $0.info.analyses.contains(.atReferenceSize) }.map { $0.info.name },
                                                others: types.contains { $0.info.needsReference && !$0.info.analyses.contains(.atReferenceSize) },
                                                threads: threads)
            } catch {
                return fail("reference for \(relativePath): \(error.description)")
            }
            // The clip again, also handing out its luma at the reference's size (no frame has been read yet).
            if let native = reference?.nativeSize {
                var scaled = options
                scaled.scaledLuma = ScaledLuma(size: native, filter: .bicubic)
                do {
                    reader = try VideoReader(path: path, options: scaled)
                } catch {
                    return fail(error.description)
                }
            }
        }

        let moments = Moment.Kind.allCases.map(\.series)
        var keeper: FrameKeeper?
        if keepsThumbnails, moments.contains(where: engine.hasSeries), let encoder = try? reader.thumbnailEncoder(maxWidth: HTMLReport.maxThumbnailWidth) {
            keeper = FrameKeeper(encoder: encoder, capacity: keeperCapacity, hasFreeze: engine.hasSeries(.freeze),
                                 cutFloor: config.options.cuts.floor, frameBytes: info.width * info.height * 3 / (info.bitDepth > 8 ? 1 : 2))
        }
        reader.audioSink = { engine.consumeAudio($0) }
        do {
            while let frame = try reader.next() {
                if engine.frameCount >= limits.frames {
                    return fail("\(path): more than \(limits.frames) frames, the limit a clip", warnings: reader.warnings)
                }
                let ref = try reference?.frame(at: frame.time)
                engine.consume(frame, reference: ref?.frame,
                               atReferenceSize: ref.flatMap { r in r.native.flatMap { n in frame.scaledLuma.map { ($0, n) } } })
                keeper?.observe(engine.frameCount - 1, reader: reader, engine: engine, times: engine.times)
                onFrame?()
            }
        } catch {
            return fail((error as? VideoError)?.description ?? "\(path): \(error)", warnings: reader.warnings)
        }
        result.warnings = reader.warnings + (reference?.warnings ?? [])
        // A clip without sound has its audio metrics null for that reason alone (the row's `audio: false`); an
        // unusable sound track's reason is among the reader's warnings.
        var soundless = Set<String>()
        if engine.needsAudio {
            result.audio = reader.audio.present
            if case .decoded = reader.audio, reader.audioDuration ?? 0 > 0 {} else {
                soundless = Set(types.filter { MetricRegistry.measuresSound($0.info) }.map { $0.info.name })
            }
            if reader.audio == .absent && !namedAudio.isEmpty {
                result.warnings.append("no audio stream: \(namedAudio.joined(separator: ", ")) \(namedAudio.count == 1 ? "is" : "are") null")
            }
        }
        result.frames = engine.frameCount
        result.frameTimes = engine.times.map { rounded($0, 6) }
        if let last = engine.times.last {
            // The last frame shows for its own duration (every N-th frame: N of them).
            result.duration = rounded(last + Double(config.every) * engine.lastDuration, 6)
        }
        // A clip that decoded much less than it declares (truncated, corrupt): a warning, or an error with --strict.
        if config.maxFrames == nil, info.duration > 0, result.duration < Scorer.minimumDecodedShare * info.duration {
            let message = "\(path): only \(String(format: "%.2f", result.duration)) s of the declared \(String(format: "%.2f", info.duration)) s decoded (\(Int(100 * result.duration / info.duration))%)"
            if strict { return fail(message + "; --strict makes this an error", warnings: reader.warnings) }
            result.warnings.append(message)
        }
        // Smaller than a 16×16 block or a flow patch: the spatial metrics measure nothing there, so their values
        // are null (out of the means, the gate and the report's moments) and their series and extras left out.
        var meaningless = Set<String>()
        if min(info.width, info.height) < Scorer.minimumSide {
            let spatial = types.filter { $0.info.spatial }
            if !spatial.isEmpty {
                meaningless = Set(spatial.map { $0.info.name })
                result.warnings.append("the clip is \(info.width)x\(info.height), smaller than \(Scorer.minimumSide) px on a side: \(spatial.map { $0.info.name }.joined(separator: ", ")) mean nothing at this size and are left out (null)")
            }
        }
        if !config.nativeAndComplete {
            let peers = types.filter { $0.info.resolution == .native }.map { $0.info.name }
            if !peers.isEmpty {
                result.warnings.append("\(peers.joined(separator: ", ")) ran on sampled or scaled frames, not every frame at native size: not comparable with the peer's number")
            }
        }
        for (info, output) in engine.finish() {
            if meaningless.contains(info.name) || soundless.contains(info.name) {
                for (key, _) in output.values { result.metrics.append((key, nil)) }
                continue
            }
            for (key, value) in output.values {
                // JSON has no infinity or NaN: a value that is not finite is null, and a warning says why.
                let finite = value.flatMap { $0.isFinite ? $0 : nil }
                result.metrics.append((key, finite))
                if finite == nil && output.warnings.isEmpty { result.warnings.append("\(key) is undefined for this clip") }
            }
            result.warnings += output.warnings
            var extras: [(String, JSONValue)] = output.extras
            extras.append(("series", .array(output.series.map { $0.map { .number(rounded($0, 6)) } ?? .null })))
            result.extras.append((info.name, .object(extras)))
        }
        if let keeper { result.keptFrames = keeper.finish(row: result) }
        return result
    }
}

/// A reference clip read alongside its clip: every frame, scaled to the
/// clip's analysis size when it differs, and matched by presentation time
/// (the nearest reference frame; with equal frame rates that is the frame of
/// the same index). When metrics compare at the reference's size (`atItsSize`
/// names them: VMAF) and its size differs, it is read at its own size and each
/// frame also hands out its luma scaled to the clip's (the same area filter):
/// the scaled luma for the metrics that compare at the clip's size, its own
/// for those, which compare the clip scaled to it (``nativeSize``).
final class ReferenceStream {
    let reader: VideoReader
    /// The reference's own size when it is read at it (`atItsSize` and the sizes differ), else nil.
    let nativeSize: FrameSize?
    private var current: Frame?
    private var upcoming: Frame?
    private var ended = false
    private var missing = 0
    private var notes: [String] = []
    /// What the row says of the reference: its scaling and end, and what its reader met (10-bit input, corrupt packets).
    var warnings: [String] { notes + reader.warnings.map { "the reference: " + $0 } }

    /// `size`: the clip's analysis size (its frames as the metrics see them); `clipSize`: its own; `others`: some
    /// selected reference metric compares at the clip's size.
    init(path: String, size: FrameSize, clipSize: FrameSize, chroma: Bool, atItsSize: [String], others: Bool, threads: Int) throws(VideoError) {
        var reader = try VideoReader(path: path, options: ReadOptions(threads: threads, size: size, chroma: chroma))
        let info = reader.info
        let native = FrameSize(width: info.width, height: info.height)
        // Read at its own size when some metric compares there and the clip's frames are not already that size
        // (another size, or scaled by --max-side).
        if !atItsSize.isEmpty, native != size || clipSize != native {
            reader = try VideoReader(path: path, options: ReadOptions(threads: threads, scaledLuma: ScaledLuma(size: size, filter: .area)))
            nativeSize = native
            if clipSize != native {
                notes.append("the reference is \(native); \(atItsSize.joined(separator: ", ")) compared the clip scaled to it (bicubic, as FFmpeg's scale filter)"
                                + (native != size && others ? ", the other reference metrics the reference scaled to the clip's \(size) (area filter, luma only: no chroma PSNR)" : ""))
            } else if native != size && others {
                notes.append("the reference was scaled to the clip's analysis size \(size) (area filter, luma only: no chroma PSNR) for the metrics that compare there; "
                                + "\(atItsSize.joined(separator: ", ")) compared both at their own size")
            }
        } else {
            nativeSize = nil
            if native != size {
                notes.append("the reference is \(native); it was scaled to the clip's \(size) (area filter, luma only: no chroma PSNR)")
            }
        }
        self.reader = reader
    }

    /// The reference frame for a clip frame at `time` as the metrics at the clip's size see it, and its own luma
    /// when it is read at its own size; nil once the reference has ended. Valid until the next call.
    func frame(at time: Double) throws -> (frame: Frame, native: Plane?)? {
        guard let f = try nearest(at: time) else { return nil }
        guard nativeSize != nil, let scaled = f.scaledLuma else { return (f, nil) }
        return (Frame(index: f.index, sourceIndex: f.sourceIndex, time: f.time, duration: f.duration, luma: scaled, range: f.range), f.luma)
    }

    /// The nearest reference frame to `time` as read, or nil once the reference has ended.
    private func nearest(at time: Double) throws -> Frame? {
        if current == nil, !ended {
            current = try reader.next()
            if current == nil { ended = true }
        }
        while let cur = current {
            if upcoming == nil, !ended {
                upcoming = try reader.next()
                if upcoming == nil { ended = true }
            }
            guard let next = upcoming, abs(next.time - time) <= abs(cur.time - time) else { break }
            current = next
            upcoming = nil
        }
        guard let cur = current else {
            noteMissing()
            return nil
        }
        // Past the reference's last frame by more than half its duration (nearer the frame that would follow
        // it): nothing to compare with. A clip frame one frame past the end would otherwise meet the last
        // reference frame, a pair that shows nothing of the clip's quality.
        if ended && upcoming == nil && time > cur.time + max(cur.duration, 1e-3) * 0.5 {
            noteMissing()
            return nil
        }
        return cur
    }

    private func noteMissing() {
        missing += 1
        if missing == 1 { notes.append("the reference ends before the clip: the clip's last frames have no reference and were not compared") }
    }
}
