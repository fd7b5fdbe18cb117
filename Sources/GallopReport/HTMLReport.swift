import Foundation
import GallopCore
import GallopResults

/// `report.html`: one self-contained page that works offline. Inline CSS and
/// inline SVG, no script, no external URL of any kind; thumbnails are data URIs.
///
/// It is drawn from the same ``ResultsSummary`` as `scorecard.md` and
/// `summary.json` (nothing is aggregated again): per metric group, each model's
/// mean with its interval as whiskers and its rank; per metric, the clips'
/// values per model (dots over a box of quartiles); per model, the worst
/// moments (``WorstMoments``) as thumbnails at most ``maxThumbnailWidth`` px
/// wide with the clip's path, the time, the value and the per-frame curve of
/// the metric that flagged it. Its size is bounded by the models, not the
/// clips: at most ``WorstMoments/maxCuts`` + 4 moments a model, and at most
/// ``Charts/maxDots`` dots per model and metric.
public enum HTMLReport {
    /// A section supplied by another part of Gallop (for example the agreement
    /// table of `gallop agree` when votes are given), placed before the notes.
    /// `html` is trusted, self-contained markup: no script source, no external URL.
    public struct Section: Sendable {
        public var id: String
        public var title: String
        public var html: String
        public init(id: String, title: String, html: String) {
            self.id = id
            self.title = title
            self.html = html
        }
    }

    public static let maxThumbnailWidth = 320

    public static func make(_ s: ResultsSummary, context: ReportContext, thumbnails: (any ThumbnailSource)?,
                            sections: [Section] = []) -> String {
        let colors = Dictionary(uniqueKeysWithValues: s.models.enumerated().map { ($0.element.name, Charts.color($0.offset)) })
        let ordered = s.models.sorted {
            let a = $0.all.values[Aggregation.overall]?.rank ?? Int.max, b = $1.all.values[Aggregation.overall]?.rank ?? Int.max
            return a != b ? a < b : $0.name < $1.name
        }
        let rows = ordered.map { Charts.Row(model: $0.name, color: colors[$0.name]!) }
        let moments = WorstMoments.find(s)
        let images = fetch(moments, summary: s, source: thumbnails)

        var out = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        out += "<title>\(esc(context.title.replacingOccurrences(of: "scorecard", with: "report")))</title><style>\(css)</style></head><body>\n"
        out += header(s, context: context, sections: sections)
        out += "<main>\n"
        out += overview(s, ordered: ordered, colors: colors)
        out += scores(s, ordered: ordered, rows: rows)
        out += distributions(s, rows: rows)
        out += worst(moments, summary: s, images: images, colors: colors, source: thumbnails)
        for section in sections {
            out += "<section id=\"\(esc(section.id))\"><h2>\(esc(section.title))</h2>\n\(section.html)\n</section>\n"
        }
        out += notes(s, images: images, context: context)
        out += "</main></body></html>\n"
        return out
    }

    // MARK: Sections.

    static func header(_ s: ResultsSummary, context: ReportContext, sections: [Section]) -> String {
        let counted = s.clips.filter(\.inSuite)
        let failed = counted.filter { $0.row.status == .error }.count
        var meta = "\(counted.count) clip\(plural(counted.count)) from \(s.models.count) model\(plural(s.models.count)), \(failed) failed"
        if let c = s.coverage { meta += " · prompt suite <code>\(esc(c.suite.name))</code> v\(c.suite.version) (\(c.suite.prompts.count) prompts)" }
        meta += " · written \(esc(context.created)) · Gallop \(esc(Gallop.version))"
        var out = "<header><h1>\(esc(context.title.replacingOccurrences(of: "scorecard", with: "report")))</h1><p class=\"meta\">\(meta)</p><nav>"
        out += "<a href=\"#overview\">Overview</a><a href=\"#scores\">Scores</a><a href=\"#clips\">Clips</a><a href=\"#moments\">Worst moments</a>"
        for section in sections { out += "<a href=\"#\(esc(section.id))\">\(esc(section.title))</a>" }
        return out + "<a href=\"#notes\">Notes</a></nav></header>\n"
    }

    static func overview(_ s: ResultsSummary, ordered: [ModelSummary], colors: [String: String]) -> String {
        let composites = s.values.filter { $0.group == "composite" }
        var out = "<section id=\"overview\"><h2>Overview</h2>\n"
        if !composites.isEmpty {
            out += "<p>Group scores map each metric to 0–1 by the bounds in the config and average them: a convention for reading many metrics at once, not a measurement."
            let apart = Scorecard.apartGroups(s)
            if !apart.isEmpty {
                out += " <code>overall</code> leaves out \(apart.map { "<code>\(esc($0))</code>" }.joined(separator: " and ")), which only some clips can have (scored on those clips alone)."
            }
            out += "</p>\n"
        }
        out += "<table><thead><tr><th>model</th><th>clips</th><th>failed</th><th>prompts</th>"
        for v in composites { out += "<th>\(esc(String(v.name.dropFirst(Aggregation.compositePrefix.count)))) \(v.direction.arrow)</th>" }
        out += "</tr></thead><tbody>\n"
        for m in ordered {
            out += "<tr><td><span class=\"swatch\" style=\"background:\(colors[m.name]!)\"></span>\(esc(m.name))</td>"
            out += "<td>\(m.all.clips)</td><td>\(m.all.failed)</td><td>\(m.prompts.values.filter { $0.clips > $0.failed }.count)</td>"
            for v in composites {
                guard let a = m.all.values[v.name] else { out += "<td>–</td>"; continue }
                out += "<td\(a.rank == 1 && s.models.count > 1 ? " class=\"best\"" : "")>\(esc(Scorecard.format(a)))</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody></table></section>\n"
    }

    /// The metric groups in report order (the registry's, then values of no group).
    static let groups = ["temporal", "motion", "quality", "reference", "content", "audio", "other"]

    static func scores(_ s: ResultsSummary, ordered: [ModelSummary], rows: [Charts.Row]) -> String {
        var out = "<section id=\"scores\"><h2>Scores by metric group</h2>\n<p>Per model, the dot is the mean over prompts and the whiskers its "
        out += "\(Scorecard.fixed(s.settings.bootstrap.level * 100, 0))% bootstrap interval (shown from \(Bootstrap.minimumUnits) prompts); "
        out += "#rank is 1 + the number of models significantly better, paired by prompt. ↑ higher is better, ↓ lower is better, · no better side.</p>\n"
        out += legend(rows)
        func panel(_ v: ValueDescriptor) -> String {
            let title = v.group == "composite" ? "\(v.name.dropFirst(Aggregation.compositePrefix.count)) score \(v.direction.arrow)"
                : "\(v.name) \(v.direction.arrow)\(v.unit.isEmpty ? "" : " (\(v.unit))")"
            return Charts.intervals(title: title, rows: zip(rows, ordered).map { ($0, $1.all.values[v.name]) }, unitRange: v.group == "composite")
        }
        if let overall = s.value(Aggregation.overall) {
            out += "<div class=\"group\" data-group=\"overall\"><h3>Overall</h3><div class=\"panels\">\(panel(overall))</div></div>\n"
        }
        for group in groups {
            var values = s.values.filter { $0.group == group && $0.isHeadline }
            guard !values.isEmpty else { continue }
            if let score = s.value(Aggregation.compositePrefix + group) { values.insert(score, at: 0) }
            out += "<div class=\"group\" data-group=\"\(group)\"><h3>\(group.prefix(1).uppercased() + group.dropFirst())</h3><div class=\"panels\">"
            out += values.map(panel).joined() + "</div></div>\n"
        }
        return out + "</section>\n"
    }

    static func distributions(_ s: ResultsSummary, rows: [Charts.Row]) -> String {
        var out = "<section id=\"clips\"><h2>Clips</h2>\n<p>Per metric, each model's clips: a dot per clip, the box from the first to the third quartile "
        out += "with the median, the line from the lowest to the highest value. A metric read only on some prompts shows only their clips.</p>\n"
        out += legend(rows) + "<div class=\"panels\">"
        for group in groups {
            for v in s.values where v.group == group && v.isHeadline {
                let perModel = rows.map { row -> (Charts.Row, [Double]) in
                    let values = s.clips.filter { c in
                        c.inSuite && c.row.name.model == row.model && (s.restricted[v.name]?.admits(c.tags) ?? true)
                    }.compactMap { $0.value(v.name) }
                    return (row, values)
                }
                guard perModel.contains(where: { !$0.1.isEmpty }) else { continue }
                out += Charts.distribution(title: "\(v.name) \(v.direction.arrow)\(v.unit.isEmpty ? "" : " (\(v.unit))")", rows: perModel)
            }
        }
        return out + "</div></section>\n"
    }

    static func worst(_ all: [WorstMoments.ModelMoments], summary s: ResultsSummary, images: Images, colors: [String: String],
                      source: (any ThumbnailSource)?) -> String {
        var out = "<section id=\"moments\"><h2>Worst moments</h2>\n<p>For each model, over the clips the aggregates count: the frame pair where "
        out += "flicker peaks, the longest freeze (its first and last frame), the frames either side of each hard cut (the \(WorstMoments.maxCuts) strongest), "
        out += "the blurriest frame and the pair with the largest warping error. Frames "
        if let provenance = source?.provenance {
            out += provenance
        } else {
            out += "are decoded again from the clips"
            if let folder = source?.clipsFolder { out += " under <code>\(esc(folder))</code>" }
        }
        out += "; times are seconds from each clip's first frame; the curve is the flagging metric's per-frame series, the moment in red."
        if all.contains(where: { $0.sync != nil }) {
            out += " With sound, the most out-of-sync clip: its sound's onset envelope and its picture's onset strength (the rise of the frame "
            out += "difference) on one time axis, each scaled to its own peak, with the offset found from the picture's strongest event.</p>\n"
        } else {
            out += "</p>\n"
        }
        for (i, mm) in all.enumerated() {
            out += "<div class=\"model-moments\" id=\"moments-\(i)\" data-model=\"\(esc(mm.model))\">"
            out += "<h3><span class=\"swatch\" style=\"background:\(colors[mm.model] ?? Charts.color(0))\"></span>\(esc(mm.model))</h3><div class=\"cards\">\n"
            for moment in mm.moments { out += card(moment, summary: s, images: images) }
            if let sync = mm.sync { out += syncCard(sync) }
            out += "</div>"
            if !mm.notes.isEmpty { out += "<p class=\"note\">" + mm.notes.map(esc).joined(separator: "; ") + ".</p>" }
            out += "</div>\n"
        }
        return out + "</section>\n"
    }

    static func card(_ m: Moment, summary s: ResultsSummary, images: Images) -> String {
        var out = "<figure class=\"moment\" data-kind=\"\(m.kind.rawValue)\"><div class=\"title\"><b>\(esc(m.kind.title))</b> · <code>\(esc(m.kind.metric))</code></div>"
        out += "<div class=\"frames\">"
        let got = images.results[m.path]
        for (frame, time) in zip(m.frames, m.times) {
            let label = "frame \(frame) · \(Scorecard.fixed(time, 3)) s"
            if let image = got?.images[time] {
                let uri = "data:\(image.mimeType);base64," + Data(image.bytes).base64EncodedString()
                out += "<div class=\"frame\"><img src=\"\(uri)\" width=\"\(image.width)\" height=\"\(image.height)\" alt=\"\(esc(m.path)) at \(Scorecard.fixed(time, 3)) s\">"
                out += "<span>\(label)</span></div>"
            } else {
                out += "<div class=\"frame gone\"><span>\(label): no image</span></div>"
            }
        }
        out += "</div><figcaption><code>\(esc(m.path))</code><br>\(esc(m.valueText))"
        if let problem = got?.problem { out += "<br><span class=\"missing\">\(esc(problem))</span>" }
        out += "</figcaption>"
        if let row = images.rows[m.path], let series = WorstMoments.series(row, m.kind.metric) {
            out += Charts.curve(title: m.kind.metric, series: series, times: row.frameTimes, marks: m.marks)
        }
        return out + "</figure>\n"
    }

    static func syncCard(_ m: WorstMoments.SyncMoment) -> String {
        let offset = (m.offset > 0 ? "+" : "") + Scorecard.fixed(m.offset, 0)
        var out = "<figure class=\"moment sync\" data-kind=\"sync\"><div class=\"title\"><b>Most out of sync</b> · <code>\(esc(WorstMoments.offsetMetric))</code></div>"
        out += Charts.sync(sound: m.sound, motion: m.motion, times: m.times, offsetMS: m.offset)
        out += "<figcaption><code>\(esc(m.path))</code><br>sound \(offset) ms \(m.offset >= 0 ? "after" : "before") the picture "
        out += "(confidence \(Scorecard.fixed(m.confidence, 2)))"
        if m.motion.isEmpty { out += "<br><span class=\"missing\">no frame difference series in the row: the picture's curve is not drawn</span>" }
        return out + "</figcaption></figure>\n"
    }

    static func notes(_ s: ResultsSummary, images: Images, context: ReportContext) -> String {
        var out = "<section id=\"notes\"><h2>Notes</h2>\n<ul>"
        let problems = images.results.filter { $0.value.problem != nil }.sorted { $0.key < $1.key }
        if !problems.isEmpty {
            out += "<li>Frames not shown or shown with a caution: <ul>"
            for (_, r) in problems { out += "<li>\(esc(r.problem!))</li>" }
            out += "</ul></li>"
        }
        let failed = s.clips.filter { $0.row.status == .error }
        if !failed.isEmpty {
            out += "<li>\(failed.count) failed clip\(plural(failed.count)): <ul>"
            for c in failed.prefix(50) { out += "<li><code>\(esc(c.row.path))</code>: \(esc(c.row.error ?? "unknown error"))</li>" }
            if failed.count > 50 { out += "<li>… and \(failed.count - 50) more (see scorecard.md)</li>" }
            out += "</ul></li>"
        }
        for v in s.values where v.isHeadline {
            if let r = s.restricted[v.name] { out += "<li><code>\(esc(v.name))</code> is read only on prompts tagged \(esc(r.text)), here as in the scorecard.</li>" }
        }
        for note in s.notes { out += "<li>\(esc(note))</li>" }
        let b = s.settings.bootstrap
        out += "<li>Config fingerprint <code>\(esc(s.fingerprint))</code> · report settings <code>\(esc(s.settings.fingerprint))</code> · "
        out += "bootstrap: \(b.resamples) resamples of prompts, seed \(b.seed) · the tables in full: scorecard.md and summary.json beside this file.</li>"
        return out + "</ul></section>\n"
    }

    static func legend(_ rows: [Charts.Row]) -> String {
        "<p class=\"legend\">" + rows.map { "<span><span class=\"swatch\" style=\"background:\($0.color)\"></span>\(esc($0.model))</span>" }.joined() + "</p>\n"
    }

    // MARK: Thumbnails.

    /// The decoded frames, by clip path and time, each clip opened once.
    struct Images {
        struct Clip {
            var images: [Double: Thumbnail] = [:]
            var problem: String?
        }
        var results: [String: Clip] = [:]
        var rows: [String: ClipResult] = [:]
    }

    static func fetch(_ all: [WorstMoments.ModelMoments], summary s: ResultsSummary, source: (any ThumbnailSource)?) -> Images {
        var images = Images()
        var wanted: [String: [Double]] = [:]
        for mm in all { for m in mm.moments { wanted[m.path, default: []] += m.times } }
        for c in s.clips where wanted[c.row.path] != nil { images.rows[c.row.path] = c.row }
        for path in wanted.keys.sorted() {
            guard let row = images.rows[path] else { continue }
            let times = Array(Set(wanted[path]!)).sorted()
            guard let source else {
                images.results[path] = Images.Clip(problem: "\(path): frames not decoded (no clip folder was given)")
                continue
            }
            let got = source.thumbnails(of: row, at: times, maxWidth: maxThumbnailWidth)
            var clip = Images.Clip(problem: got.problem)
            for (t, image) in zip(times, got.images) { if let image { clip.images[t] = image } }
            images.results[path] = clip
        }
        return images
    }

    // MARK: Text.

    static func esc(_ s: String) -> String { Charts.esc(s) }
    static func plural(_ n: Int) -> String { n == 1 ? "" : "s" }

    static let css = """
        :root{--fg:#1d2330;--muted:#5b6577;--line:#d9dee7;--panel:#f5f7fa}\
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);margin:0;background:#fff}\
        header{padding:14px 24px 10px;border-bottom:1px solid var(--line);background:var(--panel)}\
        h1{margin:0 0 2px;font-size:22px}h2{font-size:18px;margin:26px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}\
        h3{font-size:15px;margin:16px 0 6px}main{padding:0 24px 32px;max-width:1880px}main>section>p{max-width:1100px}\
        nav a{margin-right:16px;color:#0b5cad;text-decoration:none}.meta{color:var(--muted);margin:0 0 6px}\
        table{border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:right}\
        th:first-child,td:first-child{text-align:left}td.best{font-weight:700}\
        .panels{display:flex;flex-wrap:wrap;gap:10px}.panels svg,figure svg{background:var(--panel);border-radius:6px}figure svg{width:416px;height:auto}\
        svg text{font-size:11px;fill:var(--fg)}svg .ax{fill:var(--muted);font-size:10px}svg .grid{stroke:var(--line);fill:none}\
        .legend>span{margin-right:14px;white-space:nowrap}\
        .swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}\
        .cards{display:flex;flex-wrap:wrap;gap:12px}\
        figure.moment{margin:0;padding:10px;background:#fff;border:1px solid var(--line);border-radius:8px;width:416px}\
        .moment .title{margin-bottom:6px}.frames{display:flex;gap:6px;flex-wrap:wrap}\
        .frame{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}\
        .frame img{display:block;width:205px;height:auto;border-radius:3px;background:#000}\
        .frame.gone{width:205px;height:115px;justify-content:center;align-items:center;background:var(--panel);border-radius:3px}\
        figcaption{font-size:12.5px;color:var(--muted);margin:6px 0}.missing{color:#a4262c}.note{color:var(--muted);font-size:13px}\
        code{font:12px ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;word-break:break-all;color:var(--fg)}
        """
}
