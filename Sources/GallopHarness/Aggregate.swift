import Foundation
import GallopMetrics

/// Mean and 95% confidence interval of one metric over a group of clips.
public struct Summary: Sendable, Equatable {
    /// Clips with a finite value.
    public var n: Int
    public var mean: Double
    /// Sample standard deviation (n − 1); 0 when n < 2.
    public var sd: Double
    /// Half-width of the two-sided 95% Student-t interval for the mean; nil when n < 2.
    public var ci95: Double?

    public init(_ values: [Double]) {
        n = values.count
        mean = values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        if values.count >= 2 {
            let m = mean
            sd = (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
            ci95 = Statistics.tQuantile975(df: values.count - 1) * sd / Double(values.count).squareRoot()
        } else {
            sd = 0
            ci95 = nil
        }
    }
}

public enum Statistics {
    /// Two-sided 95% quantile of Student's t (the 0.975 quantile): exact table
    /// to 30 degrees of freedom, then the Cornish–Fisher expansion (error < 1e-4).
    public static func tQuantile975(df: Int) -> Double {
        precondition(df >= 1)
        let table: [Double] = [
            12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
            2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
            2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
        ]
        if df <= table.count { return table[df - 1] }
        let z = 1.959964, v = Double(df)
        let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v)
    }
}

/// Results grouped by a key (model, prompt, seed), with per-metric summaries.
public struct GroupSummary: Sendable {
    public var key: String
    public var clips: Int
    public var failed: Int
    public var frames: Int
    /// Summaries in metric order; missing when no clip of the group has the value.
    public var metrics: [(String, Summary)]
    /// Clips whose value for a metric was null (undefined), per metric.
    public var undefined: [String: Int]

    public func summary(_ name: String) -> Summary? { metrics.first { $0.0 == name }?.1 }
}

public enum Aggregation {
    public enum Key: String, Sendable, CaseIterable { case model, prompt, seed }

    /// Value names present in the rows, in registry order, then any others.
    public static func valueNames(in rows: [ClipResult]) -> [String] {
        var seen = Set<String>(), order: [String] = []
        for row in rows { for (k, _) in row.metrics where seen.insert(k).inserted { order.append(k) } }
        let known = MetricRegistry.valueNames(for: MetricRegistry.all)
        return known.filter { seen.contains($0) } + order.filter { !known.contains($0) }
    }

    /// Groups rows (sorted by key, rows by path inside, so the result does not
    /// depend on the order clips finished in).
    public static func group(_ rows: [ClipResult], by key: Key = .model) -> [GroupSummary] {
        let names = valueNames(in: rows)
        let groups = Dictionary(grouping: rows) { row -> String in
            switch key {
            case .model: return row.name.model
            case .prompt: return row.name.prompt
            case .seed: return row.name.seed.map(String.init) ?? "none"
            }
        }
        return groups.keys.sorted().map { k in
            let members = groups[k]!.sorted { $0.path < $1.path }
            let ok = members.filter { $0.status == .ok }
            var metrics: [(String, Summary)] = []
            var undefined: [String: Int] = [:]
            for name in names {
                let values = ok.compactMap { row -> Double? in
                    guard let v = row.value(name), v.isFinite else { return nil }
                    return v
                }
                let missing = ok.count - values.count
                if missing > 0 { undefined[name] = missing }
                if !values.isEmpty { metrics.append((name, Summary(values))) }
            }
            return GroupSummary(key: k, clips: members.count, failed: members.count - ok.count,
                                frames: ok.reduce(0) { $0 + $1.frames }, metrics: metrics, undefined: undefined)
        }
    }
}
