import Foundation
import GallopCore
import GallopResults

/// How one metric agrees with the people who voted.
public struct MetricAgreement: Sendable {
    public var name: String
    public var direction: Direction
    /// Models with both a rating and the metric's aggregate.
    public var models: Int
    /// Rank correlations of the metric's aggregates, oriented to its better side (negated when lower
    /// is better; as is for a metric with no better side), with the models' arena ratings.
    public var spearman: Double?
    public var spearmanInterval: Interval?
    public var kendall: Double?
    public var kendallInterval: Interval?
    /// Decisive votes (no tie) whose two clips both have the metric.
    public var clipVotes: Int
    /// Share of those votes where the metric prefers the clip people preferred (equal values count half);
    /// for a metric with no better side, where the clip with the higher value was preferred.
    public var share: Double?
    public var shareInterval: Interval?
    /// False when the metric is a model-level score (a composite) held at its aggregate in the bootstrap.
    public var resamplesPrompts: Bool

    public var ranked: Bool { direction != .none }
}

/// The agreement of every metric with one board.
public struct BoardAgreement: Sendable {
    public var board: ArenaBoard
    /// Models with a rating and results, sorted.
    public var models: [String]
    public var onlyInVotes: [String]
    public var onlyInResults: [String]
    /// Votes that name clips (a prompt), those whose two clips are both in the results, and the ties among those.
    public var clipVotes: Int
    public var matchedClipVotes: Int
    public var tiedClipVotes: Int
    /// Votes naming a clip the results do not have (or whose clip failed), in file order.
    public var unmatched: [Vote]
    /// Metrics with a better side by decreasing Spearman ρ (then clip share, Kendall τ, name); then the others.
    public var metrics: [MetricAgreement]
}

/// `gallop agree`: do the metrics rank models, and clips, as people do?
///
/// Per board (votes category) and per value of the results summary: Spearman's ρ and Kendall's τ-b
/// between the models' aggregates (the scorecard's means, from ``Aggregation/summarize(_:known:suite:settings:)``,
/// never recomputed) and their Bradley–Terry ratings; and, for votes that name their clips (`prompt`,
/// `seed_a`, `seed_b`, matched to rows by model, prompt id and seed), the share of decisive votes where
/// the metric prefers the clip people preferred. Ties of people are left out of the share; equal metric
/// values count half.
///
/// Intervals: percentiles of `settings.resamples` bootstrap rounds. Each round refits the ratings on a
/// resample of the votes (the arena's own resamples) and draws a resample of the prompts: each model's
/// aggregate is recomputed from the summary's per-prompt means over the drawn prompts (composites, which
/// have no per-prompt means, are held at their aggregate), and the clip share is taken over the votes on
/// the drawn prompts (a cluster bootstrap: a clip sits in many votes, so votes are not independent, and
/// the prompt is the unit, as in the scorecard). A draw where a correlation is undefined (a constant side)
/// is left out; with fewer than half the draws defined there is no interval. With fewer than 3 models
/// there is no correlation. The models stay fixed: the intervals say how sure the agreement is for these
/// models, not for others.
public enum Agreement {
    /// One board of every vote without a `category` column; with it, as `gallop arena` rates them
    /// (``Arena/boards(_:settings:minimumVotes:)``), the pooled board of every vote (``ArenaBoard/pooled``; its
    /// resamples drawn as a file without categories would draw them) and then each category's, in order of first
    /// appearance: a metric can follow people on one category and not on another, or only when they are pooled.
    public static func compute(_ votes: VotesFile, summary: ResultsSummary, settings: BootstrapSettings = BootstrapSettings()) -> [BoardAgreement] {
        let categories = votes.categories.map { category in
            board(votes.votes.filter { $0.category == category }, category: category, summary: summary, settings: settings)
        }
        guard votes.hasCategory else { return categories }
        var all = board(votes.votes, category: nil, summary: summary, settings: settings)
        all.board.pooled = true
        return [all] + categories
    }

    /// The agreement tables as markdown (what `gallop agree` prints and writes as agree.md).
    public static func markdown(_ votes: VotesFile, summary: ResultsSummary, settings: BootstrapSettings = BootstrapSettings()) -> String {
        markdown(compute(votes, summary: summary, settings: settings), votesFile: votes.file)
    }

    static func board(_ votes: [Vote], category: String?, summary: ResultsSummary, settings: BootstrapSettings) -> BoardAgreement {
        let resultModels = Set(summary.models.map(\.name))
        let voteModels = Set(votes.flatMap { [$0.modelA, $0.modelB] })
        let common = voteModels.intersection(resultModels).sorted()

        // Clips named by votes, matched to scored rows by model, prompt and seed (the first by path).
        var clips: [String: ScoredClip] = [:]
        for c in summary.clips where c.inSuite && c.row.status == .ok {
            let key = clipKey(c.row.name.model, c.row.name.prompt, c.row.name.seed)
            if clips[key] == nil { clips[key] = c }
        }
        var matched: [(vote: Int, a: ScoredClip, b: ScoredClip)] = []
        var unmatched: [Vote] = [], clipVotes = 0, tied = 0
        for (i, v) in votes.enumerated() {
            guard let prompt = v.prompt else { continue }
            clipVotes += 1
            guard let a = clips[clipKey(v.modelA, prompt, v.seedA)], let b = clips[clipKey(v.modelB, prompt, v.seedB)] else {
                unmatched.append(v)
                continue
            }
            if v.winner == .tie { tied += 1 } else { matched.append((i, a, b)) }
        }

        // Per value: each model's aggregate and per-prompt means, and each matched vote's agreement.
        let prompts = Set(common.flatMap { summary.model($0)!.prompts.keys }).sorted()
        let promptIndex = Dictionary(uniqueKeysWithValues: prompts.enumerated().map { ($1, $0) })
        struct Prepared {
            var value: ValueDescriptor
            var models: [String]
            var aggregates: [Double]
            /// Per model: (prompt index, prompt mean) of the prompts with the value.
            var cells: [[(Int, Double)]]
            /// Per vote of the board: 1 when the metric prefers the winner, 0 the loser, ½ equal; nil not counted.
            var agrees: [Double?]
        }
        var prepared: [Prepared] = []
        for v in summary.values {
            let sign = v.direction == .lower ? -1.0 : 1.0
            var names: [String] = [], aggregates: [Double] = [], cells: [[(Int, Double)]] = []
            for m in common {
                guard let model = summary.model(m), let aggregate = model.all.values[v.name], aggregate.mean.isFinite else { continue }
                names.append(m)
                aggregates.append(sign * aggregate.mean)
                cells.append(model.prompts.compactMap { p, cell in cell.means[v.name].map { (promptIndex[p]!, sign * $0) } }.sorted { $0.0 < $1.0 })
            }
            var agrees = [Double?](repeating: nil, count: votes.count)
            for (i, a, b) in matched {
                if let r = summary.restricted[v.name], !r.admits(a.tags) { continue }
                guard let x = a.value(v.name), let y = b.value(v.name) else { continue }
                let aWon = votes[i].winner == .modelA
                agrees[i] = sign * x == sign * y ? 0.5 : ((sign * x > sign * y) == aWon ? 1 : 0)
            }
            guard !names.isEmpty || agrees.contains(where: { $0 != nil }) else { continue }
            prepared.append(Prepared(value: v, models: names, aggregates: aggregates, cells: cells, agrees: agrees))
        }

        let votePrompt = votes.map { $0.prompt.flatMap { promptIndex[$0] } }
        var rho = [[Double]](repeating: [], count: prepared.count), tau = rho, share = rho
        var promptGenerator = SplitMix64(seed: mix(settings.seed ^ mix(Bootstrap.stream(["agree-prompts", category ?? ""] + prompts))))
        var promptCounts = [Int32](repeating: 0, count: prompts.count)
        let index = BoardData(votes).index
        let built = Arena.build(votes, category: category, settings: settings) { _, theta in
            if !prompts.isEmpty { BoardData.resample(prompts.count, &promptGenerator, into: &promptCounts) }
            for (k, p) in prepared.enumerated() {
                if p.models.count >= 3 {
                    var x = p.aggregates
                    for m in p.models.indices where !p.cells[m].isEmpty {
                        var sum = 0.0, n = 0.0
                        for (j, mean) in p.cells[m] { let c = Double(promptCounts[j]); sum += c * mean; n += c }
                        if n > 0 { x[m] = sum / n }
                    }
                    let y = p.models.map { theta[index[$0]!] }
                    if let r = Correlation.spearman(x, y) { rho[k].append(r) }
                    if let t = Correlation.kendall(x, y) { tau[k].append(t) }
                }
                // Clip shares resample prompts (the votes on a drawn prompt come along): a clip is in many
                // votes, so votes are not independent draws, and the prompt is the unit, as in the scorecard.
                var agreeing = 0.0, counted = 0.0
                for (i, a) in p.agrees.enumerated() {
                    if let a, let j = votePrompt[i] { let c = Double(promptCounts[j]); agreeing += c * a; counted += c }
                }
                if counted > 0 { share[k].append(agreeing / counted) }
            }
        }
        let theta = built.theta, rounds = max(1, settings.resamples)
        func interval(_ draws: [Double]) -> Interval? {
            guard draws.count * 2 >= rounds else { return nil }
            let s = draws.sorted(), alpha = (1 - settings.level) / 2
            return Interval(low: Arena.quantile(s, alpha), high: Arena.quantile(s, 1 - alpha))
        }

        var metrics: [MetricAgreement] = []
        for (k, p) in prepared.enumerated() {
            let y = p.models.map { theta[index[$0]!] }
            let counted = p.agrees.compactMap { $0 }
            metrics.append(MetricAgreement(
                name: p.value.name, direction: p.value.direction, models: p.models.count,
                spearman: p.models.count >= 3 ? Correlation.spearman(p.aggregates, y) : nil, spearmanInterval: interval(rho[k]),
                kendall: p.models.count >= 3 ? Correlation.kendall(p.aggregates, y) : nil, kendallInterval: interval(tau[k]),
                clipVotes: counted.count, share: counted.isEmpty ? nil : counted.reduce(0, +) / Double(counted.count),
                shareInterval: counted.isEmpty ? nil : interval(share[k]), resamplesPrompts: p.cells.contains { !$0.isEmpty }))
        }
        let ranked = metrics.filter(\.ranked).sorted { a, b in
            func key(_ x: Double?) -> Double { x ?? -.infinity }
            if key(a.spearman) != key(b.spearman) { return key(a.spearman) > key(b.spearman) }
            if key(a.share) != key(b.share) { return key(a.share) > key(b.share) }
            if key(a.kendall) != key(b.kendall) { return key(a.kendall) > key(b.kendall) }
            return a.name < b.name
        }
        return BoardAgreement(board: built.board, models: common, onlyInVotes: voteModels.subtracting(resultModels).sorted(),
                              onlyInResults: resultModels.subtracting(voteModels).sorted(), clipVotes: clipVotes,
                              matchedClipVotes: matched.count + tied, tiedClipVotes: tied, unmatched: unmatched,
                              metrics: ranked + metrics.filter { !$0.ranked })
    }

    static func clipKey(_ model: String, _ prompt: String, _ seed: Int?) -> String {
        "\(model)\u{0}\(prompt)\u{0}\(seed.map(String.init) ?? "")"
    }
}
