import Foundation
import GallopCore
import GallopLearned
import GallopMetrics
import GallopResults
import Yams

/// A Gallop config file (`configs/default.yaml` is the built-in defaults
/// written out): the metric set, the analysis size and sampling, every metric
/// option, and the report settings. Every key is optional; a missing key
/// keeps its default. Unknown keys, wrong types and values out of range are
/// errors that name the file, the line and the key.
public struct Configuration: Sendable, Hashable {
    /// nil: every metric selected by default (the full-reference ones only with a reference; the opt-in ones only when named).
    public var metrics: [String]?
    public var maxSide: Int?
    public var every = 1
    public var maxFrames: Int?
    public var motionSide = RunConfig.defaultMotionSide
    public var options = MetricSettings()
    /// The defaults are those the metrics declare (``ValueCatalog``).
    public var report = ValueCatalog.report
    public var gate = ValueCatalog.gate
    /// The learned metrics' weights by key (`models.<key>`, or `--weights DIR`): a folder or a `.safetensors`
    /// file, a config file's relative paths made relative to its folder. Resolved and hashed by ``resolveModels()``.
    public var models: [ModelKey: String] = [:]

    public init() {}

    /// The scoring settings for a run (with or without a reference folder), the
    /// metric set resolved as the scorer resolves it, so its fingerprint is the rows'.
    /// `models`: the configured models, resolved (``resolveModels()``); the metrics that need others are left out.
    public func run(reference: String? = nil, models: [ModelKey: ModelRef] = [:]) -> RunConfig {
        let keys = Set(models.keys)
        let resolved = (try? MetricRegistry.select(metrics, reference: reference != nil, models: keys))?.map { $0.info.name }
            ?? metrics ?? []
        var run = RunConfig(metrics: resolved, maxSide: maxSide, every: every, maxFrames: maxFrames, motionSide: motionSide,
                            reference: reference, options: options)
        run.models = models
        return run
    }

    /// The run this configuration would score, its models standing as rows scored earlier record them (a row's
    /// `config.models`: key → identity, file, layout, files), so a config file can be compared with those rows
    /// without hashing the weights again. A model the configuration does not name is taken from the rows as well:
    /// its weights came from `--weights DIR` when the rows were scored, and a config without a `models:` section
    /// says nothing against them. Rows written before the identity covered every file record the weights'
    /// `sha256` alone, read as their identity.
    public func run(reference: String?, recordedModels: JSONValue?) -> RunConfig {
        var refs: [ModelKey: ModelRef] = [:]
        for (name, entry) in recordedModels?.objectValue ?? [] {
            guard let key = ModelKey(rawValue: name),
                  let identity = entry["identity"]?.stringValue ?? entry["sha256"]?.stringValue else { continue }
            let path = models[key] ?? entry["file"]?.stringValue ?? name
            let files = (entry["files"]?.arrayValue ?? []).compactMap { f in
                f["name"]?.stringValue.flatMap { name in f["sha256"]?.stringValue.map { ModelFileHash(name: name, sha256: $0) } }
            }
            refs[key] = ModelRef(key: name, path: path, file: entry["file"]?.stringValue ?? path, identity: identity, files: files,
                                 layout: entry["layout"]?.stringValue ?? "", architecture: "")
        }
        return run(reference: reference, models: refs)
    }

    /// The configured models that the selection (with or without a reference) would run, each resolved and
    /// hashed (``ModelRef/resolve(_:path:)``): once, in the process that starts the run. A model that cannot be
    /// used is an error naming its file.
    public func resolveModels(reference: String? = nil) throws -> [ModelKey: ModelRef] {
        let wanted = Set(((try? MetricRegistry.select(metrics, reference: reference != nil, models: Set(models.keys))) ?? []).flatMap { $0.info.models })
        var out: [ModelKey: ModelRef] = [:]
        for key in ModelKey.allCases where wanted.contains(key) {
            guard let path = models[key] else { continue }
            out[key] = try ModelRef.resolve(key, path: path)
        }
        // clip_score reads the prompt through CLIP's tokenizer, whose files sit beside the weights: missing or
        // unreadable, the run stops here, naming the folder, rather than nulling every clip's value.
        let selected = (try? MetricRegistry.select(metrics, reference: reference != nil, models: Set(out.keys))) ?? []
        if selected.contains(where: { $0 == CLIPScore.self }), let clip = out[.clipViTB32] {
            _ = try ModelStore.shared.tokenizer(clip)
        }
        return out
    }

    /// Sets each model whose folder (or file) `DIR/<key>` exists, over what the config gave (`--weights DIR`).
    public mutating func applyWeights(folder: String) {
        for key in ModelKey.allCases {
            let path = (folder.hasSuffix("/") ? folder : folder + "/") + key.rawValue
            if FileManager.default.fileExists(atPath: path) { models[key] = path }
        }
    }

    /// Every value name a config may refer to: headlines, secondary values and
    /// the values Gallop derives when it reports.
    public static var knownValues: [String] { ValueCatalog.names }

    /// Reads a config file.
    public static func load(_ path: String) throws(ConfigError) -> Configuration {
        try parse(YAMLReader.contents(of: path, what: "config"), file: path)
    }

    /// Reads config text (`file` names it in errors).
    public static func parse(_ text: String, file: String) throws(ConfigError) -> Configuration {
        let r = YAMLReader(file: file)
        var config = Configuration()
        guard let root = try r.compose(text) else { return config }
        for (key, node) in try r.mapping(root, "config", known: ["metrics", "analysis", "options", "models", "report", "gate"]) {
            switch key {
            case "metrics":
                if node.string == "all" { config.metrics = nil; continue }
                let names = try r.strings(node, "metrics")
                for n in names where MetricRegistry.type(named: n) == nil {
                    throw r.error(node, "metrics", "unknown metric '\(n)'; known metrics: \(MetricRegistry.names.joined(separator: ", "))")
                }
                guard !names.isEmpty else { throw r.error(node, "metrics", "list at least one metric, or write 'all'") }
                if let twice = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
                    throw r.error(node, "metrics", "'\(twice)' is listed twice")
                }
                config.metrics = names
            case "analysis":
                for (k, v) in try r.mapping(node, "analysis", known: ["max_side", "every", "max_frames", "motion_side"]) {
                    let key = "analysis.\(k)"
                    switch k {
                    case "max_side": config.maxSide = v.string == "native" ? nil : try r.int(v, key, 16...100_000, or: "native")
                    case "every": config.every = try r.int(v, key, 1...100_000)
                    case "max_frames": config.maxFrames = v.string == "all" ? nil : try r.int(v, key, 1...100_000_000, or: "all")
                    default: config.motionSide = try r.int(v, key, 32...100_000)
                    }
                }
            case "options":
                for (section, v) in try r.mapping(node, "options", known: MetricSettings.sections) {
                    let keys = MetricSettings.options.filter { $0.section == section }.map(\.key)
                    for (k, value) in try r.mapping(v, "options.\(section)", known: keys) {
                        let option = MetricSettings.option(section: section, key: k)!
                        let key = "options.\(section).\(k)"
                        let number = try r.number(value, key)
                        do { try option.assign(number, to: &config.options) } catch {
                            throw r.error(value, key, "\(error.message) (got \(r.text(value)))")
                        }
                    }
                }
            case "models":
                // `models: {}` or a key with no entries: none configured.
                if node.scalar?.string == "" || node.scalar?.string == "null" { continue }
                let folder = file.lastIndex(of: "/").map { String(file[..<$0]) } ?? ""
                for (k, v) in try r.mapping(node, "models", known: ModelKey.allCases.map(\.rawValue)) {
                    let key = "models.\(k)"
                    let given = try r.string(v, key)
                    let path = given.hasPrefix("/") || folder.isEmpty ? given : folder + "/" + given
                    guard FileManager.default.fileExists(atPath: path) else {
                        throw r.error(v, key, "no such folder or file: \(path)")
                    }
                    config.models[ModelKey(rawValue: k)!] = path
                }
            case "report":
                config.report = try readReport(node, r)
            default:
                config.gate = try readGate(node, r)
            }
        }
        return config
    }

    static func readGate(_ node: Node, _ r: YAMLReader) throws(ConfigError) -> GateSettings {
        var gate = ValueCatalog.gate
        func tolerance(_ spec: Node, _ path: String) throws(ConfigError) -> GateSettings.Tolerance {
            let pairs = try r.mapping(spec, path, known: ["absolute", "relative"])
            guard pairs.count == 1 else { throw r.error(spec, path, "give one of absolute or relative") }
            let value = try r.number(pairs[0].1, "\(path).\(pairs[0].0)")
            guard value >= 0 else { throw r.error(pairs[0].1, "\(path).\(pairs[0].0)", "must be 0 or more (got \(r.text(pairs[0].1)))") }
            return GateSettings.Tolerance(kind: pairs[0].0 == "absolute" ? .absolute : .relative, value: value)
        }
        for (key, v) in try r.mapping(node, "gate", known: ["default", "tolerances"]) {
            if key == "default" {
                gate.fallback = try tolerance(v, "gate.default")
                continue
            }
            for (metric, spec) in try r.mapping(v, "gate.tolerances", known: nil) {
                let path = "gate.tolerances.\(metric)"
                guard let direction = direction(of: metric) else { throw r.error(v, path, "unknown metric") }
                guard direction != .none else { throw r.error(v, path, "\(metric) has no better side, so it is never gated") }
                // A secondary value with a tolerance here is gated too (`CheckRun.knownDirections(gate:)`).
                gate.tolerances[metric] = try tolerance(spec, path)
            }
        }
        return gate
    }

    static func readReport(_ node: Node, _ r: YAMLReader) throws(ConfigError) -> ReportSettings {
        var report = ValueCatalog.report
        for (key, v) in try r.mapping(node, "report", known: ["bootstrap", "restrict", "composite"]) {
            switch key {
            case "bootstrap":
                for (k, value) in try r.mapping(v, "report.bootstrap", known: ["resamples", "seed", "level"]) {
                    let path = "report.bootstrap.\(k)"
                    switch k {
                    case "resamples": report.bootstrap.resamples = try r.int(value, path, 100...1_000_000)
                    case "seed": report.bootstrap.seed = UInt64(try r.int(value, path, 0...(1 << 53)))
                    default:
                        let level = try r.number(value, path)
                        guard level >= 0.5 && level < 1 else { throw r.error(value, path, "must be in 0.5..<1 (got \(r.text(value)))") }
                        report.bootstrap.level = level
                    }
                }
            case "restrict":
                // Per metric: a file's entry replaces that metric's restriction; [] removes it.
                for (metric, spec) in try r.mapping(v, "report.restrict", known: nil) {
                    let path = "report.restrict.\(metric)"
                    guard knownValues.contains(metric) else { throw r.error(spec, path, "unknown metric") }
                    var restriction = ReportSettings.Restriction(metric: metric, tags: [])
                    if spec.sequence != nil {
                        restriction.tags = try r.strings(spec, path)
                    } else {
                        for (k, list) in try r.mapping(spec, path, known: ["tags", "except"]) {
                            if k == "tags" { restriction.tags = try r.strings(list, "\(path).tags") } else { restriction.except = try r.strings(list, "\(path).except") }
                        }
                    }
                    report.restrict.removeAll { $0.metric == metric }
                    if !restriction.tags.isEmpty { report.restrict.append(restriction) }
                }
            default:
                // Per group: a file's group replaces the group of that name, or adds one.
                for (group, terms) in try r.mapping(v, "report.composite", known: nil) {
                    guard group != "overall" else { throw r.error(terms, "report.composite.overall", "'overall' is the mean of the groups; name the group otherwise") }
                    // A group replaced keeps its place in `overall` or apart from it (`audio`); a new one counts in it.
                    var g = CompositeGroup(name: group, terms: [], inOverall: report.composite.first { $0.name == group }?.inOverall ?? true)
                    for (metric, spec) in try r.mapping(terms, "report.composite.\(group)", known: nil) {
                        let path = "report.composite.\(group).\(metric)"
                        guard let direction = direction(of: metric) else { throw r.error(spec, path, "unknown metric") }
                        guard direction != .none else {
                            throw r.error(spec, path, "\(metric) has no better side, so it cannot be scored in a composite")
                        }
                        var term = CompositeTerm(metric: metric, weight: 1, worst: 0, best: 1)
                        var seen = Set<String>()
                        for (k, value) in try r.mapping(spec, path, known: ["weight", "worst", "best"]) {
                            seen.insert(k)
                            let n = try r.number(value, "\(path).\(k)")
                            switch k {
                            case "weight":
                                guard n > 0 else { throw r.error(value, "\(path).weight", "must be above 0") }
                                term.weight = n
                            case "worst": term.worst = n
                            default: term.best = n
                            }
                        }
                        guard seen.contains("worst") && seen.contains("best") else {
                            throw r.error(spec, path, "needs both worst and best")
                        }
                        guard term.best != term.worst else {
                            throw r.error(spec, path, "worst and best are both \(String(format: "%g", term.worst)): a term needs two different values to map to 0 and 1")
                        }
                        guard (direction == .higher) == (term.best > term.worst) else {
                            throw r.error(spec, path, "\(metric) is better \(direction == .higher ? "higher" : "lower"): best must be \(direction == .higher ? "above" : "below") worst")
                        }
                        g.terms.append(term)
                    }
                    if let i = report.composite.firstIndex(where: { $0.name == group }) {
                        if g.terms.isEmpty { report.composite.remove(at: i) } else { report.composite[i] = g }
                    } else if !g.terms.isEmpty {
                        report.composite.append(g)
                    }
                }
            }
        }
        return report
    }

    /// A value's better side, as its metric's file declares it.
    public static func direction(of value: String) -> Direction? { ValueCatalog.direction(of: value) }

    /// The config as a file: what `gallop config` prints and `configs/default.yaml` holds.
    public func yaml(comment: String) -> String {
        var out = comment.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" }.joined(separator: "\n") + "\n"
        out += "metrics: " + (metrics.map { "[" + $0.joined(separator: ", ") + "]" } ?? "all") + "\n"
        out += "analysis:\n"
        out += "  max_side: \(maxSide.map(String.init) ?? "native")   # long side at most N px before analysis (native: no scaling)\n"
        out += "  every: \(every)   # score every N-th frame\n"
        out += "  max_frames: \(maxFrames.map(String.init) ?? "all")   # stop after N frames\n"
        out += "  motion_side: \(motionSide)   # long side of the optical-flow analysis size\n"
        out += "models:"
        if models.isEmpty {
            out += " {}"
        }
        out += "   # the learned metrics' weights: a folder as downloaded or the .safetensors file, relative to this file (see `gallop metrics`)\n"
        for key in ModelKey.allCases {
            if let path = models[key] { out += "  \(key.rawValue): \(path)\n" } else { out += "  # \(key.rawValue): weights/\(key.rawValue)\n" }
        }
        out += "options:\n"
        for section in MetricSettings.sections {
            out += "  \(section):\n"
            for o in MetricSettings.options where o.section == section {
                out += "    \(o.key): \(o.text(options))   # \(o.help)\n"
            }
        }
        out += "report:\n  bootstrap:\n"
        out += "    resamples: \(report.bootstrap.resamples)\n    seed: \(report.bootstrap.seed)\n    level: \(report.bootstrap.level)\n"
        out += "  restrict:   # metric: the prompt tags it is read on, and tags that rule a prompt out (with --prompts)\n"
        for r in report.restrict {
            out += "    \(r.metric): {tags: [\(r.tags.joined(separator: ", "))], except: [\(r.except.joined(separator: ", "))]}\n"
        }
        // A file's entries are merged into the defaults: a default left out is written as removed.
        for r in ValueCatalog.report.restrict where !report.restrict.contains(where: { $0.metric == r.metric }) {
            out += "    \(r.metric): []   # read on every prompt\n"
        }
        out += "  composite:   # group: metric: weight, and the values that map to 0 (worst) and 1 (best)\n"
        for g in report.composite {
            out += "    \(g.name):\(g.inOverall ? "" : "   # not in overall")\n"
            for t in g.terms { out += "      \(t.metric): {weight: \(t.weight), worst: \(t.worst), best: \(t.best)}\n" }
        }
        for g in ValueCatalog.report.composite where !report.composite.contains(where: { $0.name == g.name }) {
            out += "    \(g.name): {}   # no such group\n"
        }
        out += "gate:   # gallop check: how much worse (bad direction) a metric may get; absolute in its unit, or relative to the baseline mean\n"
        out += "  default: {\(gate.fallback.kind.rawValue): \(gate.fallback.value)}   # metrics with a better side and no entry below\n"
        out += "  tolerances:\n"
        for name in Configuration.knownValues where gate.tolerances[name] != nil {
            let t = gate.tolerances[name]!
            out += "    \(name): {\(t.kind.rawValue): \(t.value)}\n"
        }
        return out
    }
}

/// A config or prompt-suite file that cannot be used: file, line, key and cause.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Typed reads of a YAML node tree that name the file, line and key on failure.
struct YAMLReader {
    let file: String

    func error(_ node: Node?, _ key: String, _ message: String) -> ConfigError {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        return ConfigError("\(file)\(line): \(key): \(message)")
    }

    /// A file's text; `what` names it in the error ("config", "prompt suite").
    static func contents(of path: String, what: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("\(path): cannot read the \(what) (no such file?)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The node tree of YAML text (nil when empty), with marks for error lines.
    func compose(_ text: String) throws(ConfigError) -> Node? {
        do { return try Yams.compose(yaml: text) } catch let error as YamlError {
            switch error {
            case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
                throw ConfigError("\(file):\(mark.line): not valid YAML: \(problem)\(context.map { " \($0.text)" } ?? "")")
            default:
                throw ConfigError("\(file): not valid YAML: \(error)")
            }
        } catch {
            throw ConfigError("\(file): \(error)")
        }
    }

    func text(_ node: Node) -> String {
        if let s = node.scalar?.string { return "'\(s)'" }
        return node.mapping != nil ? "a mapping" : "a list"
    }

    /// Key-value pairs in file order; `known` nil accepts any key.
    func mapping(_ node: Node, _ key: String, known: [String]?) throws(ConfigError) -> [(String, Node)] {
        guard let mapping = node.mapping else { throw error(node, key, "must be a mapping (key: value), got \(text(node))") }
        var out: [(String, Node)] = []
        var seen = Set<String>()
        for (k, v) in mapping {
            guard let name = k.scalar?.string else { throw error(k, key, "keys must be plain words") }
            let path = key == "config" ? name : "\(key).\(name)"
            if let known, !known.contains(name) {
                throw error(k, path, "unknown key; known keys here: \(known.joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw error(k, path, "given twice") }
            out.append((name, v))
        }
        return out
    }

    func number(_ node: Node, _ key: String) throws(ConfigError) -> Double {
        guard let s = node.scalar, s.style == .plain, let v = node.float ?? node.int.map(Double.init), v.isFinite else {
            throw error(node, key, "must be a number, got \(text(node))")
        }
        _ = s
        return v
    }

    func int(_ node: Node, _ key: String, _ range: ClosedRange<Int>, or word: String? = nil) throws(ConfigError) -> Int {
        let expected = "a whole number" + (word.map { " or '\($0)'" } ?? "")
        guard node.scalar?.style == .plain, let v = node.int else { throw error(node, key, "must be \(expected), got \(text(node))") }
        guard range.contains(v) else {
            throw error(node, key, "must be \(range.upperBound == Int.max ? "at least \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)") (got \(v))")
        }
        return v
    }

    func string(_ node: Node, _ key: String) throws(ConfigError) -> String {
        guard let s = node.scalar?.string, !s.isEmpty else { throw error(node, key, "must be text, got \(text(node))") }
        return s
    }

    func strings(_ node: Node, _ key: String) throws(ConfigError) -> [String] {
        guard let items = node.sequence else { throw error(node, key, "must be a list like [a, b], got \(text(node))") }
        var out: [String] = []
        for item in items { out.append(try string(item, key)) }
        return out
    }
}
