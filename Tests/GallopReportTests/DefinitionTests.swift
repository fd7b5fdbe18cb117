import Foundation
import GallopConfig
import GallopCore
import GallopMetrics
import GallopReport
import GallopResults
import XCTest

/// One definition per metric: its file declares everything about it, and
/// nothing else in Sources/ names it.
final class DefinitionTests: XCTestCase {
    static let sources = ConfigTests.root.appendingPathComponent("Sources")

    /// Every `.swift` file under Sources/, as a path relative to the package root, with its text.
    static func sourceFiles() throws -> [(path: String, text: String)] {
        let root = ConfigTests.root.path + "/"
        guard let walker = FileManager.default.enumerator(atPath: sources.path) else { return [] }
        var out: [(String, String)] = []
        for case let relative as String in walker where relative.hasSuffix(".swift") {
            let url = sources.appendingPathComponent(relative)
            out.append((String(url.path.dropFirst(root.count)), try String(contentsOf: url, encoding: .utf8)))
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Literals that must stay outside their metric's file, each with the reason. Empty: none must.
    static let allowed: [(file: String, literal: String, reason: String)] = []

    /// Whether a string literal (quotes included) holds `name` as a word: not inside a longer identifier.
    static func holds(_ literal: String, _ name: String) -> Bool {
        var rest = literal[...]
        while let r = rest.range(of: name) {
            let before = r.lowerBound == literal.startIndex ? nil : literal[literal.index(before: r.lowerBound)]
            let after = r.upperBound == literal.endIndex ? nil : literal[r.upperBound]
            let word: (Character?) -> Bool = { $0.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
            if !word(before) && !word(after) { return true }
            rest = literal[r.upperBound...]
        }
        return false
    }

    func testTheScanReadsLiteralsAsWords() {
        XCTAssertTrue(DefinitionTests.holds("\"camera_motion\"", "camera_motion"))
        XCTAssertTrue(DefinitionTests.holds("\"gate camera_agreement, and\"", "camera_agreement"))
        XCTAssertFalse(DefinitionTests.holds("\"camera_motion_pan\"", "camera_motion"))
        XCTAssertFalse(DefinitionTests.holds("\"ssim_fast\"", "ssim"))
    }

    func testNoMetricNameIsAStringOutsideItsOwnFile() throws {
        let files = try DefinitionTests.sourceFiles()
        XCTAssertGreaterThan(files.count, 50, "the scan must see Sources/")
        // Value name → the file that declares its metric (headline, secondary and derived values alike).
        var owner: [String: String] = [:]
        for type in MetricRegistry.all {
            let i = type.info
            let declaring = files.filter { $0.path.hasPrefix("Sources/GallopMetrics/") && $0.text.contains("name: \"\(i.name)\"") }
            XCTAssertEqual(declaring.count, 1, "\(i.name) is declared in one file")
            guard let file = declaring.first?.path else { continue }
            for name in [i.name] + i.secondary + i.derived.map(\.traits.name) { owner[name] = file }
        }
        XCTAssertEqual(Set(owner.keys), Set(ValueCatalog.names))
        // A name as a string: a literal that is the name, or holds it as a word (a message, a help text).
        let literal = try NSRegularExpression(pattern: #""(?:[^"\\\n]|\\.)*""#)
        var found: [String] = []
        for (path, text) in files {
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = String(line)
                guard !code.trimmingCharacters(in: .whitespaces).hasPrefix("//") else { continue }
                let literals = literal.matches(in: code, range: NSRange(code.startIndex..., in: code)).map { String(code[Range($0.range, in: code)!]) }
                for lit in literals {
                    for (name, home) in owner where path != home && DefinitionTests.holds(lit, name) {
                        guard !DefinitionTests.allowed.contains(where: { $0.file == path && $0.literal == name }) else { continue }
                        found.append("\(path):\(number + 1): \(lit) names \(name) (declared in \(home))")
                    }
                }
            }
        }
        XCTAssertEqual(found.sorted(), [], "metric names as strings outside their own file; read them from the registry")
    }

    func testReadmeTablesAreTheRegistrys() throws {
        let readme = try String(contentsOf: ConfigTests.root.appendingPathComponent("README.md"), encoding: .utf8)
        for (name, table) in MarkdownTables.sections {
            let block = MarkdownTables.block(name, table)
            XCTAssertTrue(readme.contains(block),
                          "README.md's '\(name)' table differs from `gallop metrics --markdown` (scripts/setup --docs rewrites it); the block should be:\n\(block)")
        }
    }

    func testRegistryDeclaresTheDefaults() {
        // Each moment kind and the flicker pair's step series are read off exactly one metric.
        for series in ReportSeries.allCases {
            XCTAssertEqual(MetricRegistry.all.filter { $0.info.series == series }.count, 1, "\(series)")
        }
        for kind in Moment.Kind.allCases { XCTAssertEqual(MetricRegistry.metric(for: kind.series), kind.metric) }
        // Defaults name only values that exist, with a better side, and bounds on the right side.
        let gate = Configuration().gate, report = Configuration().report
        for (name, _) in gate.tolerances {
            XCTAssertNotEqual(Configuration.direction(of: name) ?? .none, .none, "\(name) is gated, so it has a better side")
            // A secondary value with a tolerance is gated as well (GateTests.testAudioTolerances).
            XCTAssertNotNil(ValueCatalog.known.first { $0.name == name }, "\(name) is a value the registry declares")
        }
        for term in report.composite.flatMap(\.terms) {
            let d = Configuration.direction(of: term.metric)
            XCTAssertNotEqual(term.worst, term.best, "\(term.metric)'s composite bounds map to 0 and 1")
            XCTAssertEqual(d, term.best > term.worst ? .higher : .lower, "\(term.metric)'s composite bounds follow its better side")
        }
        for r in report.restrict { XCTAssertNotNil(Configuration.direction(of: r.metric)) }
        // A derived value is catalogued with how it is derived, once.
        XCTAssertEqual(ValueCatalog.derived.map(\.name), MetricRegistry.derivedNames)
        XCTAssertEqual(Set(ValueCatalog.names).count, ValueCatalog.names.count, "value names are unique")
        // Every option section is a metric's own (its name) or the shared flow's.
        for section in MetricSettings.sections where section != "flow" {
            XCTAssertEqual(MetricRegistry.type(named: section)?.info.options.isEmpty, false, section)
        }
    }
}
