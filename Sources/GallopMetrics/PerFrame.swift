import GallopCore

/// Collects a per-frame value and reduces it to the clip's mean: the shared
/// tail of every single-frame metric.
struct PerFrameSeries {
    private(set) var series: [Double?] = []
    private(set) var values: [Double] = []

    mutating func append(_ v: Double) {
        series.append(v)
        values.append(v)
    }

    var mean: Double? { Series.mean(values) }

    /// Entry `index` so far (nil when not yet there).
    func value(at index: Int) -> Double? { series.indices.contains(index) ? series[index] : nil }

    func output(_ info: MetricInfo, secondary: [(String, Double?)] = []) -> MetricOutput {
        MetricOutput(values: [(info.name, mean)] + secondary, series: series,
                     warnings: values.isEmpty ? ["\(info.name): no frame to measure"] : [])
    }
}
