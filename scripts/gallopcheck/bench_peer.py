# The Python peer of scripts/bench's "Python peer" row: Gallop's ten frame
# metrics (the ones that need no optical flow) written the way a Python
# harness would write them, with PyAV decoding and whole-frame numpy and
# OpenCV calls (no Python loop over pixels), on one thread: the decoder with
# thread_type NONE and thread_count 1, libswscale with threads=1, and
# cv2.setNumThreads(1). Each metric follows the doc comment of its file in
# Sources/GallopMetrics; per-frame bookkeeping (series, the cut detector over
# per-pair scores, freeze spans) is plain Python, as it is a few numbers a frame.
#
# Usage: python -m gallopcheck.bench_peer CLIP   (prints one JSON object: metric → value)
#        python -m gallopcheck.bench_peer CLIP --decode-only   (decoding alone, the floor of the peer's time)
# Runs in the one venv (scripts/setup --venv). Gallop itself never uses Python.
import json
import math
import sys

import av
import cv2
import numpy as np

cv2.setNumThreads(1)

BLOCK = 16           # Freeze: 16×16 luma blocks
BLOCK_TOL = 3.5      # options.freeze_ratio.block_tolerance
MEAN_TOL = 0.4       # options.freeze_ratio.mean_tolerance
GRID = 8             # options.flicker_index.grid
SIDE = GRID // 2     # flicker_index's windows: SIDE x SIDE cells, every position on the grid
CUT_FLOOR, CUT_FACTOR, CUT_MARGIN, CUT_WINDOW = 12.0, 3.0, 4.0, 6  # CutDetector
IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
NOISE_SCALE = math.sqrt(math.pi / 2) / 6


def swift_round(x):
    """Swift's .rounded(): half away from zero (Python's round() is half to even)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def percentile(values, q):
    return float(np.percentile(values, q)) if values else None


def median(values):
    return percentile(values, 50)


def mean(values):
    return sum(values) / len(values) if values else None


def cuts(scores, repeats):
    """CutDetector.cuts: indices of the pairs that are hard cuts (None scores are no pair); pairs that repeat
    their predecessor are skipped as neighbours and are never cuts."""
    moving = [t for t, s in enumerate(scores) if s is not None and not repeats[t]]
    out = []
    for k, t in enumerate(moving):
        s = scores[t]
        if s < CUT_FLOOR:
            continue
        neighbours = [scores[i] for i in moving[max(0, k - CUT_WINDOW):k] + moving[k + 1:k + 1 + CUT_WINDOW]]
        baseline = median(neighbours) if neighbours else 0.0
        if s < CUT_FACTOR * baseline + CUT_MARGIN:
            continue
        before = scores[moving[k - 1]] if k > 0 else 0.0
        after = scores[moving[k + 1]] if k + 1 < len(moving) else 0.0
        if s >= before and s > after:
            out.append(t)
    return out


def main(clip):
    container = av.open(clip)
    stream = container.streams.video[0]
    stream.thread_type = "NONE"
    stream.codec_context.thread_count = 1

    # Per-frame and per-pair series.
    sharp, noise, expo, low, high, contr, colour = [], [], [], [], [], [], []
    mads, cut_scores, repeats, gains, window_gains, rgb_mads = [], [], [], [], [], []
    times, durations = [], []
    prev_y = prev_rgb = prev_mean = reference_regions = None
    grid_x = grid_y = block_x = block_y = block_w = block_h = None

    for frame in container.decode(stream):
        if frame.format.name not in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"):
            sys.exit(f"bench_peer: {clip}: 8-bit planar YUV expected, got {frame.format.name}")
        full = frame.format.name.startswith("yuvj") or int(frame.color_range) == 2
        w, h = frame.width, frame.height
        plane = frame.planes[0]
        # The stored luma plane, without a copy (rows padded to line_size).
        y = np.frombuffer(plane, np.uint8).reshape(h, plane.line_size)[:, :w]
        rgb = frame.to_ndarray(format="rgb24", interpolation="BICUBIC", threads=1,
                               src_color_range="JPEG" if full else None)
        times.append(float(frame.time))
        durations.append(float(frame.duration * frame.time_base) if frame.duration else 0.0)

        if grid_x is None:
            grid_x = [c * w // GRID for c in range(GRID)]
            grid_y = [-(-r * h // GRID) for r in range(GRID)]           # first row y with y*GRID//h == r
            block_x = np.arange(0, w, BLOCK)
            block_y = np.arange(0, h, BLOCK)
            block_w = np.diff(np.append(block_x, w))
            block_h = np.diff(np.append(block_y, h))
            block_area = np.outer(block_h, block_w).astype(np.float64)
            region_area = np.outer(np.diff(grid_y + [h]), np.diff(grid_x + [w])).astype(np.float64)
            luma_depth = cv2.CV_32S if w * h * 255 < 2**31 else cv2.CV_64F     # exact sums either way

        # Luma statistics: exposure, contrast, clipped shares, 4×4 region means.
        m, sd = cv2.meanStdDev(y)
        fmean, fstd = float(m[0, 0]), float(sd[0, 0])
        lo_level, hi_level = (0, 255) if full else (16, 235)
        expo.append(fmean)
        contr.append(fstd)
        n = w * h
        low.append(np.count_nonzero(y <= lo_level) / n)
        high.append(np.count_nonzero(y >= hi_level) / n)
        corners = cv2.integral(y, sdepth=luma_depth)[np.ix_(grid_y + [h], grid_x + [w])]
        sums = corners[1:, 1:] - corners[:-1, 1:] - corners[1:, :-1] + corners[:-1, :-1]
        regions = (sums / region_area).ravel()

        # Second differences on interior pixels: sharpness and noise_sigma.
        lap = cv2.Laplacian(y, cv2.CV_16S, ksize=1)[1:-1, 1:-1]
        _, lsd = cv2.meanStdDev(lap)
        sharp.append(float(lsd[0, 0]) ** 2)
        imm = cv2.filter2D(y, cv2.CV_16S, IMMERKAER)[1:-1, 1:-1]
        noise.append(NOISE_SCALE * cv2.norm(imm, cv2.NORM_L1) / ((w - 2) * (h - 2)))

        # Colourfulness (Hasler–Süsstrunk M̂(3)) on the RGB frame.
        r, g, b = cv2.split(rgb)
        rg = cv2.subtract(r, g, dtype=cv2.CV_16S)
        yb2 = cv2.subtract(cv2.add(r, g, dtype=cv2.CV_16S), cv2.add(b, b, dtype=cv2.CV_16S), dtype=cv2.CV_16S)
        mrg, srg = cv2.meanStdDev(rg)
        myb, syb = cv2.meanStdDev(yb2)
        mrg, srg, myb, syb = float(mrg[0, 0]), float(srg[0, 0]), float(myb[0, 0]) / 2, float(syb[0, 0]) / 2
        colour.append(math.sqrt(srg * srg + syb * syb) + 0.3 * math.sqrt(mrg * mrg + myb * myb))

        # Pairs: frame_diff, centred MAD (cuts), freeze blocks, RGB change.
        if prev_y is not None:
            d = cv2.subtract(prev_y, y, dtype=cv2.CV_16S)
            ad = cv2.absdiff(prev_y, y)
            integral = cv2.integral(ad, sdepth=luma_depth)                   # (h+1)×(w+1) sums
            sad = float(integral[-1, -1])
            yi, xi = np.append(block_y, h), np.append(block_x, w)
            corners = integral[np.ix_(yi, xi)]
            blocks = corners[1:, 1:] - corners[:-1, 1:] - corners[1:, :-1] + corners[:-1, :-1]
            worst = float((blocks / block_area).max())
            offset = swift_round(prev_mean - fmean)
            centred = cv2.norm(d - np.int16(offset), cv2.NORM_L1) if offset else sad
            mad = sad / n
            mads.append(mad)
            cut_scores.append(centred / n)
            repeat = worst <= BLOCK_TOL and mad <= MEAN_TOL
            rgb_mads.append(cv2.norm(prev_rgb, rgb, cv2.NORM_L1) / (n * 3))
        else:
            cut_scores.append(None)
            repeat = False
        repeats.append(repeat)
        # flicker_index's gains: the median regional log change against the last non-repeated frame, and each
        # window's median less it.
        if repeat:
            gains.append(None)
            window_gains.append(None)
        else:
            logs = np.log(regions + 1)
            if reference_regions is not None:
                changes = (logs - reference_regions).reshape(GRID, GRID)
                g = float(np.median(changes))
                gains.append(g)
                window_gains.append(np.array([float(np.median(changes[t:t + SIDE, l:l + SIDE])) - g
                                              for t in range(GRID - SIDE + 1) for l in range(GRID - SIDE + 1)]))
            else:
                gains.append(None)
                window_gains.append(None)
            reference_regions = logs
        prev_y, prev_rgb, prev_mean = y, rgb, fmean  # y is a view that keeps its frame alive
    container.close()

    frames = len(times)
    out = {}
    out["temporal_flickering"] = (255 - mean(rgb_mads)) / 255 if rgb_mads else None

    # flicker_index: halved second difference of the brightness curve over distinct frames, cuts left out; the larger
    # of the global RMS and the worst window's.
    broken = [False] * frames
    for c in cuts(cut_scores, repeats):
        broken[c] = True
    distinct = [i for i in range(frames) if not repeats[i]]
    squares, count, window_squares = 0.0, 0, None
    for a, b in zip(distinct, distinct[1:]):
        g0, g1 = gains[a], gains[b]
        if g0 is None or g1 is None or broken[a] or any(broken[a + 1:b + 1]):
            continue
        rr = (g0 - g1) / 4
        squares += rr * rr
        count += 1
        rw = (window_gains[a] - window_gains[b]) / 4
        window_squares = rw * rw if window_squares is None else window_squares + rw * rw
    if count:
        glob = 100 * math.sqrt(squares / count)
        regional = 100 * math.sqrt(float(window_squares.max()) / count)
        out["flicker_index"], out["flicker_index_regional"] = max(glob, regional), regional
    else:
        value = 0.0 if frames >= 3 and len(distinct) < 3 else None
        out["flicker_index"] = out["flicker_index_regional"] = value

    out["frame_diff"] = mean(mads)
    out["frame_diff_p95"] = percentile(mads, 95)

    # freeze_ratio and longest_freeze_s: still spans from timestamps.
    if frames >= 2:
        spans = []
        for i in range(frames):
            if repeats[i]:
                spans[-1][1] += 1
            else:
                spans.append([times[i], 1])
        intervals = [b - a for a, b in zip(times, times[1:])]
        nominal = median(intervals) if intervals else durations[-1]
        end = times[-1] + (durations[-1] if durations[-1] > 0 else nominal)
        longest = 0.0
        for i, (start, held) in enumerate(spans):
            length = (spans[i + 1][0] if i + 1 < len(spans) else end) - start
            if held >= 2 or length >= 1.5 * nominal:
                longest = max(longest, length)
        out["freeze_ratio"] = sum(repeats) / frames
        out["longest_freeze_s"] = longest
        out["scene_cuts"] = len(cuts(cut_scores, repeats))
    else:
        out["freeze_ratio"] = out["longest_freeze_s"] = out["scene_cuts"] = None

    out["sharpness"] = mean(sharp)
    out["noise_sigma"] = mean(noise)
    out["exposure"] = mean(expo)
    out["exposure_clipped_low"] = mean(low)
    out["exposure_clipped_high"] = mean(high)
    out["exposure_drift"] = max(expo) - min(expo) if expo else None
    out["contrast"] = mean(contr)
    out["colorfulness"] = mean(colour)
    out["frames"] = frames
    print(json.dumps(out))


def decode_only(clip):
    """The peer's decoding alone, same settings, each frame's luma plane viewed: the floor of its time."""
    container = av.open(clip)
    stream = container.streams.video[0]
    stream.thread_type = "NONE"
    stream.codec_context.thread_count = 1
    frames = 0
    for frame in container.decode(stream):
        plane = frame.planes[0]
        np.frombuffer(plane, np.uint8)
        frames += 1
    container.close()
    print(json.dumps({"frames": frames}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[2] == "--decode-only":
        decode_only(sys.argv[1])
        sys.exit(0)
    if len(sys.argv) != 2:
        sys.exit("usage: python -m gallopcheck.bench_peer CLIP [--decode-only]")
    main(sys.argv[1])
