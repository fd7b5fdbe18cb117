import Foundation
import XCTest

/// scripts/ as its users and CI meet it: five entry points, each answering `--help` with its usage line; a verify
/// part for every script under scripts/lib/verify; and no file of the repository naming a script or a gallopcheck
/// module that is not there (a moved or renamed script leaves no stale pointer behind).
final class ScriptsTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let entryPoints = ["bench", "convert-aesthetic", "demo", "setup", "test", "verify"]

    /// Runs a script of the repository with bash; stdout and stderr together.
    func run(_ script: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [ScriptsTests.root.appendingPathComponent(script).path] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testScriptsHoldTheEntryPointsThePackageAndLib() throws {
        let listing = try FileManager.default.contentsOfDirectory(atPath: ScriptsTests.root.appendingPathComponent("scripts").path)
            .filter { !$0.hasPrefix(".") }
        XCTAssertEqual(listing.sorted(), (ScriptsTests.entryPoints + ["gallopcheck", "lib"]).sorted())
    }

    func testEachEntryPointAnswersHelpWithItsUsage() throws {
        for name in ScriptsTests.entryPoints {
            let path = ScriptsTests.root.appendingPathComponent("scripts/\(name)").path
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: path), "scripts/\(name) is executable")
            let r = try run("scripts/\(name)", ["--help"])
            XCTAssertEqual(r.status, 0, "scripts/\(name) --help: \(r.output)")
            XCTAssertTrue(r.output.contains("Usage: scripts/\(name)"), "scripts/\(name) --help: \(r.output)")
        }
    }

    func testVerifyListsAPartForEveryScriptInLibVerify() throws {
        let r = try run("scripts/verify", ["--list"])
        XCTAssertEqual(r.status, 0, r.output)
        let parts = r.output.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        let scripts = try FileManager.default.contentsOfDirectory(atPath: ScriptsTests.root.appendingPathComponent("scripts/lib/verify").path)
        XCTAssertFalse(scripts.isEmpty)
        for script in scripts {
            // A part is the script's name, or the script's name and its argument (sanitize-address: sanitize address).
            XCTAssertTrue(parts.contains { $0 == script || $0.hasPrefix(script + "-") && script == "sanitize" },
                          "scripts/lib/verify/\(script) is run by no part of scripts/verify: \(parts)")
        }
        let unknown = try run("scripts/verify", ["no-such-part"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.output.contains("no part named no-such-part"), unknown.output)
    }

    /// The files scanned: every text file the repository keeps, the README included.
    static func scannedLines() throws -> [(file: String, number: Int, line: String)] {
        let fm = FileManager.default
        let root = ScriptsTests.root
        var found: [(String, Int, String)] = []
        let tops = ["README.md", "docs", "Sources", "Tests", "scripts", "examples", "prompts", "configs", ".ci", "Package.swift"]
        for top in tops {
            let base = root.appendingPathComponent(top)
            var paths: [String] = []
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: base.path, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                for case let rel as String in fm.enumerator(atPath: base.path)! { paths.append(top + "/" + rel) }
            } else {
                paths.append(top)
            }
            for path in paths where !path.contains("__pycache__") {
                guard let data = fm.contents(atPath: root.appendingPathComponent(path).path),
                      !data.contains(0), let text = String(data: data, encoding: .utf8) else { continue }
                for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    found.append((path, i + 1, String(line)))
                }
            }
        }
        return found
    }

    func testEveryScriptAndModuleNamedExists() throws {
        let lines = try ScriptsTests.scannedLines()
        XCTAssertGreaterThan(lines.count, 1000, "the scan must see the repository")
        let pathPattern = try NSRegularExpression(pattern: #"scripts/[A-Za-z0-9_./-]*"#)
        let modulePattern = try NSRegularExpression(pattern: #"gallopcheck\.([a-z_]+)"#)
        var missing: [String] = []
        for (file, number, line) in lines {
            let range = NSRange(line.startIndex..., in: line)
            for m in pathPattern.matches(in: line, range: range) {
                var path = String(line[Range(m.range, in: line)!])
                while path.hasSuffix(".") || path.hasSuffix("/") { path.removeLast() }
                // A placeholder (scripts/lib/verify/PART) names its folder.
                if let last = path.split(separator: "/").last, last.allSatisfy({ $0.isUppercase }) {
                    path = path.split(separator: "/").dropLast().joined(separator: "/")
                }
                if !FileManager.default.fileExists(atPath: ScriptsTests.root.appendingPathComponent(path).path) {
                    missing.append("\(file):\(number): \(path)")
                }
            }
            for m in modulePattern.matches(in: line, range: range) {
                let module = String(line[Range(m.range(at: 1), in: line)!])
                let source = ScriptsTests.root.appendingPathComponent("scripts/gallopcheck/\(module).py").path
                if !FileManager.default.fileExists(atPath: source) { missing.append("\(file):\(number): gallopcheck.\(module)") }
            }
        }
        XCTAssertEqual(missing, [], "paths under scripts/ and gallopcheck modules that are not there")
    }
}
