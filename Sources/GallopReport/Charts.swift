import Foundation
import GallopCore
import GallopResults

/// Hand-written inline SVG for `report.html`: compact (coordinates to 0.1 px,
/// dots as one path of zero-length round-capped strokes), every text escaped,
/// tooltips as `<title>`, no external reference of any kind.
enum Charts {
    /// Okabe–Ito colours (distinguishable with colour-vision deficiency), cycled past eight models.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C6D31", "#6A3D9A"]

    static func color(_ index: Int) -> String { palette[index % palette.count] }

    /// Dots drawn per model in a distribution: more are thinned to evenly spaced quantiles.
    static let maxDots = 400

    struct Row {
        var model: String
        var color: String
    }

    // MARK: Means with intervals.

    /// One panel: per model, the mean as a dot and its interval as whiskers, with the rank at the right.
    /// `unitRange` fixes the axis to 0–1 (group scores).
    static func intervals(title: String, rows: [(Row, Aggregate?)], unitRange: Bool) -> String {
        let left = 104.0, right = 276.0, width = 310.0, top = 24.0, step = 20.0
        let height = top + step * Double(rows.count) + 24
        var values: [Double] = []
        for (_, a) in rows { if let a { values += [a.mean] + (a.interval.map { [$0.low, $0.high] } ?? []) } }
        let domain = unitRange ? (0.0, 1.0) : paddedDomain(values)
        let scale = Scale(domain: domain, range: (left, right))
        var svg = open(width: width, height: height, label: title)
        svg += "<text x=\"6\" y=\"15\" font-weight=\"600\">\(esc(title))</text>"
        svg += axis(scale, y0: top - 4, y1: height - 22)
        for (i, (row, a)) in rows.enumerated() {
            let y = top + step * (Double(i) + 0.5)
            svg += "<g><title>\(esc(row.model)): \(a.map { esc(Scorecard.format($0)) + " over \($0.prompts) prompt\($0.prompts == 1 ? "" : "s")" } ?? "no value")</title>"
            svg += "<text x=\"\(n(left - 8))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(esc(short(row.model)))</text>"
            if let a {
                if let ci = a.interval {
                    let x0 = scale(ci.low), x1 = scale(ci.high)
                    svg += "<path d=\"M\(n(x0)) \(n(y))H\(n(x1))M\(n(x0)) \(n(y - 5))v10M\(n(x1)) \(n(y - 5))v10\" stroke=\"\(row.color)\" stroke-width=\"2\"/>"
                }
                svg += "<circle cx=\"\(n(scale(a.mean)))\" cy=\"\(n(y))\" r=\"4.5\" fill=\"\(row.color)\"/>"
                if let rank = a.rank {
                    svg += "<text x=\"\(n(right + 10))\" y=\"\(n(y + 4))\"\(rank == 1 ? " font-weight=\"700\"" : "")>#\(rank)</text>"
                }
            } else {
                svg += "<text x=\"\(n(left))\" y=\"\(n(y + 4))\" class=\"ax\">no value</text>"
            }
            svg += "</g>"
        }
        return svg + "</svg>"
    }

    // MARK: Distributions over clips.

    /// One panel: per model, the clips' values as dots over a box (quartiles, median, range).
    static func distribution(title: String, rows: [(Row, [Double])]) -> String {
        let left = 104.0, right = 296.0, width = 310.0, top = 24.0, step = 26.0
        let height = top + step * Double(rows.count) + 24
        let scale = Scale(domain: paddedDomain(rows.flatMap(\.1)), range: (left, right))
        var svg = open(width: width, height: height, label: title)
        svg += "<text x=\"6\" y=\"15\" font-weight=\"600\">\(esc(title))</text>"
        svg += axis(scale, y0: top - 4, y1: height - 22)
        for (i, (row, raw)) in rows.enumerated() {
            let y = top + step * (Double(i) + 0.5)
            let xs = raw.sorted()
            svg += "<g><title>\(esc(row.model)): "
            guard let lo = xs.first, let hi = xs.last else {
                svg += "no value</title><text x=\"\(n(left - 8))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(esc(short(row.model)))</text></g>"
                continue
            }
            let q1 = quantile(xs, 0.25), med = quantile(xs, 0.5), q3 = quantile(xs, 0.75)
            svg += "\(xs.count) clip\(xs.count == 1 ? "" : "s"); median \(fmt(med)), quartiles \(fmt(q1))–\(fmt(q3)), range \(fmt(lo))–\(fmt(hi))"
            if xs.count > maxDots { svg += "; \(maxDots) evenly spaced quantiles drawn" }
            svg += "</title><text x=\"\(n(left - 8))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(esc(short(row.model)))</text>"
            svg += "<path d=\"M\(n(scale(lo))) \(n(y))H\(n(scale(hi)))\" stroke=\"\(row.color)\" stroke-opacity=\".6\"/>"
            let bx = scale(q1), bw = max(1, scale(q3) - bx)
            svg += "<rect x=\"\(n(bx))\" y=\"\(n(y - 8))\" width=\"\(n(bw))\" height=\"16\" fill=\"\(row.color)\" fill-opacity=\".15\" stroke=\"\(row.color)\"/>"
            svg += "<path d=\"M\(n(scale(med))) \(n(y - 8))v16\" stroke=\"\(row.color)\" stroke-width=\"2.5\"/>"
            // Dots jittered vertically by a golden-ratio sequence: deterministic, evenly spread.
            let shown = thin(xs, to: maxDots)
            var d = ""
            for (k, x) in shown.enumerated() {
                let jitter = ((Double(k) * 0.618034).truncatingRemainder(dividingBy: 1) - 0.5) * 12
                d += "M\(n(scale(x))) \(n(y + jitter))h0"
            }
            svg += "<path d=\"\(d)\" stroke=\"\(row.color)\" stroke-opacity=\".7\" stroke-width=\"3.4\" stroke-linecap=\"round\"/></g>"
        }
        return svg + "</svg>"
    }

    // MARK: A per-frame curve.

    /// The series of one clip against time, nil entries as gaps, `marks` as red rules and dots.
    static func curve(title: String, series: [Double?], times: [Double], marks: [Int]) -> String {
        let width = 320.0, height = 92.0, left = 50.0, right = 312.0, top = 8.0, bottom = 70.0
        let usable = times.count >= series.count && series.count > 1
        let x: (Int) -> Double = { usable ? times[$0] : Double($0) }
        let span = series.isEmpty ? (0.0, 1.0) : (x(0), x(max(0, series.count - 1)))
        let sx = Scale(domain: span.0 < span.1 ? span : (span.0, span.0 + 1), range: (left, right))
        let sy = Scale(domain: paddedDomain(series.compactMap { $0 }), range: (bottom, top))
        var svg = open(width: width, height: height, label: title)
        svg += "<path class=\"grid\" d=\"M\(n(left)) \(n(top))V\(n(bottom))H\(n(right))\" fill=\"none\"/>"
        svg += "<text class=\"ax\" x=\"\(n(left - 4))\" y=\"\(n(top + 8))\" text-anchor=\"end\">\(esc(brief(sy.domain.1)))</text>"
        svg += "<text class=\"ax\" x=\"\(n(left - 4))\" y=\"\(n(bottom))\" text-anchor=\"end\">\(esc(brief(sy.domain.0)))</text>"
        svg += "<text class=\"ax\" x=\"\(n(left))\" y=\"\(n(bottom + 13))\">\(usable ? fmt(span.0) + " s" : "frame 0")</text>"
        svg += "<text class=\"ax\" x=\"\(n(right))\" y=\"\(n(bottom + 13))\" text-anchor=\"end\">\(usable ? fmt(span.1) + " s" : "frame \(series.count - 1)")</text>"
        svg += "<text class=\"ax\" x=\"\(n((left + right) / 2))\" y=\"\(n(bottom + 13))\" text-anchor=\"middle\">\(esc(title))</text>"
        // Long series: each pixel column keeps its lowest and highest value.
        var d = ""
        var pen = false
        let columns = Int(right - left)
        if series.count > 2 * columns {
            var bucket: (lo: Double, hi: Double)?
            var column = -1
            func flush() {
                guard let b = bucket else { pen = false; return }
                let px = left + Double(column) + 0.5
                d += (pen ? "L" : "M") + "\(n(px)) \(n(sy(b.lo)))L\(n(px)) \(n(sy(b.hi)))"
                pen = true
            }
            for (i, v) in series.enumerated() {
                let c = min(columns - 1, Int(sx(x(i)) - left))
                if c != column { if column >= 0 { flush() }; column = c; bucket = nil }
                if let v { bucket = (min(bucket?.lo ?? v, v), max(bucket?.hi ?? v, v)) } else { flush(); bucket = nil; pen = false }
            }
            flush()
        } else {
            for (i, v) in series.enumerated() {
                guard let v else { pen = false; continue }
                d += (pen ? "L" : "M") + "\(n(sx(x(i)))) \(n(sy(v)))"
                pen = true
            }
        }
        svg += "<path d=\"\(d)\" fill=\"none\" stroke=\"#444\" stroke-width=\"1.3\" stroke-linejoin=\"round\"/>"
        for m in marks where series.indices.contains(m) {
            let px = sx(x(m))
            svg += "<g><title>frame \(m)\(usable ? " at " + fmt(times[m]) + " s" : ""): \(series[m].map(fmt) ?? "undefined")</title>"
            svg += "<path d=\"M\(n(px)) \(n(top))V\(n(bottom))\" stroke=\"#c62828\" stroke-opacity=\".55\"/>"
            if let v = series[m] { svg += "<circle cx=\"\(n(px))\" cy=\"\(n(sy(v)))\" r=\"3\" fill=\"#c62828\"/>" }
            svg += "</g>"
        }
        return svg + "</svg>"
    }

    // MARK: Sound against picture.

    /// A clip's sound onset envelope (blue) and picture onset strength (grey) per frame on one time axis, each scaled
    /// to its own peak (their units differ; the shapes are what align). The offset is drawn from the picture's strongest
    /// event to where the sound would hear it: a dashed rule at the event, a solid one `offsetMS` later, labelled.
    static func sync(sound: [Double?], motion: [Double], times: [Double], offsetMS: Double) -> String {
        let width = 480.0, height = 132.0, left = 12.0, right = 468.0, top = 22.0, bottom = 104.0
        guard times.count > 1 else { return "" }
        let sx = Scale(domain: (times[0], max(times[times.count - 1], times[0] + 1e-3)), range: (left, right))
        func path(_ values: [Double?]) -> String {
            let peak = values.compactMap { $0 }.max() ?? 0
            guard peak > 0 else { return "" }
            var d = "", pen = false
            for (i, v) in values.enumerated() where i < times.count {
                guard let v else { pen = false; continue }
                d += (pen ? "L" : "M") + "\(n(sx(times[i]))) \(n(bottom - (bottom - top) * max(0, v) / peak))"
                pen = true
            }
            return d
        }
        var svg = open(width: width, height: height, label: "sound onset envelope and picture onset strength")
        svg += "<path class=\"grid\" d=\"M\(n(left)) \(n(bottom))H\(n(right))\" fill=\"none\"/>"
        svg += "<text class=\"ax\" x=\"\(n(left))\" y=\"\(n(bottom + 13))\">\(fmt(times[0])) s</text>"
        svg += "<text class=\"ax\" x=\"\(n(right))\" y=\"\(n(bottom + 13))\" text-anchor=\"end\">\(fmt(times[times.count - 1])) s</text>"
        svg += "<text class=\"ax\" x=\"\(n(left))\" y=\"\(n(bottom + 25))\"><tspan fill=\"#1565c0\">━ sound onsets</tspan>"
        svg += "<tspan fill=\"#555\" dx=\"10\">━ picture onsets</tspan></text>"
        if !motion.isEmpty {
            svg += "<path d=\"\(path(motion.map { $0 }))\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.3\" stroke-linejoin=\"round\"/>"
        }
        svg += "<path d=\"\(path(sound))\" fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.3\" stroke-linejoin=\"round\" stroke-opacity=\".85\"/>"
        // The offset, from the picture's strongest event (or the middle of the clip without a picture curve).
        let event = motion.indices.max { motion[$0] < motion[$1] }.map { times[$0] } ?? (times[0] + times[times.count - 1]) / 2
        let x0 = sx(event), x1 = sx(event + offsetMS / 1000)
        let label = "\(offsetMS > 0 ? "+" : "")\(Scorecard.fixed(offsetMS, 0)) ms"
        svg += "<g><title>sound \(label) against the picture</title>"
        svg += "<path d=\"M\(n(x0)) \(n(top))V\(n(bottom))\" stroke=\"#c62828\" stroke-dasharray=\"3 2\"/>"
        svg += "<path d=\"M\(n(x1)) \(n(top))V\(n(bottom))\" stroke=\"#c62828\"/>"
        svg += "<path d=\"M\(n(x0)) \(n(top - 4))H\(n(x1))\" stroke=\"#c62828\" stroke-width=\"1.5\"/>"
        svg += "<text class=\"ax\" x=\"\(n((x0 + x1) / 2))\" y=\"\(n(top - 8))\" text-anchor=\"middle\" fill=\"#c62828\">offset \(esc(label))</text></g>"
        return svg + "</svg>"
    }

    // MARK: Pieces.

    struct Scale {
        var domain: (Double, Double)
        var range: (Double, Double)
        func callAsFunction(_ v: Double) -> Double {
            let t = domain.1 > domain.0 ? (v - domain.0) / (domain.1 - domain.0) : 0.5
            return range.0 + max(0, min(1, t)) * (range.1 - range.0)
        }
    }

    static func open(width: Double, height: Double, label: String) -> String {
        "<svg viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\" aria-label=\"\(esc(label))\">"
    }

    /// Vertical grid lines at nice ticks, labelled below.
    static func axis(_ scale: Scale, y0: Double, y1: Double) -> String {
        var d = "", labels = ""
        let marks = ticks(scale.domain)
        // As many decimals as the step needs (0.25 → 2, 50 → 0).
        let step = marks.count > 1 ? marks[1] - marks[0] : 1
        var decimals = 0
        while decimals < 8, abs((step * pow10(decimals)).rounded() - step * pow10(decimals)) > 1e-6 * pow10(decimals) { decimals += 1 }
        for t in marks {
            let x = scale(t)
            d += "M\(n(x)) \(n(y0))V\(n(y1))"
            labels += "<text class=\"ax\" x=\"\(n(x))\" y=\"\(n(y1 + 13))\" text-anchor=\"middle\">\(Scorecard.fixed(t, decimals))</text>"
        }
        return "<path class=\"grid\" d=\"\(d)\"/>" + labels
    }

    static func pow10(_ k: Int) -> Double { (0..<k).reduce(1.0) { r, _ in r * 10 } }

    /// About four ticks at 1, 2 or 5 × 10^k inside the domain.
    static func ticks(_ domain: (Double, Double)) -> [Double] {
        let span = domain.1 - domain.0
        guard span > 0, span.isFinite else { return [domain.0] }
        let raw = span / 4
        var power = 1.0
        while power * 10 <= raw { power *= 10 }
        while power > raw { power /= 10 }
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        var out: [Double] = []
        var t = (domain.0 / step).rounded(.up) * step
        while t <= domain.1 + step * 1e-9 && out.count < 12 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    /// The values' range with 6% padding, not below 0 for values that are not (a single value gets a small window).
    static func paddedDomain(_ values: [Double]) -> (Double, Double) {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return (0, 1) }
        // Values that cannot be negative keep a floor at 0.
        let floor = lo >= 0 ? 0 : -Double.infinity
        if hi > lo { let pad = (hi - lo) * 0.06; return (max(floor, lo - pad), hi + pad) }
        let pad = lo == 0 ? 1 : abs(lo) * 0.05
        return (max(floor, lo - pad), hi + pad)
    }

    /// Linear-interpolated quantile of sorted values.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard sorted.count > 1 else { return sorted.first ?? .nan }
        let pos = q * Double(sorted.count - 1)
        let i = Int(pos), f = pos - Double(i)
        return i + 1 < sorted.count ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[i]
    }

    /// At most `count` of sorted values at evenly spaced ranks (first and last kept).
    static func thin(_ sorted: [Double], to count: Int) -> [Double] {
        guard sorted.count > count, count > 1 else { return sorted }
        return (0..<count).map { sorted[Int((Double($0) * Double(sorted.count - 1) / Double(count - 1)).rounded())] }
    }

    /// A number for a label: four significant digits as the scorecard writes them.
    static func fmt(_ v: Double) -> String { Scorecard.fixed(v, Scorecard.decimalsFor(v)) }

    /// Three significant digits, for narrow axis labels.
    static func brief(_ v: Double) -> String { v.isFinite ? String(format: "%.3g", v) : "–" }

    /// A coordinate with one decimal, shortest form.
    static func n(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let tenths = Int((v * 10).rounded())
        let whole = abs(tenths) / 10, frac = abs(tenths) % 10
        return (tenths < 0 ? "-" : "") + String(whole) + (frac == 0 ? "" : "." + String(frac))
    }

    /// A model name cut to fit the label column (the tooltip has it whole).
    static func short(_ name: String) -> String { name.count <= 15 ? name : String(name.prefix(14)) + "…" }

    /// Text and attribute values: & < > " ' escaped.
    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
