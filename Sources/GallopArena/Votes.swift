import CSV
import Foundation

/// One human preference between two models' clips, as a line of a votes file.
public struct Vote: Sendable, Equatable {
    public enum Winner: String, Sendable {
        case modelA = "model_a", modelB = "model_b", tie
    }

    public var modelA: String
    public var modelB: String
    public var winner: Winner
    /// The board the vote belongs to; nil when the file has no `category` column.
    public var category: String?
    /// The prompt id both clips were made from; nil when not given.
    public var prompt: String?
    public var seedA: Int?
    public var seedB: Int?
    /// A tie where the voter found both clips bad (`both_bad`, or LMArena's `tie (bothbad)`): scored as
    /// any tie, counted apart.
    public var bothBad: Bool
    /// Line of the file where the vote starts (1 is the header).
    public var line: Int

    public init(modelA: String, modelB: String, winner: Winner, category: String? = nil, prompt: String? = nil,
                seedA: Int? = nil, seedB: Int? = nil, bothBad: Bool = false, line: Int = 0) {
        precondition(!bothBad || winner == .tie, "a both-bad vote is a tie")
        self.modelA = modelA
        self.modelB = modelB
        self.winner = winner
        self.bothBad = bothBad
        self.category = category
        self.prompt = prompt
        self.seedA = seedA
        self.seedB = seedB
        self.line = line
    }

    /// The score of model A: 1 for a win, ½ for a tie, 0 for a loss.
    public var scoreA: Double {
        switch winner {
        case .modelA: return 1
        case .modelB: return 0
        case .tie: return 0.5
        }
    }
}

/// A votes file that cannot be used, with the file, the line and the cause in one sentence.
public struct VotesError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The votes of a CSV file (RFC 4180, read with CSV.swift).
///
/// Header (any order, names trimmed and case-insensitive): `model_a`, `model_b`,
/// `winner` (`model_a`, `model_b`, `tie` or `both_bad`; case-insensitive; a both-bad
/// vote, also spelled `tie (bothbad)` as in LMArena's released votes, or `bothbad`,
/// is a tie, as LMArena and its `arena-rank` score it, and is counted apart); optional `category` (each value its own board, as
/// well as all of them together; kept verbatim, case counting), `prompt`, `seed_a`, `seed_b` (the clips voted on); other
/// columns are ignored. Blank lines are skipped. Anything else that is not a
/// vote stops the reading with ``VotesError`` naming `file:line`: a missing
/// column, a line with another number of fields than the header, an empty
/// model, a model against itself, an unknown winner, a seed that is not a
/// whole number, an empty category (a vote of no board would count in the pooled board and in
/// none of the categories, so their counts would no longer add up: it is more likely a slip than
/// a choice, and the file says which line), a file with no votes.
public struct VotesFile: Sendable {
    public var file: String
    public var votes: [Vote]
    /// Whether the file has a `category` column (then every vote has one).
    public var hasCategory: Bool
    /// Whether the file has a `prompt` column: then votes with a prompt name clips.
    public var namesClips: Bool

    public static let required = ["model_a", "model_b", "winner"]
    public static let optional = ["category", "prompt", "seed_a", "seed_b"]

    public init(file: String, votes: [Vote], hasCategory: Bool, namesClips: Bool) {
        self.file = file
        self.votes = votes
        self.hasCategory = hasCategory
        self.namesClips = namesClips
    }

    public static func read(_ path: String) throws(VotesError) -> VotesFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VotesError("\(path): cannot read the votes file (no such file?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw VotesError("\(path): the votes file is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// The categories in order of first appearance (one nil without a `category` column).
    public var categories: [String?] {
        var seen = Set<String>(), out: [String?] = []
        for v in votes {
            let key = v.category ?? ""
            if seen.insert(key).inserted { out.append(v.category) }
        }
        return out
    }

    public static func parse(_ text: String, file: String) throws(VotesError) -> VotesFile {
        // CSV.swift does not count lines: each row's first line is 1 + the lines before it, where
        // a row takes one line plus the line breaks quoted inside its fields (blank lines are rows of
        // one empty field, so they count too).
        var body = text
        if body.hasPrefix("\u{FEFF}") { body.removeFirst() }
        let reader: CSVReader
        do { reader = try CSVReader(string: body, hasHeaderRow: false, trimFields: true) } catch {
            throw VotesError("\(file): cannot read the votes file as CSV (\(error))")
        }
        var line = 1
        func breaks(_ row: [String]) -> Int {
            row.reduce(0) { n, field in n + field.unicodeScalars.filter { $0 == "\n" }.count
                + field.replacingOccurrences(of: "\r\n", with: "\n").unicodeScalars.filter { $0 == "\r" }.count }
        }
        // The header: the first row that is not blank.
        var header: [String]?
        while let row = reader.next() {
            defer { line += 1 + breaks(row) }
            if row.count == 1 && row[0].isEmpty { continue }
            header = row
            break
        }
        guard let header else { throw VotesError("\(file): the votes file is empty (no header line)") }
        let headerLine = line - 1 - breaks(header)
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var column: [String: Int] = [:]
        for (i, name) in names.enumerated() where !name.isEmpty {
            guard column[name] == nil else { throw VotesError("\(file):\(headerLine): the header has two `\(name)` columns") }
            column[name] = i
        }
        for name in required where column[name] == nil {
            throw VotesError("\(file):\(headerLine): the header has no `\(name)` column (it needs model_a, model_b and winner; it has \(names.filter { !$0.isEmpty }.joined(separator: ", ")))")
        }
        if (column["seed_a"] != nil || column["seed_b"] != nil) && column["prompt"] == nil {
            throw VotesError("\(file):\(headerLine): the header has seed columns but no `prompt` column; a clip is named by its prompt and seed")
        }

        var votes: [Vote] = []
        while let row = reader.next() {
            let start = line
            line += 1 + breaks(row)
            if row.count == 1 && row[0].isEmpty { continue }
            guard row.count == header.count else {
                let hint = breaks(row) > 0 ? " (a quote left open?)" : ""
                throw VotesError("\(file):\(start): \(row.count) field\(row.count == 1 ? "" : "s") where the header has \(header.count)\(hint)")
            }
            func field(_ name: String) -> String? { column[name].map { row[$0] } }
            for name in required + ["category", "seed_a", "seed_b"] {
                if let f = field(name), f.contains(where: \.isNewline) {
                    throw VotesError("\(file):\(start): \(name) runs over several lines (a quote left open?)")
                }
            }
            let a = field("model_a")!, b = field("model_b")!, w = field("winner")!
            guard !a.isEmpty else { throw VotesError("\(file):\(start): model_a is empty") }
            guard !b.isEmpty else { throw VotesError("\(file):\(start): model_b is empty") }
            guard a != b else { throw VotesError("\(file):\(start): `\(a)` is voted against itself") }
            let winner: Vote.Winner
            var bothBad = false
            switch w.lowercased() {
            case "model_a": winner = .modelA
            case "model_b": winner = .modelB
            case "tie": winner = .tie
            case "both_bad", "tie (bothbad)", "bothbad":
                winner = .tie
                bothBad = true
            default: throw VotesError("\(file):\(start): winner `\(w)` is not model_a, model_b, tie or both_bad")
            }
            var vote = Vote(modelA: a, modelB: b, winner: winner, bothBad: bothBad, line: start)
            if let c = field("category") {
                guard !c.isEmpty else { throw VotesError("\(file):\(start): the category is empty (with a category column every vote needs one)") }
                vote.category = c
            }
            if let p = field("prompt"), !p.isEmpty { vote.prompt = p }
            for (name, side) in [("seed_a", \Vote.seedA), ("seed_b", \Vote.seedB)] {
                guard let s = field(name), !s.isEmpty else { continue }
                guard let n = Int(s) else { throw VotesError("\(file):\(start): \(name) `\(s)` is not a whole number") }
                vote[keyPath: side] = n
            }
            votes.append(vote)
        }
        guard !votes.isEmpty else { throw VotesError("\(file):\(headerLine): the header is not followed by any vote") }
        return VotesFile(file: file, votes: votes, hasCategory: column["category"] != nil, namesClips: column["prompt"] != nil)
    }
}
