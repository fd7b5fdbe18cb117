import GallopCore

/// Group scores and the overall score of a model, a convention for reading
/// many metrics at once. Each term's metric is averaged over the model's
/// prompts as its own aggregate is (prompt means; a restricted metric only
/// over the prompts with its tags), mapped to 0–1 by the term's bounds
/// (``CompositeTerm/score(_:)``) and weighted; a group lacking every term is
/// left out; overall = mean of the groups present. Computing at model level,
/// not per clip, keeps a restricted metric at full weight: flicker read on
/// static prompts counts as much as freezes read on all of them.
///
/// Interval: percentile bootstrap resampling prompts (the same seeded
/// resamples for every group of one model). Ranks: two models are compared
/// on the prompts they share, each resample drawing the same prompts for
/// both; one is better when the interval of the difference excludes zero.
struct CompositeScorer {
    let groups: [CompositeGroup]
    let settings: BootstrapSettings

    /// One model's prompt units: `values[term][prompt]`, nil where the term's metric does not apply or is missing.
    struct Units {
        var prompts: [String]
        var values: [[Double?]]
    }

    var terms: [CompositeTerm] { groups.flatMap(\.terms) }

    /// Score names: each group's, then the overall.
    var names: [String] { groups.map { Aggregation.compositePrefix + $0.name } + [Aggregation.overall] }

    /// `promptMeans(prompt, metric)`: the model's mean of a metric on a prompt, or nil where it does not count.
    func units(prompts: [String], promptMeans: (String, String) -> Double?) -> Units {
        Units(prompts: prompts, values: terms.map { t in prompts.map { promptMeans($0, t.metric) } })
    }

    /// Scores on the prompts at `indices` (with repeats); nil for a group with no term present.
    func scores(_ u: Units, _ indices: [Int]) -> [Double?] {
        var means: [Double?] = []
        for row in u.values {
            var sum = 0.0, n = 0
            for i in indices { if let v = row[i] { sum += v; n += 1 } }
            means.append(n > 0 ? sum / Double(n) : nil)
        }
        var out: [Double?] = []
        var k = 0
        for g in groups {
            var sum = 0.0, weight = 0.0
            for t in g.terms {
                if let m = means[k] { sum += t.weight * t.score(m); weight += t.weight }
                k += 1
            }
            out.append(weight > 0 ? sum / weight : nil)
        }
        let present = out.compactMap { $0 }
        out.append(present.isEmpty ? nil : present.reduce(0, +) / Double(present.count))
        return out
    }

    /// Point estimates and percentile intervals, by score name.
    func aggregates(_ u: Units, clips: Int, stream: [String]) -> [String: Aggregate] {
        let all = Array(u.prompts.indices)
        let point = scores(u, all)
        var draws = [[Double]](repeating: [], count: point.count)
        if u.prompts.count >= 2 {
            var rng = generator(stream)
            var indices = [Int](repeating: 0, count: u.prompts.count)
            for _ in 0..<settings.resamples {
                for j in indices.indices { indices[j] = Int(rng.next() % UInt64(u.prompts.count)) }
                for (s, v) in scores(u, indices).enumerated() { if let v { draws[s].append(v) } }
            }
        }
        var out: [String: Aggregate] = [:]
        for (s, name) in names.enumerated() {
            guard let p = point[s] else { continue }
            out[name] = Aggregate(n: clips, prompts: u.prompts.count, mean: p, median: .nan,
                                  interval: percentile(draws[s]), undefined: 0, rank: nil)
        }
        return out
    }

    /// Competition ranks per score name among models: 1 + the models significantly better on shared prompts.
    func ranks(_ models: [(name: String, units: Units)], stream: [String]) -> [String: [String: Int]] {
        var better = [String: [String: Int]]()   // score → model → count of models better than it
        for name in names { better[name] = Dictionary(uniqueKeysWithValues: models.map { ($0.name, 0) }) }
        for a in models.indices {
            for b in models.indices where a < b {
                let shared = Set(models[a].units.prompts).intersection(models[b].units.prompts).sorted()
                guard shared.count >= 2 else { continue }
                let ua = subset(models[a].units, shared), ub = subset(models[b].units, shared)
                var rng = generator(stream + [models[a].name, models[b].name])
                var indices = [Int](repeating: 0, count: shared.count)
                var diffs = [[Double]](repeating: [], count: names.count)
                for _ in 0..<settings.resamples {
                    for j in indices.indices { indices[j] = Int(rng.next() % UInt64(shared.count)) }
                    let sa = scores(ua, indices), sb = scores(ub, indices)
                    for s in names.indices { if let x = sa[s], let y = sb[s] { diffs[s].append(x - y) } }
                }
                for (s, name) in names.enumerated() {
                    guard let i = percentile(diffs[s]), i.excludesZero else { continue }
                    better[name]![i.low > 0 ? models[b].name : models[a].name]! += 1
                }
            }
        }
        return better.mapValues { $0.mapValues { $0 + 1 } }
    }

    private func subset(_ u: Units, _ prompts: [String]) -> Units {
        let index = Dictionary(uniqueKeysWithValues: u.prompts.enumerated().map { ($1, $0) })
        return Units(prompts: prompts, values: u.values.map { row in prompts.map { row[index[$0]!] } })
    }

    private func generator(_ stream: [String]) -> SplitMix64 {
        SplitMix64(seed: settings.seed ^ (Bootstrap.stream(stream + ["composite"]) &* 0x9E37_79B9_7F4A_7C15))
    }

    private func percentile(_ xs: [Double]) -> Interval? {
        guard xs.count >= 2 else { return nil }
        let s = xs.sorted()
        let alpha = (1 - settings.level) / 2
        func at(_ q: Double) -> Double { s[min(s.count - 1, max(0, Int((q * Double(s.count - 1)).rounded())))] }
        return Interval(low: at(alpha), high: at(1 - alpha))
    }
}
