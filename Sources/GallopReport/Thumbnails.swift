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

/// Decodes frames of scored clips again for the report. GallopReport links no
/// FFmpeg: the implementation (GallopHarness's `ClipThumbnails`) is passed in
/// by the command line, and tests pass a fake.
public protocol ThumbnailSource: Sendable {
    /// The folder clips are read from, for the report's text (nil when unknown).
    var clipsFolder: String? { get }
    /// The frames of `clip` at `times` (s from its first frame, as in `frame_times`),
    /// each at most `maxWidth` pixels wide. Never throws: a clip that is gone is a `problem`.
    func thumbnails(of clip: ClipResult, at times: [Double], maxWidth: Int) -> ThumbnailResult
}
