import Foundation
import GallopCore

/// `gallop-embed preprocess`: VBench's frame preprocessing (``Preprocessor``) on raw frames, so
/// `scripts/gallopcheck/learned.py` can compare it with torchvision's on real decoded frames.
///
/// ```
/// gallop-embed preprocess dino|clip IN.rgb OUT.f32 --frames N H W [--size S]
/// ```
/// IN: N frames of packed RGB24 (H rows of W pixels, 3 bytes each, no padding, no header). OUT: for each frame
/// the normalised 3 × h × w floats (little-endian, channels first), h × w as the transform makes them (for
/// `dino` the short side resized to S, for `clip` S × S; S is 224 unless given). The run returns the line
/// `gallop-embed` prints on stderr, naming the output size. Every problem is a thrown `EmbedCommand.EmbedError`:
/// one sentence naming the file or the argument and the cause.
public struct PreprocessCommand: Sendable {
    public var kind: Preprocessor.Kind
    public var input: String
    public var output: String
    public var count: Int
    public var height: Int
    public var width: Int
    public var size = 224

    public static let usage = "       gallop-embed preprocess dino|clip IN.rgb OUT.f32 --frames N H W [--size S]"

    typealias Failure = EmbedCommand.EmbedError

    /// Parses the arguments after `preprocess`.
    public static func parse(_ arguments: [String]) throws -> PreprocessCommand {
        var positional: [String] = [], frames: [Int]?, size: Int?
        var i = 0
        func integers(_ name: String, _ n: Int) throws -> [Int] {
            guard i + n < arguments.count else { throw Failure("\(name) needs \(n) number\(n == 1 ? "" : "s")") }
            let values = try arguments[(i + 1)...(i + n)].map { text -> Int in
                guard let v = Int(text), v > 0 else { throw Failure("\(name) takes positive integers; got '\(text)'") }
                return v
            }
            i += n + 1
            return values
        }
        while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "--frames":
                guard frames == nil else { throw Failure("--frames given twice") }
                frames = try integers(a, 3)
            case "--size":
                guard size == nil else { throw Failure("--size given twice") }
                size = try integers(a, 1)[0]
            default:
                if a.hasPrefix("--") { throw Failure("unknown option '\(a)'") }
                positional.append(a)
                i += 1
            }
        }
        guard let first = positional.first else { throw Failure("preprocess needs a transform (dino or clip)") }
        guard let kind = Preprocessor.Kind(rawValue: first) else {
            throw Failure("unknown transform '\(first)' (expected dino or clip)")
        }
        guard positional.count == 3 else {
            throw Failure("preprocess takes dino|clip IN OUT; got \(positional.count - 1) path\(positional.count == 2 ? "" : "s")")
        }
        guard let frames else { throw Failure("preprocess needs --frames N H W") }
        var command = PreprocessCommand(kind: kind, input: positional[1], output: positional[2],
                                        count: frames[0], height: frames[1], width: frames[2])
        if let size { command.size = size }
        return command
    }

    /// Reads the frames, preprocesses each and writes the floats. Returns the line to print on stderr.
    @discardableResult
    public func run() throws -> String {
        let frameBytes = 3 * height * width
        guard let data = FileManager.default.contents(atPath: input) else { throw Failure("\(input): cannot read the input file") }
        guard data.count == count * frameBytes else {
            throw Failure("\(input): \(data.count) bytes; \(count) frames of \(width) × \(height) RGB24 need \(count * frameBytes)")
        }
        let preprocessor = Preprocessor(kind, size: size, height: height, width: width)
        var out = [Float](repeating: 0, count: count * preprocessor.count)
        data.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { dst in
                let bytes = raw.bindMemory(to: UInt8.self).baseAddress!
                for f in 0..<count {
                    let plane = Plane(base: bytes + f * frameBytes, width: width, height: height, stride: 3 * width, channels: 3)
                    preprocessor.write(rgb: plane, into: UnsafeMutableBufferPointer(rebasing: dst[(f * preprocessor.count)..<((f + 1) * preprocessor.count)]))
                }
            }
        }
        let bytes = out.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: output, contents: bytes) else {
            throw Failure("\(output): cannot write the output file")
        }
        return "preprocess \(kind.rawValue): \(count) frame\(count == 1 ? "" : "s") of \(width) × \(height) → 3 × \(preprocessor.outputHeight) × \(preprocessor.outputWidth) floats each (size \(size))"
    }
}
