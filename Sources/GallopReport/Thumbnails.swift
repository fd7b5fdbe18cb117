import Foundation
import GallopResults

/// A frame image for `report.html`, already encoded (JPEG or PNG).
public struct Thumbnail: Sendable, Equatable {
    /// `image/jpeg` or `image/png`.
    public var mimeType: String
    public var bytes: [UInt8]
    public var width: Int
    public var height: Int
    /// The decoded frame's time (s from the clip's first frame).
    public var time: Double

    public init(mimeType: String, bytes: [UInt8], width: Int, height: Int, time: Double) {
        self.mimeType = mimeType
        self.bytes = bytes
        self.width = width
        self.height = height
        self.time = time
    }
}

/// The frames asked of one clip.
public struct ThumbnailResult: Sendable {
    /// One per asked time; nil where that frame could not be had.
    public var images: [Thumbnail?]
    /// Why some or all frames are missing (the clip is gone, unreadable), or a caution
    /// (the file changed since it was scored): one sentence naming the clip. Nil when all is well.
    public var problem: String?

    public init(images: [Thumbnail?], problem: String? = nil) {
        self.images = images
        self.problem = problem
    }

    /// No frame at all, and why.
    public static func unavailable(_ count: Int, _ problem: String) -> ThumbnailResult {
        ThumbnailResult(images: Array(repeating: nil, count: count), problem: problem)
    }
}

/// Gives the report frames of scored clips (decoded again, or kept while scoring). GallopReport links no
/// FFmpeg: the implementation (GallopHarness's `ClipThumbnails`) is passed in
/// by the command line, and tests pass a fake.
public protocol ThumbnailSource: Sendable {
    /// The folder clips are read from, for the report's text (nil when unknown).
    var clipsFolder: String? { get }
    /// The frames of `clip` at `times` (s from its first frame, as in `frame_times`),
    /// each at most `maxWidth` pixels wide. Never throws: a clip that is gone is a `problem`.
    func thumbnails(of clip: ClipResult, at times: [Double], maxWidth: Int) -> ThumbnailResult
    /// What report.html says of where its frames came from, once they have been asked for (nil: that they
    /// were decoded again from the clips, under ``clipsFolder`` when known).
    var provenance: String? { get }
}

extension ThumbnailSource {
    public var provenance: String? { nil }
}

/// `report.html`'s thumbnails from the frames `gallop score` kept while it scored (`OUT/thumbnails.jsonl`,
/// ``KeptFrames``), and from `fallback` (the clips decoded again, GallopHarness's `ClipThumbnails`) only for
/// the frames the file lacks: a clip it has no line for, a line of another content or config, frames the
/// scorer did not keep, or no file at all. The file is indexed once, on the first clip asked (each line's
/// path, content key and fingerprint; no image read), and only the lines of the clips shown are parsed.
/// A kept frame is the scored frame itself, so it is shown without the fallback's caution about a clip
/// changed since: the line belongs to the row by its content key.
public final class StoredThumbnails: ThumbnailSource, @unchecked Sendable {
    public let file: String
    public let fallback: (any ThumbnailSource)?
    public var clipsFolder: String? { fallback?.clipsFolder }
    private let lock = NSLock()
    private var index: KeptFramesFile.Index??
    private var kept = 0
    private var decoded = 0

    public init(file: String, fallback: (any ThumbnailSource)?) {
        self.file = file
        self.fallback = fallback
    }

    /// Frames taken from the file, and frames asked of the fallback, so far.
    public var counts: (kept: Int, decodedAgain: Int) { lock.withLock { (kept, decoded) } }

    public func thumbnails(of clip: ClipResult, at times: [Double], maxWidth: Int) -> ThumbnailResult {
        let index = lock.withLock { () -> KeptFramesFile.Index? in
            if self.index == nil { self.index = .some(KeptFramesFile.Index(file)) }
            return self.index!
        }
        let stored = index?.frames(for: clip)
        var images: [Thumbnail?] = times.map { time in
            stored?.images.first { abs($0.time - time) <= 1e-4 && max($0.width, $0.height) <= maxWidth }.map {
                Thumbnail(mimeType: $0.mimeType, bytes: $0.bytes, width: $0.width, height: $0.height, time: $0.time)
            }
        }
        let lacking = images.indices.filter { images[$0] == nil }
        lock.withLock {
            kept += times.count - lacking.count
            decoded += lacking.count
        }
        guard !lacking.isEmpty else { return ThumbnailResult(images: images) }
        guard let fallback else {
            return ThumbnailResult(images: images, problem: "\(clip.path): \(lacking.count) frame\(lacking.count == 1 ? "" : "s") not kept while scoring, and no clip folder to decode them from")
        }
        let got = fallback.thumbnails(of: clip, at: lacking.map { times[$0] }, maxWidth: maxWidth)
        for (i, image) in zip(lacking, got.images) { images[i] = image }
        return ThumbnailResult(images: images, problem: got.problem)
    }

    /// Nil (the second decode's own sentence) when no frame came from the file.
    public var provenance: String? {
        let (k, d) = counts
        guard k > 0 else { return nil }
        var text = "were kept while scoring (<code>\(KeptFrames.fileName)</code>): \(k) frame\(k == 1 ? "" : "s") from there, "
        text += d == 0 ? "none decoded again from the clips" : "\(d) decoded again from the clips"
        if d > 0, let folder = clipsFolder { text += " under <code>\(HTMLReport.esc(folder))</code>" }
        return text
    }
}
