import Foundation

/// CLIP's byte-pair tokenizer, equal token for token to open_clip 3.3.0's `SimpleTokenizer` with its defaults
/// (tokenizer.py: `bytes_to_unicode`, `bpe`, `encode`, `__call__`; `clean='lower'`, context 77).
///
/// A text is cleaned (`TextClean.cleanLower`), split into pieces by `CLIPTokenizer.pieces` (open_clip's regular
/// expression), each piece's UTF-8 bytes are written as `bytes_to_unicode` characters, and byte-pair merges are
/// applied to it, lowest rank first, with `</w>` marking the end of the word. The vocabulary is built from the
/// merges as open_clip builds it: the 256 byte characters, the same with `</w>`, one entry per merge, then
/// `<start_of_text>` and `<end_of_text>` (49406 and 49407 with CLIP's 48894 merges).
///
/// Merged words are cached (word → ids), so a thread-safe class: prompts repeat their words.
public final class CLIPTokenizer: @unchecked Sendable {
    /// The number of merges open_clip reads (lines 1…48894 of the file: `merges[1:49152-256-2+1]`).
    public static let mergeCount = 49152 - 256 - 2
    public static let contextLength = 77

    public let startOfText: Int
    public let endOfText: Int
    /// Token → id, as open_clip's `encoder` (a later duplicate entry wins, as in Python's `dict(zip(...))`).
    public let encoder: [String: Int]
    private let ranks: [Pair: Int]
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()

    struct Pair: Hashable {
        let first: String
        let second: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `bytes_to_unicode`: bytes 33-126, 161-172 and 174-255 stand for themselves; the other 68 bytes are given
    /// U+0100 onwards in byte order. Returned in open_clip's order (the printable ones first).
    public static let byteOrder: [(byte: UInt8, char: Unicode.Scalar)] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        let kept = Set(printable)
        var chars = printable.map { UInt32($0) }
        var n: UInt32 = 0
        for b in 0...255 where !kept.contains(b) {
            printable.append(b)
            chars.append(256 + n)
            n += 1
        }
        return zip(printable, chars).map { (UInt8($0.0), Unicode.Scalar($0.1)!) }
    }()
    static let byteChar: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        for (b, c) in byteOrder { table[Int(b)] = Character(c) }
        return table
    }()

    /// Builds the tokenizer from merge pairs (each "a b", in rank order).
    public init(merges: [(String, String)]) {
        var vocab = Self.byteOrder.map { String(Character($0.char)) }
        vocab += vocab.map { $0 + "</w>" }
        var ranks: [Pair: Int] = [:]
        for (rank, (a, b)) in merges.enumerated() {
            vocab.append(a + b)
            ranks[Pair(first: a, second: b)] = rank
        }
        vocab += ["<start_of_text>", "<end_of_text>"]
        var encoder: [String: Int] = [:]
        for (id, token) in vocab.enumerated() { encoder[token] = id }
        self.encoder = encoder
        self.ranks = ranks
        startOfText = encoder["<start_of_text>"]!
        endOfText = encoder["<end_of_text>"]!
    }

    /// Reads the merges from `merges.txt` (Hugging Face's layout: a `#version` line, then one merge a line) or
    /// open_clip's `bpe_simple_vocab_16e6.txt` (uncompressed; its first line is a header too), and, when given,
    /// checks Hugging Face's `vocab.json` against the vocabulary built from them.
    public convenience init(mergesFile: URL, vocabFile: URL? = nil) throws {
        let name = mergesFile.path
        guard let data = FileManager.default.contents(atPath: name) else {
            throw Failure(description: "\(name): cannot read the BPE merges file (missing or unreadable).")
        }
        if data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B {
            throw Failure(description: "\(name): the BPE merges file is gzip-compressed; gunzip it and give the .txt.")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Failure(description: "\(name): the BPE merges file is not UTF-8 text.")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard let header = lines.first, header.contains("#version") else {
            throw Failure(description: "\(name): the BPE merges file has no '#version' header line; not a CLIP merges file.")
        }
        var merges: [(String, String)] = []
        for (index, line) in lines.dropFirst().prefix(Self.mergeCount).enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else {
                throw Failure(description: "\(name): line \(index + 2) is not a merge of two symbols separated by one space: '\(line)'.")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        guard !merges.isEmpty else {
            throw Failure(description: "\(name): the BPE merges file holds no merges after its header.")
        }
        self.init(merges: merges)
        if let vocabFile { try checkVocabulary(vocabFile) }
    }

    /// The files ``load(folder:)`` reads from a model folder, in that order: `merges.txt` and `vocab.json` when
    /// present, else `bpe_simple_vocab_16e6.txt`; empty when there is no vocabulary. A model's identity hashes
    /// these (``ModelRef/resolve(_:path:)``), so the two must agree.
    public static func files(folder: URL) -> [URL] {
        let fm = FileManager.default
        let merges = folder.appendingPathComponent("merges.txt")
        if fm.fileExists(atPath: merges.path) {
            let vocab = folder.appendingPathComponent("vocab.json")
            return fm.fileExists(atPath: vocab.path) ? [merges, vocab] : [merges]
        }
        let simple = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt")
        return fm.fileExists(atPath: simple.path) ? [simple] : []
    }

    /// Loads from a model folder: `merges.txt` (and `vocab.json` when present), else `bpe_simple_vocab_16e6.txt`.
    public static func load(folder: URL) throws -> CLIPTokenizer {
        let files = files(folder: folder)
        if let merges = files.first {
            return try CLIPTokenizer(mergesFile: merges, vocabFile: files.count > 1 ? files[1] : nil)
        }
        let simple = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt")
        if FileManager.default.fileExists(atPath: simple.path + ".gz") {
            throw Failure(description: "\(simple.path).gz: the BPE merges file is gzip-compressed; gunzip it (Gallop reads the .txt).")
        }
        throw Failure(description: "\(folder.path): no CLIP tokenizer vocabulary (merges.txt or bpe_simple_vocab_16e6.txt) in the folder.")
    }

    /// Hugging Face's `vocab.json` must give every token the id built here (the two special tokens are named
    /// `<|startoftext|>` and `<|endoftext|>` there: only their ids are checked).
    func checkVocabulary(_ url: URL) throws {
        let name = url.path
        guard let data = FileManager.default.contents(atPath: name) else {
            throw Failure(description: "\(name): cannot read the vocabulary file.")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(description: "\(name): the vocabulary file is not a JSON object of token to id.")
        }
        guard json.count == encoder.count else {
            throw Failure(description: "\(name): the vocabulary has \(json.count) tokens but the merges file gives \(encoder.count); the two files do not belong together.")
        }
        let specials: Set<Int> = [startOfText, endOfText]
        var idsSeen = Set<Int>()
        for (token, value) in json {
            guard let id = (value as? NSNumber)?.intValue else {
                throw Failure(description: "\(name): the id of token '\(token)' is not a number.")
            }
            idsSeen.insert(id)
            if specials.contains(id) { continue }
            guard encoder[token] == id else {
                let expected = encoder[token].map { "\($0)" } ?? "none"
                throw Failure(description: "\(name): token '\(token)' has id \(id) but the merges file gives \(expected); the two files do not belong together.")
            }
        }
        guard idsSeen.isSuperset(of: specials) else {
            throw Failure(description: "\(name): the vocabulary has no tokens with ids \(startOfText) and \(endOfText) (start and end of text).")
        }
    }

    // MARK: Encoding

    /// open_clip's `tokenizer(text)`: `[start] + ids + [end]`, cut to 77 with the last set to `<end_of_text>`
    /// when longer, padded with 0.
    public func tokenize(_ text: String) -> [Int32] {
        var ids = [startOfText] + encode(text) + [endOfText]
        if ids.count > Self.contextLength {
            ids.removeLast(ids.count - Self.contextLength)
            ids[Self.contextLength - 1] = endOfText
        }
        var out = ids.map { Int32($0) }
        out += [Int32](repeating: 0, count: Self.contextLength - out.count)
        return out
    }

    /// open_clip's `encode`: the ids of a text, without start, end or padding.
    public func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        for piece in Self.pieces(TextClean.cleanLower(text)) {
            var word = String.UnicodeScalarView()
            word.append(contentsOf: piece)
            out += ids(of: String(word))
        }
        return out
    }

    private func ids(of piece: String) -> [Int] {
        lock.lock()
        if let hit = cache[piece] { lock.unlock(); return hit }
        lock.unlock()
        let result: [Int]
        if piece == "<start_of_text>" || piece == "<end_of_text>" {
            result = [encoder[piece]!]
        } else {
            let symbols = piece.utf8.map { String(Self.byteChar[Int($0)]) }
            result = bpe(symbols).map { encoder[$0]! }
        }
        lock.lock()
        cache[piece] = result
        lock.unlock()
        return result
    }

    /// open_clip's `bpe`: `</w>` joined to the last symbol; then, while some adjacent pair has a rank, the
    /// lowest-ranked pair is merged everywhere it occurs, left to right without overlap.
    func bpe(_ symbols: [String]) -> [String] {
        var word = symbols
        word[word.count - 1] += "</w>"
        while word.count > 1 {
            var best: Pair?
            var bestRank = Int.max
            for i in 0..<(word.count - 1) {
                let pair = Pair(first: word[i], second: word[i + 1])
                if let r = ranks[pair], r < bestRank { bestRank = r; best = pair }
            }
            guard let best else { break }
            var merged: [String] = []
            merged.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                if i < word.count - 1 && word[i] == best.first && word[i + 1] == best.second {
                    merged.append(best.first + best.second)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        return word
    }

    /// The pieces that open_clip's pattern finds (`regex.findall` with IGNORECASE):
    /// `<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`, the
    /// alternatives tried in that order at each code point; where none matches (whitespace, and U+0345: see
    /// `isSkipped`) the scan moves on by one. Letters are the L categories, numbers the N categories, one code
    /// point at a time (not Swift's grapheme-based `Regex`: Python splits "e" from a following combining accent).
    public static func pieces(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        let literals: [[Unicode.Scalar]] = ["<start_of_text>", "<end_of_text>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
            .map { Array($0.unicodeScalars) }
        var out: [[Unicode.Scalar]] = []
        var i = 0
        scan: while i < s.count {
            for lit in literals where i + lit.count <= s.count && s[i..<(i + lit.count)].elementsEqual(lit, by: caseInsensitiveEqual) {
                out.append(Array(s[i..<(i + lit.count)]))
                i += lit.count
                continue scan
            }
            let c = s[i]
            if isLetter(c) {
                var j = i + 1
                while j < s.count && isLetter(s[j]) { j += 1 }
                out.append(Array(s[i..<j]))
                i = j
            } else if isNumber(c) {
                out.append([c])
                i += 1
            } else if !isSkipped(c) {
                var j = i + 1
                while j < s.count && !isLetter(s[j]) && !isNumber(s[j]) && !isSkipped(s[j]) { j += 1 }
                out.append(Array(s[i..<j]))
                i = j
            } else {
                i += 1
            }
        }
        return out
    }

    /// `regex`'s IGNORECASE on the literal alternatives, for text already lower-cased: besides ASCII case, only
    /// U+017F (long s) matches a letter of them, "s" (checked over every code point with regex 2026.11.19).
    private static func caseInsensitiveEqual(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Bool {
        a == b || (a.isASCII && b.isASCII && a.value | 0x20 == b.value | 0x20 && a.properties.isAlphabetic)
            || (a.value == 0x17F && b == "s")
    }

    /// U+0345 (combining Greek ypogegrammeni, category Mn) is matched by none of the pattern's classes under
    /// IGNORECASE (its case folding is the letter ι, so the negated class rejects it, and it is no letter itself):
    /// `findall` skips it like whitespace. The only such code point outside U+001C-001F (checked over all code
    /// points, Unicode 14.0 assigned ones, with regex 2026.11.19), which the cleaning has removed before.
    static func isSkipped(_ c: Unicode.Scalar) -> Bool {
        TextClean.isPythonSpace(c) || c.value == 0x345
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return (c.value | 0x20) >= 0x61 && (c.value | 0x20) <= 0x7A }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return c.value >= 0x30 && c.value <= 0x39 }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}
