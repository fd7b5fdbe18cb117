import Foundation
import XCTest
@testable import GallopLearned

/// The CLIP tokenizer against open_clip 3.3.0's `SimpleTokenizer`: token ids for every prompt of the core suite,
/// hostile texts and seeded random mixtures (Fixtures/tokens.json, written by scripts/gallopcheck/tokenizer_fixtures.py),
/// read with CLIP's real merges from `.cache/clip` (scripts/lib/fetch-clip-vocab; skipped, saying so, when absent);
/// and the byte-pair logic, truncation, cleaning and errors on a hand-made merges file (Fixtures/tiny_merges.txt)
/// that needs no download.
final class TokenizerTests: XCTestCase {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let vocabulary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/clip/bpe_simple_vocab_16e6.txt")

    /// Entries where Gallop is known to differ from open_clip, and why. Each must still equal open_clip's ids
    /// with ftfy's `fix_encoding` turned off (`tokens_no_fix_encoding`), and differ from its ids with it.
    static let knownDifferences: [String: String] = [
        "mojibake": "ftfy's fix_encoding repairs mojibake (\"CafÃ©\" to \"Café\"); Gallop leaves it out",
        "random-02": "ftfy's fix_encoding reads \"ß\\u{9C}\" as the UTF-8 of \"\u{7DC}\" decoded as Latin-1 and repairs it",
    ]

    struct Entry: Decodable {
        let name: String
        let text: String
        let tokens: [Int32]
        let tokens_no_fix_encoding: [Int32]
    }
    struct Fixture: Decodable {
        let peer: String
        let entries: [Entry]
    }

    func tiny() throws -> CLIPTokenizer {
        try CLIPTokenizer(mergesFile: Self.fixtures.appendingPathComponent("tiny_merges.txt"))
    }

    func testOpenCLIPEquality() throws {
        guard FileManager.default.fileExists(atPath: Self.vocabulary.path) else {
            throw XCTSkip("CLIP's BPE merges are not in \(Self.vocabulary.path): run scripts/lib/fetch-clip-vocab")
        }
        let tokenizer = try CLIPTokenizer.load(folder: Self.vocabulary.deletingLastPathComponent())
        XCTAssertEqual(tokenizer.encoder.count, 49408)
        XCTAssertEqual(tokenizer.startOfText, 49406)
        XCTAssertEqual(tokenizer.endOfText, 49407)
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("tokens.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        XCTAssertGreaterThan(fixture.entries.count, 120)
        var differences: Set<String> = []
        for entry in fixture.entries {
            let got = tokenizer.tokenize(entry.text)
            if let why = Self.knownDifferences[entry.name] {
                XCTAssertNotEqual(got, entry.tokens, "\(entry.name): listed as a known difference (\(why)) but equal")
                XCTAssertEqual(got, entry.tokens_no_fix_encoding, "\(entry.name): \(entry.text)")
                differences.insert(entry.name)
            } else {
                XCTAssertEqual(got, entry.tokens, "\(entry.name): \(entry.text)")
            }
        }
        XCTAssertEqual(differences, Set(Self.knownDifferences.keys), "a known difference has no fixture entry")
        // Again from the cache: equal ids.
        for entry in fixture.entries.prefix(5) { XCTAssertEqual(tokenizer.tokenize(entry.text), entry.tokens) }
    }

    func testLongPromptIsCutWithEndOfText() throws {
        guard FileManager.default.fileExists(atPath: Self.vocabulary.path) else {
            throw XCTSkip("CLIP's BPE merges are not in \(Self.vocabulary.path): run scripts/lib/fetch-clip-vocab")
        }
        let tokenizer = try CLIPTokenizer(mergesFile: Self.vocabulary)
        let ids = tokenizer.tokenize(Array(repeating: "golden", count: 500).joined(separator: " "))
        XCTAssertEqual(ids.count, 77)
        XCTAssertEqual(ids.first, 49406)
        XCTAssertEqual(ids.last, 49407)
        XCTAssertFalse(ids.contains(0))
    }

    /// Hand-worked merges: ranks 0 "l o", 1 "lo w</w>", 2 "e r</w>", 3 "h e", 4 "l l", 5 "he ll", 6 "hell o</w>";
    /// merge k has id 512 + k; a byte's id is its place in `bytes_to_unicode` order (+256 with `</w>`).
    func testTinyMergesKnownAnswers() throws {
        let t = try tiny()
        XCTAssertEqual(t.encoder.count, 512 + 7 + 2)
        XCTAssertEqual(t.startOfText, 519)
        XCTAssertEqual(t.endOfText, 520)
        XCTAssertEqual(t.encode("hello"), [518])  // he, ll, hell, hello</w>: lowest rank first
        XCTAssertEqual(t.encode("low"), [513])
        XCTAssertEqual(t.encode("lower"), [512, 86, 514])  // lo, w, er</w>: "lo w" is ranked only with </w>
        XCTAssertEqual(t.encode("lolol"), [512, 512, 331])  // every occurrence of the pair merged; l</w> = 256 + 75
        XCTAssertEqual(t.encode("é"), [127, 358])  // UTF-8 C3 A9: printable bytes, the last with </w>
        XCTAssertEqual(t.encode("🐱"), [172, 253, 238, 365])  // F0 9F 90 B1: 9F and 90 are the remapped bytes
        XCTAssertEqual(t.encode("Hello, LOW!"), [518, 267, 513, 256])
        XCTAssertEqual(t.encode("<start_of_text>"), [519])
        XCTAssertEqual(Array(t.encode("!!<end_of_text>").prefix(3)), [0, 0, 283])  // "!!<" is one piece: no special token
        XCTAssertEqual(t.tokenize("hello"), [519, 518, 520] + Array(repeating: 0, count: 74))
        XCTAssertEqual(t.tokenize(""), [519, 520] + Array(repeating: 0, count: 75))
    }

    func testPiecesSplitCodePointsAsPython() {
        func pieces(_ s: String) -> [String] {
            CLIPTokenizer.pieces(Array(s.unicodeScalars)).map { p in
                var v = String.UnicodeScalarView(); v.append(contentsOf: p); return String(v)
            }
        }
        XCTAssertEqual(pieces("it's 42 cafe\u{301}!!<end_of_text> x<start_of_text>"),
                       ["it", "'s", "4", "2", "cafe", "\u{301}!!<", "end", "_", "of", "_", "text", ">", "x", "<start_of_text>"])
    }

    func testTruncationAtSeventySevenTokens() throws {
        let t = try tiny()
        let a: Int32 = 256 + 64  // "a</w>"
        let fits = t.tokenize(Array(repeating: "a", count: 75).joined(separator: " "))
        XCTAssertEqual(fits, [519] + Array(repeating: a, count: 75) + [520])
        let cut = t.tokenize(Array(repeating: "a", count: 76).joined(separator: " "))
        XCTAssertEqual(cut, [519] + Array(repeating: a, count: 75) + [520])
        let long = t.tokenize(Array(repeating: "a", count: 500).joined(separator: " "))
        XCTAssertEqual(long, [519] + Array(repeating: a, count: 75) + [520])
    }

    func testTextCleanAsPython() {
        func clean(_ s: String) -> String {
            var v = String.UnicodeScalarView(); v.append(contentsOf: TextClean.cleanLower(s)); return String(v)
        }
        XCTAssertEqual(clean("ΟΔΟΣ ΣΑ"), "οδος σα")  // final sigma
        XCTAssertEqual(clean("İx"), "i\u{307}x")
        XCTAssertEqual(clean("&amp;amp;lt;"), "<")  // ftfy repeats its fixes until nothing changes
        XCTAssertEqual(clean("a < b &amp; c"), "a < b & c")  // ftfy keeps entities on a line with "<"
        XCTAssertEqual(clean("a < &EACUTE; &amp;amp;lt; &amp;amp;amp;quot;"), "a < &eacute; &lt; &amp;quot;")
        XCTAssertEqual(clean("&amp;amp;amp;amp;quot;x &AMP;EACUTE; &amp;NTILDE;"), "\"x \u{E9} \u{F1}")
        XCTAssertEqual(clean("b &eacute;\nc < &eacute;\nd &eacute;"), "b \u{E9} c < \u{E9} d \u{E9}")  // html.unescape after ftfy
        XCTAssertEqual(clean("x &AMP y &notit; &#128;"), "x & y ¬it; €")
        XCTAssertEqual(clean("\u{FB01}\u{201C}q\u{201D}"), "fi\"q\"")
        XCTAssertEqual(clean("Cafe\u{301}"), "caf\u{E9}")
        XCTAssertEqual(clean("\u{1B}[31mred\u{1B}[0m"), "red")
        // ftfy removes U+001C and reads U+0085 as Windows-1252's "…" before Python's split sees them.
        XCTAssertEqual(clean(" a\u{1C}b\u{3000}c\u{85}d\u{200B}e "), "ab c\u{2026}d\u{200B}e")
    }

    // MARK: Errors

    func temporary(_ name: String, _ contents: Data) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gallop-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try contents.write(to: url)
        return url
    }

    func assertFails(_ message: String, _ body: () throws -> Void, line: UInt = #line) {
        do {
            try body()
            XCTFail("no error; expected one saying \(message)", line: line)
        } catch {
            XCTAssertTrue("\(error)".contains(message), "\(error)", line: line)
        }
    }

    func testErrors() throws {
        let gz = try temporary("merges.txt", Data([0x1F, 0x8B, 8, 0, 0, 0]))
        assertFails("gunzip it") { _ = try CLIPTokenizer(mergesFile: gz) }
        let onlyGz = try temporary("bpe_simple_vocab_16e6.txt.gz", Data([0x1F, 0x8B]))
        assertFails("gunzip it") { _ = try CLIPTokenizer.load(folder: onlyGz.deletingLastPathComponent()) }
        let empty = try temporary("x", Data()).deletingLastPathComponent()
        assertFails("no CLIP tokenizer vocabulary") { _ = try CLIPTokenizer.load(folder: empty) }
        let missing = empty.appendingPathComponent("nothing.txt")
        assertFails("nothing.txt: cannot read") { _ = try CLIPTokenizer(mergesFile: missing) }
        let noHeader = try temporary("merges.txt", Data("l o\n".utf8))
        assertFails("no '#version' header") { _ = try CLIPTokenizer(mergesFile: noHeader) }
        let badLine = try temporary("merges.txt", Data("#version: 0.2\nl o\nabc\n".utf8))
        assertFails("line 3 is not a merge") { _ = try CLIPTokenizer(mergesFile: badLine) }
        let noMerges = try temporary("merges.txt", Data("#version: 0.2\n".utf8))
        assertFails("holds no merges") { _ = try CLIPTokenizer(mergesFile: noMerges) }
    }

    func testVocabularyFileIsChecked() throws {
        let merges = try String(contentsOf: Self.fixtures.appendingPathComponent("tiny_merges.txt"), encoding: .utf8)
        let t = try tiny()
        var vocab: [String: Int] = t.encoder
        vocab["<start_of_text>"] = nil
        vocab["<end_of_text>"] = nil
        vocab["<|startoftext|>"] = 519
        vocab["<|endoftext|>"] = 520
        let mergesURL = try temporary("merges.txt", Data(merges.utf8))
        let folder = mergesURL.deletingLastPathComponent()
        let vocabURL = folder.appendingPathComponent("vocab.json")
        try JSONSerialization.data(withJSONObject: vocab).write(to: vocabURL)
        XCTAssertEqual(try CLIPTokenizer.load(folder: folder).encode("hello"), [518])
        vocab["hello</w>"] = 517
        try JSONSerialization.data(withJSONObject: vocab).write(to: vocabURL)
        assertFails("do not belong together") { _ = try CLIPTokenizer.load(folder: folder) }
        vocab["extra"] = 521
        try JSONSerialization.data(withJSONObject: vocab).write(to: vocabURL)
        assertFails("has 522 tokens but the merges file gives 521") { _ = try CLIPTokenizer.load(folder: folder) }
        try Data("[1]".utf8).write(to: vocabURL)
        assertFails("not a JSON object") { _ = try CLIPTokenizer.load(folder: folder) }
    }
}
