import Foundation
import GallopCore
#if canImport(Glibc)
import Glibc
#endif

/// The frames of one clip that `gallop score` kept while it decoded the clip, for the thumbnails of
/// `report.html`'s worst moments: one line of `OUT/thumbnails.jsonl`, written whole by the parent
/// process right after the clip's row, so `gallop report` needs the clips only for frames missing here.
///
/// A line: `path`, `content_key` and `fingerprint` (the row's: a changed clip or another config
/// never shows these frames), `images` (each `frame` (scored index), `time` (s, as the row's
/// `frame_times`), `mime`, `width`, `height` and `data`, the encoded image in base64) and
/// `missing` (times of this clip's moment frames the scorer did not keep). Of two lines for one
/// path the later is the one read.
public struct KeptFrames: Sendable, Equatable {
    public struct Image: Sendable, Equatable {
        public var frame: Int
        public var time: Double
        public var mimeType: String
        public var width: Int
        public var height: Int
        public var bytes: [UInt8]
        public init(frame: Int, time: Double, mimeType: String, width: Int, height: Int, bytes: [UInt8]) {
            self.frame = frame
            self.time = time
            self.mimeType = mimeType
            self.width = width
            self.height = height
            self.bytes = bytes
        }
    }

    public var path: String
    public var contentKey: String
    public var fingerprint: String
    public var images: [Image]
    /// Times of the clip's moment frames that were not kept.
    public var missing: [Double]

    /// The side file's name in an output folder.
    public static let fileName = "thumbnails.jsonl"

    public init(path: String, contentKey: String, fingerprint: String, images: [Image], missing: [Double]) {
        self.path = path
        self.contentKey = contentKey
        self.fingerprint = fingerprint
        self.images = images
        self.missing = missing
    }

    public var json: JSONValue {
        .object([
            ("path", .string(path)),
            ("content_key", .string(contentKey)),
            ("fingerprint", .string(fingerprint)),
            ("images", .array(images.map { image in
                .object([("frame", .int(image.frame)), ("time", .number(rounded(image.time, 6))), ("mime", .string(image.mimeType)),
                         ("width", .int(image.width)), ("height", .int(image.height)),
                         ("data", .string(Data(image.bytes).base64EncodedString()))])
            })),
            ("missing", .numbers(missing.map { rounded($0, 6) })),
        ])
    }

    public init(json: JSONValue) throws(ResultsError) {
        guard let path = json["path"]?.stringValue, let key = json["content_key"]?.stringValue,
              let fingerprint = json["fingerprint"]?.stringValue else { throw ResultsError("not a line of kept frames (no path, content_key or fingerprint)") }
        var images: [Image] = []
        for item in json["images"]?.arrayValue ?? [] {
            guard let frame = item["frame"]?.intValue, let time = item["time"]?.doubleValue, let mime = item["mime"]?.stringValue,
                  let width = item["width"]?.intValue, let height = item["height"]?.intValue,
                  let text = item["data"]?.stringValue, let data = Data(base64Encoded: text) else {
                throw ResultsError("\(path): a kept image lacks frame, time, mime, width, height or base64 data")
            }
            images.append(Image(frame: frame, time: time, mimeType: mime, width: width, height: height, bytes: Array(data)))
        }
        self.init(path: path, contentKey: key, fingerprint: fingerprint, images: images,
                  missing: json["missing"]?.arrayValue?.compactMap(\.doubleValue) ?? [])
    }

    /// Whether these frames belong to `row`: the same path, content key (non-empty) and config fingerprint.
    public func belongs(to row: ClipResult) -> Bool {
        path == row.path && !contentKey.isEmpty && contentKey == row.contentKey && fingerprint == row.fingerprint
    }
}

/// Reading `thumbnails.jsonl` without loading every image: each line's `path`, `content_key` and
/// `fingerprint` are read with its `images` skipped by the parser (no base64 decoded, nothing
/// allocated for them), and only the lines asked for are parsed whole. The file is mapped, not read.
public enum KeptFramesFile {
    /// One line's identity and where it lies in the file.
    struct Entry {
        var path: String
        var contentKey: String
        var fingerprint: String
        var range: Range<Int>
    }

    /// The whole lines (without newline) that `keep` accepts, by identity (path, content key, fingerprint),
    /// the last line of a path only: what resume and merge carry. A missing or unreadable file has none.
    public static func lines(in file: String, keep: (_ path: String, _ contentKey: String, _ fingerprint: String) -> Bool) -> [(path: String, line: String)] {
        guard let data = mapped(file) else { return [] }
        return data.withUnsafeBytes { raw -> [(String, String)] in
            let bytes = raw.bindMemory(to: UInt8.self)
            return lastEntries(bytes).filter { keep($0.path, $0.contentKey, $0.fingerprint) }
                .map { ($0.path, String(decoding: UnsafeBufferPointer(rebasing: bytes[$0.range]), as: UTF8.self)) }
        }
    }

    /// The file's lines by path (the last of each), their images not yet read: ``frames(for:)`` parses one
    /// clip's line when it is asked for. Nil when there is no file.
    public final class Index: @unchecked Sendable {
        private let data: Data
        private let entries: [String: Entry]
        /// Lines in the file (the last of each path).
        public var count: Int { entries.count }

        public init?(_ file: String) {
            guard let data = KeptFramesFile.mapped(file) else { return nil }
            self.data = data
            entries = data.withUnsafeBytes { raw in
                Dictionary(KeptFramesFile.lastEntries(raw.bindMemory(to: UInt8.self)).map { ($0.path, $0) }, uniquingKeysWith: { _, last in last })
            }
        }

        /// The kept frames of `row`, when the file holds a line that belongs to it (same path, content key and
        /// fingerprint) and that line can be read; nil otherwise (its frames then come from the clip).
        public func frames(for row: ClipResult) -> KeptFrames? {
            guard let entry = entries[row.path], entry.contentKey == row.contentKey, entry.fingerprint == row.fingerprint else { return nil }
            return data.withUnsafeBytes { raw -> KeptFrames? in
                let bytes = raw.bindMemory(to: UInt8.self)
                guard let json = try? JSONParser.parse(bytes: bytes[entry.range]), let kept = try? KeptFrames(json: json),
                      kept.belongs(to: row) else { return nil }
                return kept
            }
        }
    }

    /// Every line's identity, the last line of each path only, in file order.
    static func lastEntries(_ bytes: UnsafeBufferPointer<UInt8>) -> [Entry] {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            defer { start = end + 1 }
            guard let head = try? JSONParser.parse(bytes: bytes[start..<end], skippingKeys: ["images"]),
                  let path = head["path"]?.stringValue, let key = head["content_key"]?.stringValue,
                  let fingerprint = head["fingerprint"]?.stringValue else { continue }
            if entries[path] == nil { order.append(path) }
            entries[path] = Entry(path: path, contentKey: key, fingerprint: fingerprint, range: start..<end)
        }
        return order.map { entries[$0]! }
    }

    /// The file's bytes, mapped; nil when it is missing or not a regular file.
    static func mapped(_ file: String) -> Data? {
        var info = stat()
        guard stat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return try? Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped)
    }
}
