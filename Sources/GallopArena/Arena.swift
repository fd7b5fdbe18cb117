import Foundation
import GallopCore
import GallopResults

/// One model's line of an arena board.
public struct ArenaModel: Sendable, Equatable {
    public var name: String
    /// Bradley–Terry rating (400·log10 odds, board mean 1000) from every vote of the board.
    public var rating: Double
    /// The reported interval: at each end the wider of ``bootstrapInterval`` and rating ± z·``standardError``
    /// (see ``Arena``), so never narrower than the votes and the prior can tell.
    public var interval: Interval
    /// Percentile interval of the ratings refitted on resamples of the votes.
    public var bootstrapInterval: Interval
    /// Standard error of the rating (rating points) from the curvature of the fit with its prior.
    public var standardError: Double
    /// 1 + the number of ranked models of its group whose lower bound is above this model's upper bound;
    /// nil for a model below the board's vote minimum (listed apart, not ranked).
    public var rank: Int?
    public var votes: Int
    public var wins: Int
    public var losses: Int
    /// Ties other than both-bad ones.
    public var ties: Int
    /// Ties where the voter found both clips bad (`both_bad`): scored as ties, counted apart.
    public var bothBad: Int

    /// Whether the model has the board's vote minimum, and so a rank.
    public var ranked: Bool { rank != nil }
    /// True when the model never lost (nor tied), or never won (nor tied): its rating is set by the prior.
    public var unbounded: Bool { wins + ties + bothBad == 0 || losses + ties + bothBad == 0 }
}

/// The ratings of one category's votes, or of every vote.
public struct ArenaBoard: Sendable {
    /// The category; nil on a board of every vote (the only board of a file with no `category` column,
    /// the pooled board of one with it).
    public var category: String?
    /// Whether this is the board of every category together (a file with a `category` column).
    public var pooled = false
    /// Ranked models, best rating first (ties by name), then those below the vote minimum, the same way.
    public var models: [ArenaModel]
    public var votes: Int
    /// Ties other than both-bad ones, and both-bad ties.
    public var ties: Int
    public var bothBad: Int
    public var settings: BootstrapSettings
    /// Votes a model needs to be ranked.
    public var minimumVotes: Int
    /// Models never compared with each other, directly or through others: one group on a connected board.
    public var groups: [[String]]
    /// What the reader must know: unbounded ratings, separate groups.
    public var notes: [String]

    public func model(_ name: String) -> ArenaModel? { models.first { $0.name == name } }
    public var ranked: [ArenaModel] { models.filter(\.ranked) }
    /// Models below the vote minimum: listed apart, not ranked.
    public var provisional: [ArenaModel] { models.filter { !$0.ranked } }
    /// "Arena: CATEGORY", "Arena (all categories)" for the pooled board, "Arena" without categories: the
    /// pooled title never has the colon, so no category value can take it.
    public var title: String { category.map { "Arena: \($0)" } ?? (pooled ? "Arena (all categories)" : "Arena") }
}

/// Bradley–Terry boards from votes, with seeded bootstrap intervals over votes (FastChat's arena
/// method: resample the votes with replacement, refit, take the 2.5% and 97.5% quantiles, linearly
/// interpolated) widened where the fit's own curvature says the votes tell less, and ranks as arena
/// leaderboards give them: rank = 1 + the number of models whose lower bound is above this model's upper
/// bound, counted within the model's group (models of separate groups are never compared). Each category
/// is its own board (a model can lead the silent board and trail the with-audio one), and a file with
/// categories also gets the board of all its votes together, first, as a leaderboard's overall view.
///
/// Intervals. The vote bootstrap treats the votes as the population: a model with one vote, a tie
/// against a model near 1000, is refitted on that tie or on nothing, and lands near 1000 every time, a
/// zero-width interval that says nothing was learnt as if everything was. So the interval is, at each end,
/// the wider of the bootstrap percentile and rating ± z·SE, with SE from the inverse of the penalised
/// likelihood's curvature (the votes' Fisher information plus the prior's, ``BradleyTerry/standardErrors(_:prior:start:relativeTo:)``):
/// about ±480 points for one vote, ±95 at 50, and within a few points of the bootstrap's on a board of
/// hundreds of votes a model, where the two agree (coverage by simulation: ArenaTests). Both spreads are
/// taken relative to the mean of the ranked models (the ratings themselves keep the mean of all at 1000):
/// otherwise one barely voted model, free to move, moves the board mean and every interval with it.
///
/// Vote minimum. A model with fewer than `minimumVotes` votes is still fitted (its votes inform the
/// others, and the ratings stay those of every vote, as `arena-rank` computes them) but is listed apart
/// with no rank, as public arenas hold back a model until it has enough votes.
public enum Arena {
    /// The default vote minimum: at 50 votes against models of its strength a model's 95% interval is
    /// about ±95 rating points (a 63% preference), enough to separate clearly better from clearly worse;
    /// below it a rank mostly reads noise. Gallop's boards are small (a handful of models and a few hundred
    /// votes), so 50 keeps every model of such a board ranked while holding back one that was barely voted on.
    public static let defaultMinimumVotes = 50

    /// One board of every vote without a `category` column; with it, the board of all votes together
    /// (``ArenaBoard/pooled``; its resamples are drawn as a file without categories would draw them) and
    /// then every category's, in order of first appearance in the file. Every vote has a category there
    /// (``VotesFile`` refuses an empty one), so the categories' votes add up to the pooled board's.
    /// Category values are compared as Swift strings: exactly, case and spaces inside counting, Unicode
    /// canonical equivalents (a composed and a decomposed é) as one.
    public static func boards(_ file: VotesFile, settings: BootstrapSettings = BootstrapSettings(),
                              minimumVotes: Int = defaultMinimumVotes) -> [ArenaBoard] {
        let categories = file.categories.map { category in
            board(file.votes.filter { $0.category == category }, category: category, settings: settings, minimumVotes: minimumVotes)
        }
        guard file.hasCategory else { return categories }
        var all = board(file.votes, category: nil, settings: settings, minimumVotes: minimumVotes)
        all.pooled = true
        return [all] + categories
    }

    public static func board(_ votes: [Vote], category: String?, settings: BootstrapSettings = BootstrapSettings(),
                             minimumVotes: Int = defaultMinimumVotes) -> ArenaBoard {
        build(votes, category: category, settings: settings, minimumVotes: minimumVotes).board
    }

    /// The board, its indexed votes, the full fit's strengths and, through `each`, every resample: each
    /// vote's multiplicity and the strengths refitted on it (what `gallop agree` resamples with).
    static func build(_ votes: [Vote], category: String?, settings: BootstrapSettings, minimumVotes: Int = defaultMinimumVotes,
                      each: (([Int32], [Double]) -> Void)? = nil) -> (board: ArenaBoard, data: BoardData, theta: [Double]) {
        let data = BoardData(votes)
        let pairs = data.pairs()
        let theta = BradleyTerry.fit(pairs)
        // Spreads are measured against the mean of the ranked models of the model's group (all of the group
        // when none is ranked): a barely voted model moves the board mean a lot and would otherwise blur
        // every other model's interval with it, and separate groups are placed by the prior alone.
        let groups = data.groups()
        var votesOf = [Int](repeating: 0, count: data.names.count)
        for v in votes { votesOf[data.index[v.modelA]!] += 1; votesOf[data.index[v.modelB]!] += 1 }
        let members = groups.map { $0.map { data.index[$0]! } }
        let references = members.map { g in g.filter { votesOf[$0] >= minimumVotes }.isEmpty ? g : g.filter { votesOf[$0] >= minimumVotes } }
        var referenceOf = [[Int]](repeating: [], count: data.names.count)
        for (g, r) in zip(members, references) { for i in g { referenceOf[i] = r } }
        func mean(_ t: [Double], _ r: [Int]) -> Double { r.reduce(0) { $0 + t[$1] } / Double(r.count) }
        let errors = BradleyTerry.standardErrors(pairs, relativeTo: referenceOf)
        let draws = data.bootstrap(category: category, settings: settings, start: theta, each: each).map { d in
            var shifted = d
            for (g, r) in zip(members, references) {
                let shift = mean(theta, r) - mean(d, r)
                for i in g { shifted[i] += shift }
            }
            return shifted
        }
        let level = settings.level
        let z = BradleyTerry.normalQuantile(1 - (1 - level) / 2)
        var models: [ArenaModel] = []
        for (i, name) in data.names.enumerated() {
            let column = draws.map { $0[i] }.sorted()
            let low = quantile(column, (1 - level) / 2), high = quantile(column, 1 - (1 - level) / 2)
            let bootstrap = Interval(low: BradleyTerry.rating(low), high: BradleyTerry.rating(high))
            let interval = Interval(low: BradleyTerry.rating(min(low, theta[i] - z * errors[i])),
                                    high: BradleyTerry.rating(max(high, theta[i] + z * errors[i])))
            var wins = 0, losses = 0, ties = 0, bothBad = 0
            for v in votes where v.modelA == name || v.modelB == name {
                switch v.winner {
                case .tie: if v.bothBad { bothBad += 1 } else { ties += 1 }
                case .modelA: if v.modelA == name { wins += 1 } else { losses += 1 }
                case .modelB: if v.modelB == name { wins += 1 } else { losses += 1 }
                }
            }
            let count = wins + losses + ties + bothBad
            models.append(ArenaModel(name: name, rating: BradleyTerry.rating(theta[i]), interval: interval, bootstrapInterval: bootstrap,
                                     standardError: errors[i] * BradleyTerry.scale / log(BradleyTerry.base),
                                     rank: count >= minimumVotes ? 0 : nil,
                                     votes: count, wins: wins, losses: losses, ties: ties, bothBad: bothBad))
        }
        let groupOf = Dictionary(uniqueKeysWithValues: groups.enumerated().flatMap { g, members in members.map { ($0, g) } })
        for i in models.indices where models[i].ranked {
            models[i].rank = 1 + models.filter { $0.ranked && groupOf[$0.name] == groupOf[models[i].name] && $0.interval.low > models[i].interval.high }.count
        }
        models.sort { a, b in
            if a.ranked != b.ranked { return a.ranked }
            return a.rating > b.rating || (a.rating == b.rating && a.name < b.name)
        }

        var notes: [String] = []
        if groups.count > 1 {
            notes.append("the models fall into \(groups.count) groups never compared with each other, directly or through others ("
                + groups.map { "{\($0.joined(separator: ", "))}" }.joined(separator: "; ")
                + "): each group is centred by the prior alone, so ratings of different groups cannot be compared and ranks count within a group")
        }
        let unbounded = models.filter(\.unbounded)
        for m in unbounded {
            let never = m.wins + m.ties + m.bothBad == 0
            notes.append("`\(m.name)` \(never ? "never won nor tied" : "never lost nor tied") in \(m.votes) vote\(m.votes == 1 ? "" : "s"): its rating has no finite maximum and is set by the prior (one virtual tie against a model rated 1000); read it as \(never ? "at most" : "at least") this")
        }
        for (upper, lower) in data.dominations() where !(upper.count == 1 && unbounded.contains { $0.name == upper[0] })
            && !(lower.count == 1 && unbounded.contains { $0.name == lower[0] }) {
            notes.append("{\(upper.joined(separator: ", "))} never lost nor tied against {\(lower.joined(separator: ", "))}: the distance between the two sets has no finite maximum and is set by the prior")
        }
        let allTies = votes.filter { $0.winner == .tie }, bothBad = allTies.filter(\.bothBad).count
        let board = ArenaBoard(category: category, models: models, votes: votes.count, ties: allTies.count - bothBad, bothBad: bothBad,
                               settings: settings, minimumVotes: minimumVotes, groups: groups, notes: notes)
        return (board, data, theta)
    }

    /// Quantile of sorted values, linearly interpolated between order statistics (as pandas' default).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let h = q * Double(sorted.count - 1)
        let lo = Int(h.rounded(.down)), hi = min(sorted.count - 1, lo + 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}

/// A board's votes indexed for fitting and resampling: models sorted by name, each vote as a pair
/// index and model A's score.
struct BoardData {
    let names: [String]
    let index: [String: Int]
    /// Pair (first < second) of each vote, and the first model's score in it.
    let votePair: [Int]
    let voteScore: [Double]
    let first: [Int]
    let second: [Int]

    init(_ votes: [Vote]) {
        names = Set(votes.flatMap { [$0.modelA, $0.modelB] }).sorted()
        index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        var pairIndex: [Int: Int] = [:], first: [Int] = [], second: [Int] = []
        var votePair: [Int] = [], voteScore: [Double] = []
        let m = names.count
        for v in votes {
            let a = index[v.modelA]!, b = index[v.modelB]!
            let (i, j) = a < b ? (a, b) : (b, a)
            let key = i * m + j
            let k: Int
            if let known = pairIndex[key] { k = known } else {
                k = first.count
                pairIndex[key] = k
                first.append(i)
                second.append(j)
            }
            votePair.append(k)
            voteScore.append(a < b ? v.scoreA : 1 - v.scoreA)
        }
        self.votePair = votePair
        self.voteScore = voteScore
        self.first = first
        self.second = second
    }

    /// Pair totals of every vote, or of a resample given as each vote's multiplicity.
    func pairs(_ multiplicity: [Int32]? = nil) -> BradleyTerry.Pairs {
        var score = [Double](repeating: 0, count: first.count), count = score, squares = score
        for v in votePair.indices {
            let w = multiplicity.map { Double($0[v]) } ?? 1
            score[votePair[v]] += w * voteScore[v]
            squares[votePair[v]] += w * voteScore[v] * voteScore[v]
            count[votePair[v]] += w
        }
        return BradleyTerry.Pairs(models: names.count, first: first, second: second, score: score, count: count, squares: squares)
    }

    /// The generator of a board's vote resamples: the same for `gallop arena` and `gallop agree`.
    static func generator(category: String?, settings: BootstrapSettings) -> SplitMix64 {
        SplitMix64(seed: mix(settings.seed ^ mix(Bootstrap.stream(["arena", category ?? ""]))))
    }

    /// Each vote's multiplicity in one resample of the votes with replacement.
    static func resample(_ votes: Int, _ g: inout SplitMix64, into counts: inout [Int32]) {
        for i in counts.indices { counts[i] = 0 }
        let n = UInt64(votes)
        for _ in 0..<votes { counts[Int(truncatingIfNeeded: g.next().multipliedFullWidth(by: n).high)] += 1 }
    }

    /// Strengths refitted on `settings.resamples` resamples of the votes.
    func bootstrap(category: String?, settings: BootstrapSettings, start: [Double], each: (([Int32], [Double]) -> Void)? = nil) -> [[Double]] {
        var g = BoardData.generator(category: category, settings: settings)
        var counts = [Int32](repeating: 0, count: votePair.count)
        var draws: [[Double]] = []
        draws.reserveCapacity(settings.resamples)
        for _ in 0..<max(1, settings.resamples) {
            BoardData.resample(votePair.count, &g, into: &counts)
            let theta = BradleyTerry.fit(pairs(counts), start: start)
            each?(counts, theta)
            draws.append(theta)
        }
        return draws
    }

    /// Models connected by votes, each group sorted, groups by their first name.
    func groups() -> [[String]] {
        var parent = Array(names.indices)
        func root(_ x: Int) -> Int { var x = x; while parent[x] != x { x = parent[x] }; return x }
        for k in first.indices { parent[root(first[k])] = root(second[k]) }
        return Dictionary(grouping: names.indices, by: root).values.map { $0.map { names[$0] } }.sorted { $0[0] < $1[0] }
    }

    /// Within a connected group, sets of models whose every vote against another set of the group went
    /// their way (no loss, no tie): the win graph (i → j when i scored against j) is not strongly connected.
    /// Returns (upper, lower) for each strongly connected component that nothing outside it reaches but
    /// that reaches others: the top sets, and what lies below them.
    func dominations() -> [(upper: [String], lower: [String])] {
        let m = names.count
        var scored = [Bool](repeating: false, count: m * m)
        for v in votePair.indices {
            let k = votePair[v], i = first[k], j = second[k]
            if voteScore[v] > 0 { scored[i * m + j] = true }
            if voteScore[v] < 1 { scored[j * m + i] = true }
        }
        // reach[i][j]: j reachable from i (transitive closure; boards are small).
        var reach = scored
        for i in 0..<m { reach[i * m + i] = true }
        for k in 0..<m { for i in 0..<m where reach[i * m + k] { for j in 0..<m where reach[k * m + j] { reach[i * m + j] = true } } }
        var out: [(upper: [String], lower: [String])] = []
        var seen = Set<Int>()
        for i in 0..<m where !seen.contains(i) {
            let component = (0..<m).filter { reach[i * m + $0] && reach[$0 * m + i] }
            seen.formUnion(component)
            // A top component: no model outside it scored against a model in it... i.e. nothing outside reaches it.
            let reachedFromOutside = (0..<m).contains { o in !component.contains(o) && reach[o * m + i] }
            let below = (0..<m).filter { !component.contains($0) && reach[i * m + $0] }
            if !reachedFromOutside && !below.isEmpty {
                out.append((component.map { names[$0] }, below.map { names[$0] }))
            }
        }
        return out
    }
}

/// SplitMix64's finaliser: nearby seeds and streams give unrelated sequences.
func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
