import GallopArena
import GallopCore

/// Votes drawn from known Bradley–Terry ratings, with ties.
///
/// A vote between models rated a and b has expected score s = 1 / (1 + 10^((b − a)/400)) for a: a tie
/// with probability q = tieRate · 4s(1 − s) (most often between close models), a win of a with s − q/2,
/// of b with 1 − s − q/2. So a tie scored as half a win keeps E[score] = s, the model the fit assumes.
enum VoteSimulation {
    static func outcome(_ s: Double, tieRate: Double, _ g: inout SplitMix64) -> Vote.Winner {
        let q = tieRate * 4 * s * (1 - s), u = g.uniform()
        if u < s - q / 2 { return .modelA }
        if u < s + q / 2 { return .tie }
        return .modelB
    }

    /// `count` votes between uniformly drawn pairs of distinct models.
    static func votes(_ ratings: [String: Double], count: Int, tieRate: Double, seed: UInt64, category: String? = nil) -> [Vote] {
        var g = SplitMix64(seed: seed)
        let names = ratings.keys.sorted()
        return (0..<count).map { k in
            let i = Int(g.next() % UInt64(names.count))
            var j = Int(g.next() % UInt64(names.count - 1))
            if j >= i { j += 1 }
            let s = BradleyTerry.expectedScore(ratings[names[i]]!, ratings[names[j]]!)
            return Vote(modelA: names[i], modelB: names[j], winner: outcome(s, tieRate: tieRate, &g), category: category, line: k + 2)
        }
    }

    /// `count` votes of `model` (rated `rating`) against opponents drawn uniformly from `opponents`:
    /// a model that joins a board late, with few votes.
    static func newcomer(_ model: String, rating: Double, against opponents: [String: Double], count: Int, tieRate: Double, seed: UInt64) -> [Vote] {
        var g = SplitMix64(seed: seed)
        let names = opponents.keys.sorted()
        return (0..<count).map { _ in
            let other = names[Int(g.next() % UInt64(names.count))]
            let s = BradleyTerry.expectedScore(rating, opponents[other]!)
            return Vote(modelA: model, modelB: other, winner: outcome(s, tieRate: tieRate, &g))
        }
    }

    /// Fixed counts of outcomes between two models.
    static func fixed(_ a: String, _ b: String, aWins: Int, ties: Int, bWins: Int) -> [Vote] {
        Array(repeating: Vote(modelA: a, modelB: b, winner: .modelA), count: aWins)
            + Array(repeating: Vote(modelA: a, modelB: b, winner: .tie), count: ties)
            + Array(repeating: Vote(modelA: b, modelB: a, winner: .modelA), count: bWins)
    }
}
