import Foundation
import GallopCore

/// `camera_motion`: what the camera does, as VBench's camera-motion dimension
/// names it (static, pan left/right, tilt up/down, zoom in/out).
///
/// Per pair, a similarity model u = a + s·x − r·y, v = b + r·x + s·y (x, y from
/// the image centre) is fitted to the forward flow by least squares on a
/// 4-pixel grid, refitted once without the vectors whose residual exceeds
/// 3× the median (moving objects). At the reference size (512 px long side)
/// the pan is −a, the tilt −b (the camera turns against the content:
/// `pan_left` means the content moves right, conventions.md), the zoom s·256
/// (px at 256 px from the centre; > 0 is zoom in) and the rotation r·256. A
/// pair is `static` when pan, tilt and zoom are all below 0.5 px/frame at the
/// reference size (`static_threshold`); otherwise it takes the largest of the three. Hard cuts
/// (``CutDetector``) are left out: the flow across a cut fits no camera move.
/// Headline: the share of the remaining pairs in the clip's dominant class
/// (the series keeps every pair's class, cut pairs included). Extras: `class` (the dominant
/// class), `shares` (each class's share), `series` of per-pair classes as
/// indices into `classes`. Secondary: mean `camera_motion_pan`, `_tilt`,
/// `_zoom`, `_rotation`. Ground truth: synthetic pans, tilts and zooms of a
/// textured scene are classified right, a still clip is static (`MotionTests`).
public final class CameraMotion: Metric {
    public static let info = MetricInfo(
        name: "camera_motion", summary: "share of pairs in the dominant camera move (class in extras)", direction: .none,
        needs: [.flow, .cuts], temporal: true,
        options: [
            .double("camera_motion", "static_threshold", \.camera.staticThreshold, 0...100, "static below this pan, tilt and zoom (px/frame at 512 px)"),
        ],
        secondary: [MetricInfo.value("camera_motion_pan", .none, unit: "px/frame"), MetricInfo.value("camera_motion_tilt", .none, unit: "px/frame"),
                    MetricInfo.value("camera_motion_zoom", .none, unit: "px/frame"), MetricInfo.value("camera_motion_rotation", .none, unit: "px/frame")],
        derived: [DerivedValue(ValueTraits(name: "camera_agreement", summary: "1 when the measured camera move is the one the prompt asks for",
                                           direction: .higher, tolerance: .absolute(0.1), composite: CompositeRole(group: "motion", worst: 0, best: 1),
                                           toleranceReason: "one asked-for move in ten missed (with `--prompts`)"),
                               cameraClassKey: "class")],
        about: "share of pairs in the dominant camera move, hard cuts left out; the class (`static`, `pan_left`, …, `zoom_out`) is in `extras`",
        checkedAgainst: "synthetic pans, tilts, zooms and still clips; a splice of two pans stays one pan")

    public static let classes = ["static", "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out"]

    public struct Fit: Sendable { public var a, b, s, r: Double }

    /// One pair's fit at the reference size and its class.
    private struct Move { var pan, tilt, zoom, rotation: Double; var label: Int }
    private var moves: [Move?] = []
    private let settings: MetricSettings

    public convenience init() { self.init(settings: MetricSettings()) }
    public init(settings: MetricSettings) { self.settings = settings }

    /// Least-squares similarity fit, then one refit without outliers.
    public static func fit(_ f: FlowField, step: Int = 4) -> Fit {
        let cx = Float(f.width - 1) / 2, cy = Float(f.height - 1) / 2
        var points: [(Float, Float, Float, Float)] = []
        for y in Swift.stride(from: 0, to: f.height, by: step) {
            for x in Swift.stride(from: 0, to: f.width, by: step) {
                let k = y * f.width + x
                points.append((Float(x) - cx, Float(y) - cy, f.u[k], f.v[k]))
            }
        }
        func solve(_ pts: ArraySlice<(Float, Float, Float, Float)>) -> Fit {
            // Centre the coordinates of the points used, so the four unknowns decouple.
            let n = Double(pts.count)
            var mx = 0.0, my = 0.0, mu = 0.0, mv = 0.0
            for p in pts { mx += Double(p.0); my += Double(p.1); mu += Double(p.2); mv += Double(p.3) }
            mx /= n; my /= n; mu /= n; mv /= n
            var sxx = 0.0, ss = 0.0, sr = 0.0
            for p in pts {
                let x = Double(p.0) - mx, y = Double(p.1) - my, u = Double(p.2) - mu, v = Double(p.3) - mv
                sxx += x * x + y * y
                ss += u * x + v * y
                sr += v * x - u * y
            }
            let s = sxx > 0 ? ss / sxx : 0, r = sxx > 0 ? sr / sxx : 0
            // Translation at the image centre.
            return Fit(a: mu - s * mx + r * my, b: mv - r * mx - s * my, s: s, r: r)
        }
        var model = solve(points[...])
        let residuals = points.map { p -> Double in
            let pu = model.a + model.s * Double(p.0) - model.r * Double(p.1)
            let pv = model.b + model.r * Double(p.0) + model.s * Double(p.1)
            return hypot(Double(p.2) - pu, Double(p.3) - pv)
        }
        let limit = 3 * max(Series.median(residuals) ?? 0, 0.05)
        let inliers = zip(points, residuals).filter { $0.1 <= limit }.map(\.0)
        if inliers.count >= 8 { model = solve(inliers[...]) }
        return model
    }

    public func consume(_ c: FrameContext) {
        guard let m = c.motion, let f = m.forward else { moves.append(nil); return }
        let fit = CameraMotion.fit(f)
        let scale = m.referenceScale
        let pan = -fit.a * scale, tilt = -fit.b * scale, zoom = fit.s * 256, rotation = fit.r * 256
        let label: Int
        if max(abs(pan), abs(tilt), abs(zoom)) < settings.camera.staticThreshold {
            label = 0
        } else if abs(zoom) >= abs(pan) && abs(zoom) >= abs(tilt) {
            label = zoom > 0 ? 5 : 6
        } else if abs(pan) >= abs(tilt) {
            label = pan < 0 ? 1 : 2
        } else {
            label = tilt < 0 ? 3 : 4
        }
        moves.append(Move(pan: pan, tilt: tilt, zoom: zoom, rotation: rotation, label: label))
    }

    public func finish(_ clip: ClipAnalyses) -> MetricOutput {
        let series = moves.map { $0.map { Double($0.label) } }
        let cuts = clip.cuts
        let kept = moves.indices.filter { !cuts.contains($0) }.compactMap { moves[$0] }
        let labels = kept.map(\.label)
        guard !labels.isEmpty else {
            return MetricOutput(values: [(Self.info.name, nil), ("camera_motion_pan", nil), ("camera_motion_tilt", nil),
                                         ("camera_motion_zoom", nil), ("camera_motion_rotation", nil)],
                                series: series, warnings: [moves.contains { $0 != nil }
                                    ? "camera_motion: every pair is a hard cut" : "camera_motion needs at least two frames"])
        }
        var counts = [Int](repeating: 0, count: CameraMotion.classes.count)
        for l in labels { counts[l] += 1 }
        let dominant = counts.indices.max { counts[$0] < counts[$1] || (counts[$0] == counts[$1] && $0 > $1) }!
        let n = Double(labels.count)
        return MetricOutput(
            values: [(Self.info.name, Double(counts[dominant]) / n), ("camera_motion_pan", Series.mean(kept.map(\.pan))),
                     ("camera_motion_tilt", Series.mean(kept.map(\.tilt))), ("camera_motion_zoom", Series.mean(kept.map(\.zoom))),
                     ("camera_motion_rotation", Series.mean(kept.map(\.rotation)))],
            extras: [("class", .string(CameraMotion.classes[dominant])),
                     ("shares", .object(CameraMotion.classes.indices.filter { counts[$0] > 0 }.map { (CameraMotion.classes[$0], .number(Double(counts[$0]) / n)) })),
                     ("classes", .array(CameraMotion.classes.map { .string($0) }))],
            series: series)
    }
}

/// Its config section's values (``MetricInfo/options`` declares their names, ranges and help).
extension MetricSettings {
    public struct CameraOptions: Sendable, Hashable {
        /// A pair is `static` below this pan, tilt and zoom (px/frame at a 512 px long side).
        public var staticThreshold = 0.5
        public init() {}
    }
}
