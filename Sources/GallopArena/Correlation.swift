/// Rank correlations with ties. Spearman's ρ: Pearson's correlation of the average ranks. Kendall's
/// τ-b: (concordant − discordant) / √((n₀ − n₁)(n₀ − n₂)), n₀ = n(n−1)/2 and n₁, n₂ the pairs tied in
/// x and in y (Kendall 1945). Both nil with fewer than 3 pairs or when x or y is constant.
public enum Correlation {
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count)
        guard x.count >= 3 else { return nil }
        return pearson(ranks(x), ranks(y))
    }

    public static func kendall(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count)
        let n = x.count
        guard n >= 3 else { return nil }
        var s = 0.0, tiedX = 0.0, tiedY = 0.0
        for i in 0..<n {
            for j in (i + 1)..<n {
                let dx = x[i] - x[j], dy = y[i] - y[j]
                if dx == 0 { tiedX += 1 }
                if dy == 0 { tiedY += 1 }
                if dx != 0 && dy != 0 { s += (dx > 0) == (dy > 0) ? 1 : -1 }
            }
        }
        let n0 = Double(n * (n - 1) / 2)
        let d = ((n0 - tiedX) * (n0 - tiedY)).squareRoot()
        return d > 0 ? s / d : nil
    }

    /// 1-based ranks, ties given their average rank.
    public static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var r = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = average }
            i = j + 1
        }
        return r
    }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices {
            sxy += (x[i] - mx) * (y[i] - my)
            sxx += (x[i] - mx) * (x[i] - mx)
            syy += (y[i] - my) * (y[i] - my)
        }
        guard sxx > 0 && syy > 0 else { return nil }
        return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
    }
}
