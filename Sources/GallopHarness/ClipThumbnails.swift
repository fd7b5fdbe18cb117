import Foundation
import GallopReport
import GallopResults
import GallopVideo

/// `report.html`'s thumbnails, decoded again from the clips: each clip opened
/// once by ``FrameGrabber`` under the folder it was scored from (`OUT/source.json`,
/// or `--clips DIR` when the clips have moved), its frames found by time (in
/// ascending order, whatever the order asked: one forward decode) and encoded as
/// JPEG. A clip that is gone or unreadable is a named problem, never a failure
/// of the report; a file whose content key differs from its row's is shown with
/// a caution.
public struct ClipThumbnails: ThumbnailSource {
    public let clipsFolder: String?
    /// Why there is no folder, when there is none.
    public let noFolder: String
    public let format: FrameGrabber.ImageFormat

    public init(folder: String?, noFolder: String = "the results do not record where the clips were scored from; give --clips DIR",
                format: FrameGrabber.ImageFormat = .jpeg) {
        clipsFolder = folder
        self.noFolder = noFolder
        self.format = format
    }

    public func thumbnails(of clip: ClipResult, at times: [Double], maxWidth: Int) -> ThumbnailResult {
        guard let folder = clipsFolder else { return .unavailable(times.count, "\(clip.path): no frames: \(noFolder)") }
        let path = folder + "/" + clip.path
        guard FileManager.default.fileExists(atPath: path) else {
            return .unavailable(times.count, "\(clip.path): the clip is gone (no file \(path))")
        }
        // Checked without opening it: the open of a FIFO named like a clip would block the report.
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            return .unavailable(times.count, "\(clip.path): \(path) is not a regular file")
        }
        let grabber: FrameGrabber
        do { grabber = try FrameGrabber(path: path, maxWidth: maxWidth, format: format) } catch {
            return .unavailable(times.count, error.description)
        }
        var images: [Thumbnail?] = Array(repeating: nil, count: times.count)
        var problems: [String] = []
        for i in times.indices.sorted(by: { times[$0] < times[$1] }) {
            do {
                let image = try grabber.image(at: times[i])
                images[i] = Thumbnail(mimeType: image.format.mimeType, bytes: image.bytes, width: image.width, height: image.height, time: image.time)
            } catch {
                problems.append(error.description)
            }
        }
        if !clip.contentKey.isEmpty, ContentKey.of(path) != clip.contentKey {
            problems.insert("\(path): the file changed since it was scored, so these frames may not be the ones scored", at: 0)
        }
        return ThumbnailResult(images: images, problem: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }
}
