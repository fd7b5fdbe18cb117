import GallopCore

/// Group scores and the overall score of a model, a convention for reading
/// many metrics at once. Each term's metric is averaged over the model's
/// prompts as its own aggregate is (prompt means; a restricted metric only
/// over the prompts it admits), mapped to 0–1 by the term's bounds
/// (``CompositeTerm/score(_:)``) and weighted; a term whose bounds cannot map
/// (worst == best) counts as missing; a group lacking every term is left out; overall = mean of the groups present
/// that count in it (``CompositeGroup/inOverall``: not `audio`, which silent clips lack). Computing at model level,
/// not per clip, keeps a restricted metric at full weight: flicker read on
/// static prompts counts as much as freezes read on all of them.
///
/// Interval: percentile bootstrap over prompts, stratified by which terms a
/// prompt carries (each stratum resampled to its own size), so every resample
/// has the terms of the point estimate and a group never changes meaning
/// between resamples. Ranks: two models are compared on the prompts they
/// share, both scored on the same stratified resample; one is better when the
/// percentile interval of the difference excludes zero. As for every value,
/// fewer than ``Bootstrap/minimumUnits`` prompts give no interval and no rank.
struct CompositeScorer {
    let groups: [CompositeGroup]
    let settings: BootstrapSettings

    /// One model's prompt units: `values[term][prompt]`, nil where the term's metric does not apply or is missing.
    struct Units {
        var prompts: [String]
        var values: [[Double?]]

        /// Prompts grouped by which terms they carry (each group resampled within itself).
        var strata: [[Int]] {
            var byKey: [[Bool]: [Int]] = [:]
            for i in prompts.indices { byKey[values.map { $0[i] != nil }, default: []].append(i) }
            return byKey.values.map { $0 }.sorted { $0[0] < $1[0] }
        }

        func subset(_ keep: [String]) -> Units {
            let index = Dictionary(uniqueKeysWithValues: prompts.enumerated().map { ($1, $0) })
            return Units(prompts: keep, values: values.map { row in keep.map { row[index[$0]!] } })
        }
    }

    var terms: [CompositeTerm] { groups.flatMap(\.terms) }

    /// Score names: each group's, then the overall.
    var names: [String] { groups.map { Aggregation.compositePrefix + $0.name } + [Aggregation.overall] }

    func units(_ table: PromptTable, _ model: String, tag: String?) -> Units {
        let prompts = table.prompts(model, tag: tag)
        let byTerm = terms.map { table.units(model, $0.metric, tag: tag) }
        return Units(prompts: prompts, values: byTerm.map { u in prompts.map { u[$0] } })
    }

    /// Scores on the prompts at `indices` (with repeats); nil for a group with no term present.
    func scores(_ u: Units, _ indices: [Int]) -> [Double?] {
        var out: [Double?] = []
        var k = 0
        for g in groups {
            var sum = 0.0, weight = 0.0
            for t in g.terms {
                var s = 0.0, n = 0
                for i in indices { if let v = u.values[k][i] { s += v; n += 1 } }
                if n > 0, let score = t.score(s / Double(n)) { sum += t.weight * score; weight += t.weight }
                k += 1
            }
            out.append(weight > 0 ? sum / weight : nil)
        }
        let present = zip(groups, out).compactMap { $0.inOverall ? $1 : nil }
        out.append(present.isEmpty ? nil : present.reduce(0, +) / Double(present.count))
        return out
    }

    /// One stratified resample of prompt indices.
    func resample(_ strata: [[Int]], _ rng: inout SplitMix64, into indices: inout [Int]) {
        indices.removeAll(keepingCapacity: true)
        for s in strata { for _ in s.indices { indices.append(s[Int(rng.next() % UInt64(s.count))]) } }
    }

    /// Point estimates, intervals and ranks of every score, overall and per tag, into the models' aggregates.
    /// Returns the score names present.
    func score(_ models: inout [ModelSummary], table: PromptTable, tags: [String]) -> Set<String> {
        guard !terms.isEmpty else { return [] }
        var present = Set<String>()
        for tag in [nil] + tags.map(Optional.some) {
            var ranked: [(name: String, units: Units)] = []
            for i in models.indices {
                let u = units(table, models[i].name, tag: tag)
                guard !u.prompts.isEmpty else { continue }
                let clips = u.prompts.reduce(0) { $0 + table.clips[models[i].name]![$1]!.filter { $0.row.status == .ok }.count }
                for (score, a) in aggregates(u, clips: clips, salt: [tag ?? ""]) {
                    present.insert(score)
                    if let tag { models[i].tags[tag]?.values[score] = a } else { models[i].all.values[score] = a }
                }
                ranked.append((models[i].name, u))
            }
            for (name, byScore) in ranks(ranked, salt: [tag ?? ""]) {
                guard let i = models.firstIndex(where: { $0.name == name }) else { continue }
                for (score, rank) in byScore {
                    if let tag { models[i].tags[tag]?.values[score]?.rank = rank } else { models[i].all.values[score]?.rank = rank }
                }
            }
        }
        return present
    }

    func aggregates(_ u: Units, clips: Int, salt: [String]) -> [String: Aggregate] {
        let point = scores(u, Array(u.prompts.indices))
        var draws = [[Double]](repeating: [], count: point.count)
        if u.prompts.count >= Bootstrap.minimumUnits {
            var rng = Bootstrap.makeGenerator(settings, Bootstrap.stream(["composite"] + salt + u.prompts))
            let strata = u.strata
            var indices: [Int] = []
            for _ in 0..<Bootstrap.resamples(settings) {
                resample(strata, &rng, into: &indices)
                for (s, v) in scores(u, indices).enumerated() { if let v { draws[s].append(v) } }
            }
        }
        var out: [String: Aggregate] = [:]
        for (s, name) in names.enumerated() {
            guard let p = point[s] else { continue }
            out[name] = Aggregate(n: clips, prompts: u.prompts.count, mean: p, median: .nan,
                                  interval: Bootstrap.percentile(draws[s], level: settings.level), undefined: 0, rank: nil)
        }
        return out
    }

    /// Model → score → rank: 1 + the models significantly better on shared prompts; no rank for a model
    /// with too few prompts or too few shared with another that has enough.
    func ranks(_ models: [(name: String, units: Units)], salt: [String]) -> [String: [String: Int]] {
        let rankable = models.map { $0.units.prompts.count >= Bootstrap.minimumUnits }
        var better = [[Int]](repeating: [Int](repeating: 0, count: names.count), count: models.count)
        var placed = rankable
        for a in models.indices where rankable[a] {
            for b in models.indices where b > a && rankable[b] {
                let shared = Set(models[a].units.prompts).intersection(models[b].units.prompts).sorted()
                guard shared.count >= Bootstrap.minimumUnits else {
                    placed[a] = false
                    placed[b] = false
                    continue
                }
                let ua = models[a].units.subset(shared), ub = models[b].units.subset(shared)
                let pa = scores(ua, Array(shared.indices)), pb = scores(ub, Array(shared.indices))
                // Strata from both models' terms, so each resample keeps the terms of both point estimates.
                let joint = Units(prompts: shared, values: ua.values + ub.values).strata
                var rng = Bootstrap.makeGenerator(settings, Bootstrap.stream(["composite-pair"] + salt + shared))
                var diffs = [[Double]](repeating: [], count: names.count)
                var indices: [Int] = []
                for _ in 0..<Bootstrap.resamples(settings) {
                    resample(joint, &rng, into: &indices)
                    let sa = scores(ua, indices), sb = scores(ub, indices)
                    for s in names.indices { if let x = sa[s], let y = sb[s] { diffs[s].append(x - y) } }
                }
                for s in names.indices where pa[s] != nil && pb[s] != nil {
                    guard let i = Bootstrap.percentile(diffs[s], level: settings.level), i.excludesZero else { continue }
                    better[i.low > 0 ? b : a][s] += 1
                }
            }
        }
        var out: [String: [String: Int]] = [:]
        for m in models.indices where placed[m] {
            out[models[m].name] = Dictionary(uniqueKeysWithValues: names.indices.map { (names[$0], 1 + better[m][$0]) })
        }
        return out
    }
}
