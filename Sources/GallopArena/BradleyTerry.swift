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
        /// Per pair, the sum of the first model's squared vote scores (1, ¼ for a tie, 0): with `score`
        /// and `count`, the spread of the votes about the fit (``standardErrors(_:prior:start:relativeTo:)``);
        /// nil when unknown (taken as no ties).
        public var squares: [Double]?

        public init(models: Int, first: [Int], second: [Int], score: [Double], count: [Double], squares: [Double]? = nil) {
            self.models = models
            self.first = first
            self.second = second
            self.score = score
            self.count = count
            self.squares = squares
        }
    }

    /// Maximum-likelihood strengths θ (natural log-odds), shifted to mean 0. `start` warm-starts the
    /// iteration (the bootstrap starts from the full fit).
    public static func fit(_ p: Pairs, prior: Double = priorTies, start: [Double]? = nil) -> [Double] {
        let theta = mode(p, prior: prior, start: start)
        guard !theta.isEmpty else { return [] }
        let mean = theta.reduce(0, +) / Double(theta.count)
        return theta.map { $0 - mean }
    }

    /// Standard errors of the strengths (natural log-odds), each relative to the mean strength of the
    /// models `relativeTo[i]` (all models when nil), from the curvature of the penalised log-likelihood at
    /// its maximum: Σ = H⁻¹ with H the negative Hessian, the votes' Fisher information over a dispersion
    /// φ plus the prior's, and Var(θᵢ − mean over R) = Σᵢᵢ − 2/|R| Σⱼ∈R Σᵢⱼ + 1/|R|² Σⱼ,ₖ∈R Σⱼₖ.
    ///
    /// The prior's term, prior·σ(θᵢ)(1 − σ(θᵢ)) ≤ prior/4, is what a model with few votes is left with, so
    /// the error never falls below what its votes and the prior can tell: about 2/√(n + prior) for n
    /// votes against models of its strength (2/√2 ≈ 1.4, some 250 rating points, for one vote).
    ///
    /// φ: a tie scored as half a win varies less than a win or a loss, so the binomial information
    /// q(1 − q) a vote would overstate the noise of a board with many ties. φ is the Pearson ratio
    /// Σ (y − q)² / Σ q(1 − q) over the board's votes (quasi-likelihood), used from
    /// ``dispersionMinimumVotes`` votes on (1 below, or without `squares`), and kept within [0.5, 2]: a
    /// few lucky ties never make an interval narrow, and votes noisier than the model allows widen it.
    public static func standardErrors(_ p: Pairs, prior: Double = priorTies, start: [Double]? = nil, relativeTo reference: [[Int]]? = nil) -> [Double] {
        let m = p.models
        guard m > 0 else { return [] }
        let theta = mode(p, prior: prior, start: start)
        let phi = dispersion(p, theta)
        var hessian = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            let s = sigmoid(theta[i])
            hessian[i * m + i] = prior * s * (1 - s)
        }
        for k in p.first.indices where p.count[k] > 0 {
            let i = p.first[k], j = p.second[k]
            let q = sigmoid(theta[i] - theta[j])
            let w = p.count[k] * q * (1 - q) / phi
            hessian[i * m + i] += w
            hessian[j * m + j] += w
            hessian[i * m + j] -= w
            hessian[j * m + i] -= w
        }
        // Σ column by column; then the centred variances.
        var sigma = [Double](repeating: 0, count: m * m)
        for j in 0..<m {
            var e = [Double](repeating: 0, count: m)
            e[j] = 1
            guard let column = solve(hessian, e, m) else { return [Double](repeating: .infinity, count: m) }
            for i in 0..<m { sigma[i * m + j] = column[i] }
        }
        return (0..<m).map { i in
            let r = reference.flatMap { $0[i].isEmpty ? nil : $0[i] } ?? Array(0..<m), n = Double(r.count)
            var row = 0.0, total = 0.0
            for j in r {
                row += sigma[i * m + j]
                for k in r { total += sigma[j * m + k] }
            }
            return max(0, sigma[i * m + i] - 2 * row / n + total / (n * n)).squareRoot()
        }
    }

    /// Votes a board needs before its dispersion is estimated (below, φ = 1).
    public static let dispersionMinimumVotes = 100.0

    /// The Pearson dispersion φ of the votes about the strengths θ, within [0.5, 2] (see ``standardErrors(_:prior:start:relativeTo:)``).
    static func dispersion(_ p: Pairs, _ theta: [Double]) -> Double {
        guard let squares = p.squares, p.count.reduce(0, +) >= dispersionMinimumVotes else { return 1 }
        var residual = 0.0, binomial = 0.0
        for k in p.first.indices where p.count[k] > 0 {
            let q = sigmoid(theta[p.first[k]] - theta[p.second[k]])
            residual += squares[k] - 2 * q * p.score[k] + q * q * p.count[k]
            binomial += p.count[k] * q * (1 - q)
        }
        guard binomial > 0 else { return 1 }
        return min(2, max(0.5, residual / binomial))
    }

    /// The maximum of the penalised log-likelihood, not shifted.
    static func mode(_ p: Pairs, prior: Double, start: [Double]?) -> [Double] {
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
        return theta
    }

    /// The standard normal quantile Φ⁻¹(q), 0 < q < 1 (Acklam's rational approximation, relative error
    /// below 1.2e-9): the z of an interval's level.
    public static func normalQuantile(_ q: Double) -> Double {
        precondition(q > 0 && q < 1)
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if q < low {
            let r = (-2 * log(q)).squareRoot()
            return (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1)
        }
        if q > 1 - low { return -normalQuantile(1 - q) }
        let u = q - 0.5, r = u * u
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * u
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
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
