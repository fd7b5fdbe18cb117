import Foundation

/// The `gallop-embed` developer tool's work (its `main.swift` only calls `parse` and `run`): encode raw
/// little-endian arrays with a model resolved as the metrics resolve it, so `scripts/gallopcheck/learned.py`
/// can compare the Swift encoders with the reference code on full-size weights.
///
/// ```
/// gallop-embed dino        MODEL IN.f32 OUT.f32 --images N H W   # IN: N·3·H·W normalised floats (CHW per image)
/// gallop-embed clip-image  MODEL IN.f32 OUT.f32 --images N H W   # OUT: N·D floats
/// gallop-embed clip-text   MODEL IN.i32 OUT.f32 --texts N        # IN: N·77 token ids (int32)
/// gallop-embed aesthetic   MODEL IN.f32 OUT.f32 --features N D   # OUT: N floats (w·x + b)
/// ```
/// Options: `--batch B` images per forward pass (default 8), `--threads T` BLAS threads (default 1).
/// Outputs are not L2-normalised. Every problem is an `EmbedError`: one sentence naming the file (or the
/// argument) and the cause.
public struct EmbedCommand: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case dino
        case clipImage = "clip-image"
        case clipText = "clip-text"
        case aesthetic
    }

    public var mode: Mode
    public var model: String
    public var input: String
    public var output: String
    /// N and the per-item shape: (H, W) for images, nothing for texts, (D) for features.
    public var count: Int
    public var shape: [Int]
    public var batch = 8
    public var threads = 1

    public static let usage = """
        usage: gallop-embed dino|clip-image MODEL IN.f32 OUT.f32 --images N H W [--batch B] [--threads T]
               gallop-embed clip-text MODEL IN.i32 OUT.f32 --texts N
               gallop-embed aesthetic MODEL IN.f32 OUT.f32 --features N D
        """

    public struct EmbedError: Error, CustomStringConvertible {
        public let description: String
        init(_ text: String) { description = text }
    }

    /// Parses the arguments after the program name.
    public static func parse(_ arguments: [String]) throws -> EmbedCommand {
        guard let first = arguments.first else { throw EmbedError("no command given (dino, clip-image, clip-text or aesthetic)") }
        guard let mode = Mode(rawValue: first) else {
            throw EmbedError("unknown command '\(first)' (expected dino, clip-image, clip-text or aesthetic)")
        }
        var positional: [String] = [], counts: [Int] = [], option: String?
        var batch = 8, threads = 1
        var i = 1
        func integers(_ name: String, _ n: Int) throws -> [Int] {
            guard i + n < arguments.count else {
                throw EmbedError("\(name) needs \(n) number\(n == 1 ? "" : "s")")
            }
            let values = try arguments[(i + 1)...(i + n)].map { text -> Int in
                guard let v = Int(text), v > 0 else { throw EmbedError("\(name) takes positive integers; got '\(text)'") }
                return v
            }
            i += n + 1
            return values
        }
        while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "--images", "--texts", "--features":
                let expected = [Mode.dino: "--images", .clipImage: "--images", .clipText: "--texts", .aesthetic: "--features"][mode]!
                guard a == expected else { throw EmbedError("\(mode.rawValue) takes \(expected), not \(a)") }
                guard option == nil else { throw EmbedError("\(a) given twice") }
                option = a
                counts = try integers(a, a == "--images" ? 3 : a == "--texts" ? 1 : 2)
            case "--batch": batch = try integers(a, 1)[0]
            case "--threads": threads = try integers(a, 1)[0]
            default:
                if a.hasPrefix("--") { throw EmbedError("unknown option '\(a)'") }
                positional.append(a)
                i += 1
            }
        }
        guard positional.count == 3 else {
            throw EmbedError("\(mode.rawValue) takes MODEL IN OUT; got \(positional.count) path\(positional.count == 1 ? "" : "s")")
        }
        guard option != nil else {
            throw EmbedError("\(mode.rawValue) needs \(mode == .clipText ? "--texts N" : mode == .aesthetic ? "--features N D" : "--images N H W")")
        }
        var command = EmbedCommand(mode: mode, model: positional[0], input: positional[1], output: positional[2],
                                   count: counts[0], shape: Array(counts.dropFirst()))
        command.batch = batch
        command.threads = threads
        return command
    }

    /// Resolves the model, checks it fits the command, reads the input, encodes it and writes the output.
    /// Returns the line to print on stderr: the model's name and its resolved layout and architecture.
    @discardableResult
    public func run() throws -> String {
        let model = try LoadedModel(path: model)
        let architecture = model.architecture
        let line = "\((self.model as NSString).lastPathComponent): \(architecture.summary)"
        func wrong(_ needs: String) -> Error {
            ModelError(path: model.files.weights, reason: "\(mode.rawValue) needs \(needs); this model is \(architecture.layout.label)\(architecture.vision?.projection != nil ? " (CLIP)" : "")")
        }
        if threads != 1 { BLAS.setThreads(threads) }
        var out: [Float] = []
        switch mode {
        case .dino, .clipImage:
            guard let v = architecture.vision, (mode == .dino) == (v.projection == nil) else {
                throw wrong(mode == .dino ? "a DINO model (DINO/timm or HF ViT names)" : "a CLIP model (OpenAI/open_clip or HF CLIP names)")
            }
            let (h, w) = (shape[0], shape[1])
            let pixels = try readFloats(count * 3 * h * w, what: "\(count) images of 3 × \(h) × \(w) floats")
            let encoder = try VisionEncoder(model)
            let per = 3 * h * w
            var start = 0
            while start < count {
                let n = min(batch, count - start)
                out += try pixels.withUnsafeBufferPointer {
                    try encoder.encode(UnsafeBufferPointer(rebasing: $0[(start * per)..<((start + n) * per)]), count: n, height: h, width: w)
                }
                start += n
            }
        case .clipText:
            guard architecture.text != nil else { throw wrong("a CLIP model with a text encoder") }
            let encoder = try TextEncoder(model)
            let context = architecture.text!.context
            let ids = try readInt32(count * context, what: "\(count) texts of \(context) int32 token ids")
            for t in 0..<count { out += try encoder.encode(ids[(t * context)..<((t + 1) * context)].map { Int($0) }) }
        case .aesthetic:
            guard let d = architecture.aestheticInput else { throw wrong("the aesthetic head (weight (1, D), bias (1))") }
            guard shape[0] == d else {
                throw ModelError(path: model.files.weights, reason: "the aesthetic head takes \(d) features; --features gives \(shape[0])")
            }
            let head = try AestheticHead(model)
            let features = try readFloats(count * d, what: "\(count) features of \(d) floats")
            out = (0..<count).map { head.score(features[($0 * d)..<(($0 + 1) * d)]) }
        }
        let data = out.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: output, contents: data) else {
            throw EmbedError("\(output): cannot write the output file")
        }
        return line
    }

    private func readBytes(_ count: Int, what: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: input) else { throw EmbedError("\(input): cannot read the input file") }
        guard data.count == count * 4 else {
            throw EmbedError("\(input): \(data.count) bytes; \(what) need \(count * 4)")
        }
        return data
    }

    private func readFloats(_ count: Int, what: String) throws -> [Float] {
        let data = try readBytes(count, what: what)
        return data.withUnsafeBytes { raw in (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
    }

    private func readInt32(_ count: Int, what: String) throws -> [Int32] {
        let data = try readBytes(count, what: what)
        return data.withUnsafeBytes { raw in (0..<count).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) } }
    }
}
