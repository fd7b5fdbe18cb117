import Foundation

/// Bradley–Terry ratings by maximum likelihood.
///
/// Model: P(i beats j) = 1 / (1 + 10^((Rⱼ − Rᵢ)/400)), ratings Rᵢ = 1000 + 400·θᵢ/ln 10 with θ the
/// natural log-odds strengths: FastChat's arena convention (`elo_analysis.py`: SCALE 400, BASE 10,
/// INIT_RATING 1000, a tie scored as half a win and half a loss). Ratings are shifted so their mean is
/// 1000 (the likelihood fixes only differences).
///
/// Fit: Newton's method on the concave log-likelihood Σ sᵢⱼ log σ(θᵢ − θⱼ) + (nᵢⱼ − sᵢⱼ) log σ(θⱼ − θᵢ)
/// (sᵢⱼ: i's wins plus half the ties, nᵢⱼ: votes), with step halving, until no strength moves by more
/// than 1e-10.
///
/// A model that never wins or never loses (or a board whose win graph is not strongly connected) has no
/// finite maximum. So every model also plays ``priorTies`` virtual tie(s) against a virtual model at the
/// centre (θ = 0): a prior of about N(0, 4/w) on θ, that is a standard deviation of about 350 rating
/// points at w = 1. With a few hundred votes a model it moves a rating by well under 1% of its distance
/// from 1000; it only decides where a model with no wins (no losses) sits, which the board reports
/// (``ArenaModel/unbounded``) rather than hides.
public enum BradleyTerry {
    public static let scale = 400.0
    public static let base = 10.0
    public static let center = 1000.0
    /// Virtual ties per model against the centre (see above).
    public static let priorTies = 1.0

    /// Rating of a natural log-odds strength.
    public static func rating(_ theta: Double) -> Double { center + scale * theta / log(base) }
    /// Strength of a rating.
    public static func strength(_ rating: Double) -> Double { (rating - center) * log(base) / scale }

    /// Probability that a model rated `a` beats one rated `b` (a tie counting half).
    public static func expectedScore(_ a: Double, _ b: Double) -> Double { 1 / (1 + pow(base, (b - a) / scale)) }

    /// Votes as pair totals: for pair k, models `first[k]` < `second[k]`, `score[k]` the first's wins
    /// plus half the ties, `count[k]` the votes.
    public struct Pairs: Sendable {
        public var models: Int
        public var first: [Int]
        public var second: [Int]
        public var score: [Double]
        public var count: [Double]

        public init(models: Int, first: [Int], second: [Int], score: [Double], count: [Double]) {
            self.models = models
            self.first = first
            self.second = second
            self.score = score
            self.count = count
        }
    }

    /// Maximum-likelihood strengths θ (natural log-odds), shifted to mean 0. `start` warm-starts the
    /// iteration (the bootstrap starts from the full fit).
    public static func fit(_ p: Pairs, prior: Double = priorTies, start: [Double]? = nil) -> [Double] {
        let m = p.models
        guard m > 0 else { return [] }
        var theta = start ?? [Double](repeating: 0, count: m)
        var gradient = [Double](repeating: 0, count: m)
        var hessian = [Double](repeating: 0, count: m * m)
        var current = logLikelihood(p, theta, prior)
        for _ in 0..<200 {
            // Gradient and negative Hessian (positive definite: diagonally dominant with the prior's term).
            for i in 0..<m {
                let s = sigmoid(theta[i])
                gradient[i] = prior * (0.5 - s)
                for j in 0..<m { hessian[i * m + j] = 0 }
                hessian[i * m + i] = prior * s * (1 - s)
            }
            for k in p.first.indices where p.count[k] > 0 {
                let i = p.first[k], j = p.second[k]
                let q = sigmoid(theta[i] - theta[j])
                let g = p.score[k] - p.count[k] * q
                gradient[i] += g
                gradient[j] -= g
                let w = p.count[k] * q * (1 - q)
                hessian[i * m + i] += w
                hessian[j * m + j] += w
                hessian[i * m + j] -= w
                hessian[j * m + i] -= w
            }
            guard let step = solve(hessian, gradient, m) else { break }
            var t = 1.0, next = theta, value = current
            // Step halving: the full Newton step can overshoot where a model has (nearly) no wins.
            while true {
                for i in 0..<m { next[i] = theta[i] + t * step[i] }
                value = logLikelihood(p, next, prior)
                if value >= current - 1e-12 * abs(current) || t < 1e-6 { break }
                t /= 2
            }
            let moved = step.reduce(0) { max($0, abs($1)) } * t
            theta = next
            current = value
            if moved < 1e-10 { break }
        }
        let mean = theta.reduce(0, +) / Double(m)
        return theta.map { $0 - mean }
    }

    static func logLikelihood(_ p: Pairs, _ theta: [Double], _ prior: Double) -> Double {
        var sum = 0.0
        for i in theta.indices { sum += prior * 0.5 * (logSigmoid(theta[i]) + logSigmoid(-theta[i])) }
        for k in p.first.indices where p.count[k] > 0 {
            let d = theta[p.first[k]] - theta[p.second[k]]
            sum += p.score[k] * logSigmoid(d) + (p.count[k] - p.score[k]) * logSigmoid(-d)
        }
        return sum
    }

    @inline(__always) static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }

    /// log σ(x) without overflow.
    @inline(__always) static func logSigmoid(_ x: Double) -> Double {
        x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x))
    }

    /// Solves A x = b for a symmetric positive definite A (Cholesky); nil when A is not.
    static func solve(_ a: [Double], _ b: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard s > 0 else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        var y = b
        for i in 0..<n {
            for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
            y[i] /= l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<n { y[i] -= l[k * n + i] * y[k] }
            y[i] /= l[i * n + i]
        }
        return y
    }
}
