import Foundation

/// CLIP's text cleaning as open_clip 3.3.0 does it for `clean='lower'` (tokenizer.py `basic_clean`,
/// `whitespace_clean`, `_clean_lower`): `ftfy.fix_text`, `html.unescape` twice, `strip`, whitespace runs to one
/// space, Python's `str.lower`.
///
/// Everything works on Unicode scalars, as Python's `str` does (Swift's `Character` would merge "e" and a
/// combining accent, or "\r\n", into one). The tables copied from Python are in the generated `HTMLEntities.swift`.
///
/// ftfy 6.3.1's `fix_text` with its default configuration is followed step by step (ftfy/__init__.py
/// `fix_text`, `fix_and_explain`), except `fix_encoding`: its mojibake repair ("Ã©" back to "é") is a heuristic
/// over large tables of encodings, and is left out. Text that reads as mojibake can therefore tokenize
/// differently from open_clip; the tokenizer tests list those inputs.
public enum TextClean {
    /// open_clip's `_clean_lower`: the text CLIP's byte-pair encoder sees.
    public static func cleanLower(_ text: String) -> [Unicode.Scalar] {
        var s = fixText(Array(text.unicodeScalars))
        s = htmlUnescape(htmlUnescape(s))
        return pythonLower(whitespaceClean(s))
    }

    // MARK: Python's whitespace, split and lower

    /// Python's `str.isspace` (what `str.split()` and `str.strip()` split on): Unicode White_Space plus the
    /// information separators U+001C-001F, which Python counts as whitespace.
    public static func isPythonSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `" ".join(text.split()).strip()`.
    static func whitespaceClean(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var pendingSpace = false
        for c in s {
            if isPythonSpace(c) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(c)
            }
        }
        return out
    }

    /// Python's `str.lower()`: each code point's full lower-case mapping (so U+0130 becomes "i̇", two code
    /// points), and capital sigma in the Final_Sigma context becomes "ς" (unicodeobject.c `handle_capital_sigma`:
    /// preceded by a cased letter, case-ignorable ones skipped, and not followed by one). Swift's `lowercased()`
    /// has no final-sigma rule.
    public static func pythonLower(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for (i, c) in s.enumerated() {
            if c.value == 0x3A3 {
                out.append(Unicode.Scalar(isFinalSigma(s, at: i) ? 0x3C2 : 0x3C3)!)
                continue
            }
            if c.isASCII {
                out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c)
                continue
            }
            out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
        }
        return out
    }

    private static func isFinalSigma(_ s: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && s[j].properties.isCased else { return false }
        j = i + 1
        while j < s.count && s[j].properties.isCaseIgnorable { j += 1 }
        return j == s.count || !s[j].properties.isCased
    }

    // MARK: ftfy

    /// ftfy's `fix_text`: the text in segments that end after each "\n"; HTML entities are decoded by ftfy only
    /// until the first segment holding a "<" (that one and all after it keep theirs); each segment repeats the
    /// fixers until nothing changes.
    public static func fixText(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var unescape = true
        var start = 0
        while start < s.count {
            var end = start
            while end < s.count && s[end] != "\n" { end += 1 }
            end = min(end + 1, s.count)
            var segment = Array(s[start..<end])
            if segment.contains("<") { unescape = false }
            while true {
                let before = segment
                if unescape { segment = ftfyUnescapeHTML(segment) }
                segment = segment.flatMap { c -> [Unicode.Scalar] in
                    if let r = c1Map[c.value] { return r }
                    if let r = ligatures[c.value] { return r }
                    return [c]
                }
                segment = segment.flatMap { widthMap[$0.value] ?? [$0] }
                segment = segment.map(uncurl)
                segment = fixLineBreaks(segment)
                segment = removeTerminalEscapes(segment)
                segment = segment.filter { !isRemovedControl($0) }
                segment = nfc(segment)
                if segment == before { break }
            }
            out += segment
            start = end
        }
        return out
    }

    /// ftfy's `LIGATURES` (chardata.py): Latin ligatures and legacy digraphs split into their letters.
    static let ligatures: [UInt32: [Unicode.Scalar]] = {
        let pairs: [(UInt32, String)] = [
            (0x132, "IJ"), (0x133, "ij"), (0x149, "\u{2BC}n"), (0x1F1, "DZ"), (0x1F2, "Dz"), (0x1F3, "dz"),
            (0x1C4, "D\u{17D}"), (0x1C5, "D\u{17E}"), (0x1C6, "d\u{17E}"), (0x1C7, "LJ"), (0x1C8, "Lj"), (0x1C9, "lj"),
            (0x1CA, "NJ"), (0x1CB, "Nj"), (0x1CC, "nj"), (0xFB00, "ff"), (0xFB01, "fi"), (0xFB02, "fl"),
            (0xFB03, "ffi"), (0xFB04, "ffl"), (0xFB05, "\u{17F}t"), (0xFB06, "st"),
        ]
        return Dictionary(uniqueKeysWithValues: pairs.map { ($0.0, Array($0.1.unicodeScalars)) })
    }()

    static let widthMap: [UInt32: [Unicode.Scalar]] = parseTable(HTMLTables.width).reduce(into: [:]) {
        $0[UInt32($1.key, radix: 16)!] = $1.value
    }
    static let c1Map: [UInt32: [Unicode.Scalar]] = parseTable(HTMLTables.c1).reduce(into: [:]) {
        $0[UInt32($1.key, radix: 16)!] = $1.value
    }

    /// ftfy's `uncurl_quotes`: U+02BC and U+2018-201B become "'", U+201C-201F become '"'.
    static func uncurl(_ c: Unicode.Scalar) -> Unicode.Scalar {
        switch c.value {
        case 0x2BC, 0x2018...0x201B: return "'"
        case 0x201C...0x201F: return "\""
        default: return c
        }
    }

    /// ftfy's `fix_line_breaks`: "\r\n", "\r", U+2028, U+2029 and U+0085 each become "\n".
    static func fixLineBreaks(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == "\r" && i + 1 < s.count && s[i + 1] == "\n" {
                out.append("\n"); i += 2; continue
            }
            switch c.value {
            case 0x0D, 0x2028, 0x2029, 0x85: out.append("\n")
            default: out.append(c)
            }
            i += 1
        }
        return out
    }

    /// ftfy's `remove_terminal_escapes`: `\x1b\[(?:\d|;)*[a-zA-Z]` removed (Python's `\d` is any decimal digit).
    static func removeTerminalEscapes(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("\u{1B}") else { return s }
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < s.count {
            if s[i] == "\u{1B}" && i + 1 < s.count && s[i + 1] == "[" {
                var j = i + 2
                while j < s.count && (s[j] == ";" || s[j].properties.generalCategory == .decimalNumber) { j += 1 }
                if j < s.count, s[j].isASCII, s[j].properties.isAlphabetic {
                    i = j + 1
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// ftfy's `remove_control_chars`: U+0000-0008, 000B, 000E-001F, 007F, 206A-206F, FEFF, FFF9-FFFC.
    static func isRemovedControl(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
        default: return false
        }
    }

    static func nfc(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if s.allSatisfy({ $0.value < 0x300 }) { return s }
        var str = String.UnicodeScalarView()
        str.append(contentsOf: s)
        return Array(String(str).precomposedStringWithCanonicalMapping.unicodeScalars)
    }

    // MARK: HTML entities

    static func parseTable(_ text: String) -> [(key: String, value: [Unicode.Scalar])] {
        text.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            let value = parts.count > 1 ? parts[1].split(separator: " ").map { Unicode.Scalar(UInt32($0, radix: 16)!)! } : []
            return (String(parts[0]), value)
        }
    }

    static let html5: [String: [Unicode.Scalar]] = Dictionary(parseTable(HTMLTables.html5).map { ($0.key, $0.value) },
                                                             uniquingKeysWith: { a, _ in a })
    /// ftfy's `HTML_ENTITIES`: "&name;" for every html5 name ending in ';', plus the upper-cased ones it adds.
    static let ftfyEntities: [String: [Unicode.Scalar]] = {
        var d: [String: [Unicode.Scalar]] = [:]
        for (k, v) in html5 where k.hasSuffix(";") { d["&" + k] = v }
        for (k, v) in parseTable(HTMLTables.ftfyUpper) { d["&" + k] = v }
        return d
    }()
    static let invalidCharrefs: [UInt32: [Unicode.Scalar]] = parseTable(HTMLTables.invalidCharrefs).reduce(into: [:]) {
        $0[UInt32($1.key, radix: 16)!] = $1.value
    }
    static let invalidCodepoints: Set<UInt32> = Set(HTMLTables.invalidCodepoints.split(separator: "\n").map { UInt32($0, radix: 16)! })
    static let longestHTML5Name = html5.keys.map(\.unicodeScalars.count).max() ?? 0

    private static func isASCIIAlnum(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return false
        }
    }

    private static func isHexDigit(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x30...0x39, 0x41...0x46, 0x61...0x66: return true
        default: return false
        }
    }

    /// ftfy's `unescape_html`: each match of `&#?[0-9A-Za-z]{1,24};` that is one of ftfy's entity names becomes
    /// its text; a numeric one becomes `html.unescape`'s result unless that still holds a ';'; others stay.
    static func ftfyUnescapeHTML(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < s.count {
            if s[i] == "&" {
                var j = i + 1
                if j < s.count && s[j] == "#" { j += 1 }
                let nameStart = j
                while j < s.count && j - nameStart < 24 && isASCIIAlnum(s[j]) { j += 1 }
                if j > nameStart && j < s.count && s[j] == ";" {
                    let match = Array(s[i...j])
                    var key = String.UnicodeScalarView()
                    key.append(contentsOf: match)
                    if let r = ftfyEntities[String(key)] {
                        out += r
                    } else if match[1] == "#" {
                        let r = htmlUnescape(match)
                        out += r.contains(";") ? match : r
                    } else {
                        out += match
                    }
                    i = j + 1
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// Python's `html.unescape` (html/__init__.py): matches of `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`
    /// replaced as `_replace_charref` does: numeric references through the invalid-reference tables (surrogates and
    /// beyond U+10FFFF become U+FFFD), names by the html5 table or else by their longest prefix that is a name.
    public static func htmlUnescape(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard s[i] == "&", i + 1 < s.count else { out.append(s[i]); i += 1; continue }
            if s[i + 1] == "#" {
                var j = i + 2
                var hex = false
                if j < s.count && (s[j] == "x" || s[j] == "X") { hex = true; j += 1 }
                let digitsStart = j
                while j < s.count && (hex ? isHexDigit(s[j]) : (s[j].value >= 0x30 && s[j].value <= 0x39)) { j += 1 }
                if j == digitsStart { out.append(s[i]); i += 1; continue }
                var num: UInt32 = 0
                for d in s[digitsStart..<j] {
                    let v = UInt32(hex ? Int(String(Character(d)), radix: 16)! : Int(d.value - 0x30))
                    num = num > 0x11_0000 ? num : num * (hex ? 16 : 10) + v
                }
                if j < s.count && s[j] == ";" { j += 1 }
                if let r = invalidCharrefs[num] {
                    out += r
                } else if (0xD800...0xDFFF).contains(num) || num > 0x10FFFF {
                    out.append("\u{FFFD}")
                } else if !invalidCodepoints.contains(num) {
                    out.append(Unicode.Scalar(num)!)
                }
                i = j
                continue
            }
            var j = i + 1
            while j < s.count && j - (i + 1) < 32 {
                switch s[j] {
                case "\t", "\n", "\u{0C}", " ", "<", "&", "#", ";": break
                default: j += 1; continue
                }
                break
            }
            if j == i + 1 { out.append(s[i]); i += 1; continue }
            if j < s.count && s[j] == ";" { j += 1 }
            let name = Array(s[(i + 1)..<j])
            func key(_ n: ArraySlice<Unicode.Scalar>) -> String {
                var v = String.UnicodeScalarView()
                v.append(contentsOf: n)
                return String(v)
            }
            if let r = html5[key(name[...])] {
                out += r
            } else {
                var replaced = false
                var x = min(name.count - 1, longestHTML5Name)
                while x > 1 {
                    if let r = html5[key(name[0..<x])] {
                        out += r
                        out += name[x...]
                        replaced = true
                        break
                    }
                    x -= 1
                }
                if !replaced {
                    out.append("&")
                    out += name
                }
            }
            i = j
        }
        return out
    }
}
