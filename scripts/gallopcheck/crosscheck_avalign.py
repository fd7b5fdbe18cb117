"""Cross-checks Gallop's av_align against AV-Align's published method (Yariv et al., arXiv:2309.16429; TempoTokens'
av_align.py), and av_offset_ms against the offsets the clips were made with.

Usage: python3 -m gallopcheck.crosscheck_avalign GALLOP CACHE [--keep]
  GALLOP  the gallop binary; CACHE  a folder for the generated clips (made once, in CACHE/avalign).
Runs in the librosa venv (scripts/gallopcheck/requirements-librosa.txt: librosa 0.11.0, opencv-python-headless).

What it runs:
 1. Clips, in CACHE/avalign: 5 s of a 160x120 seeded texture with a textured 40x40 square that jumps 4 px (and back at
    the next event) at six irregular frames, or a one-frame white flash there, at 24, 25 and 30 fps (FFV1, lossless),
    muxed with 48 kHz mono 16-bit PCM: a click (3 kHz, decaying by e every 6 ms, GallopSynth's) at each event's time
    plus the clip's offset (−120…+240 ms), over silence or seeded noise at −46 dBFS.
 2. Gallop: `gallop score FOLDER --metrics av_align,av_offset_ms --jobs 1`; av_align's extras list the peaks it used
    (`audio_peak_times`, `video_peak_times`).
 3. The reference method on each clip, with the script's bugs fixed as Sources/GallopMetrics/AVAlign.swift says (its
    `find_local_max_indexes` loops over the list's length, not the undefined `n`; matching is one-to-one, so the IoU
    stays within 1; no peaks on either side is no score, not a division by zero) and its later 0.1 px motion floor:
    - audio peaks: librosa's onset_strength and onset_detect with the script's defaults (librosa.load at 22050 Hz, hop
      512) and, for the comparison, with Gallop's sync envelope at the clip's 48 kHz (n_fft 2048, hop 279 =
      round(48000·128/22050), 64 mel bands), dated by librosa.frames_to_time;
    - video peaks: OpenCV's Farnebäck flow (the script's parameters: 0.5, 3, 15, 3, 5, 1.2, 0) between consecutive
      frames read with cv2.VideoCapture and converted to grey, the mean magnitude per pair dated at the later frame
      (the script's list, its first entry repeating the first pair), strict local maxima of at least 0.1 px;
    - av_align: one-to-one pairs closer than 1/fps over the union.
Gates (exit 1): the audio peaks librosa finds with Gallop's parameters equal Gallop's (same count, times within 1 µs);
on the jumping square, the motion peaks Farnebäck finds equal Gallop's (DIS flow; the same frames, as Gallop's times are Matroska's whole
ms; a flash is no motion, and what each flow makes of it is reported, not gated); av_align equal to the IoU of its
own listed peaks within 1e-9, and, where both kinds of peak are equal, to the fixed method's on librosa's and
Farnebäck's within 1e-9; av_offset_ms within 7 ms of the clip's offset (for sync's onset dating and its residual: Sources/GallopMetrics/
AVOffset.swift). The table also gives the script's own IoU at its defaults (22050 Hz audio, its Farnebäck peaks).
"""
import os
import shutil
import sys
import tempfile

import cv2
import librosa
import numpy as np

from gallopcheck.common import SplitMix64, clips_to_make, leave_work, positional_args, run_checked, score_rows, verify_key

WHO = "crosscheck-avalign"
RATE = 48000
EVENTS = [0.55, 1.35, 1.9, 3.05, 3.6, 4.45]
OFFSET_TOLERANCE_MS = 7.0
# name, fps, picture ("jump" or "flash"), offset of the sound (ms, positive: late), noise bed (rms, 0: silence)
CLIPS = [
    ("jump-25fps-sync", 25, "jump", 0, 0),
    ("jump-25fps-late80", 25, "jump", 80, 0),
    ("jump-24fps-early120", 24, "jump", -120, 0),
    ("jump-30fps-late20", 30, "jump", 20, 0),
    ("jump-30fps-late240-noise", 30, "jump", 240, 0.005),
    ("flash-24fps-late40", 24, "flash", 40, 0),
    ("flash-25fps-early200-noise", 25, "flash", -200, 0.005),
]


def run(cmd, **kw):
    return run_checked(WHO, cmd, **kw)


def texture(rng, width, height):
    """Seeded 8-bit texture smoothed over 3x3, values 40…215 (no clipping at 16…235 luma)."""
    raw = np.array([rng.uniform() for _ in range(width * height)]).reshape(height, width)
    smooth = sum(np.roll(np.roll(raw, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
    lo, hi = smooth.min(), smooth.max()
    return (40 + 175 * (smooth - lo) / (hi - lo)).astype(np.uint8)


def frames(fps, picture):
    """The clip's luma frames (5 s) and its event frames."""
    rng = SplitMix64(11)
    background, square = texture(rng, 160, 120), texture(rng, 40, 40)
    events = [round(t * fps) for t in EVENTS]
    out, x = [], 50
    for i in range(5 * fps):
        if picture == "jump" and i in events:
            x += 4 if events.index(i) % 2 == 0 else -4
        f = background.copy()
        f[40:80, x:x + 40] = square
        if picture == "flash" and i in events:
            f[:] = 235
        out.append(f)
    return out, events


def sound(fps, events, offset_ms, noise):
    """48 kHz mono: a click at each event frame's time plus the offset, over seeded noise of rms `noise` or silence."""
    n = 5 * RATE
    y = np.zeros(n)
    if noise > 0:
        rng = SplitMix64(5)
        y = np.array([2 * rng.uniform() - 1 for _ in range(n)])
        y *= noise / np.sqrt(np.mean(y * y))
    k = np.arange(int(0.03 * RATE))
    click = 0.5 * np.exp(-k / RATE / 0.006) * np.sin(2 * np.pi * 3000 * k / RATE + np.pi / 2)
    for e in events:
        start = round((e / fps + offset_ms / 1000) * RATE)
        end = min(n, start + len(click))
        y[start:end] += click[:end - start]
    return y


def make_clips(folder):
    for (name, fps, picture, offset, noise), path in clips_to_make(WHO, folder, ((c, f"{c[0]}.mkv") for c in CLIPS)):
        luma, events = frames(fps, picture)
        work = tempfile.mkdtemp(prefix="gallop-avalign-make.")
        try:
            yuv, wav = os.path.join(work, "v.yuv"), os.path.join(work, "a.raw")
            chroma = np.full((60, 80), 128, np.uint8).tobytes() * 2
            with open(yuv, "wb") as f:
                for fr in luma:
                    f.write(fr.tobytes() + chroma)
            s16 = np.clip(np.round(sound(fps, events, offset, noise) * 32767), -32768, 32767).astype("<i2")
            s16.tofile(wav)
            part = path + ".part.mkv"
            run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "160x120",
                 "-r", str(fps), "-i", yuv, "-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", wav,
                 "-c:v", "ffv1", "-c:a", "pcm_s16le", part])
            os.replace(part, path)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def audio_wav(path, work):
    wav = os.path.join(work, os.path.basename(path) + ".wav")
    run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", path, "-vn", "-c:a", "pcm_s16le", wav])
    return wav


def audio_peaks(wav, sr=None, n_fft=2048, hop=512, n_mels=128):
    """librosa onset_detect's peaks (s) on the sound at `sr` (None: its own rate)."""
    y, sr = librosa.load(wav, sr=sr if sr else None)
    env = librosa.onset.onset_strength(y=y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    found = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=hop)
    return [float(t) for t in librosa.frames_to_time(found, sr=sr, hop_length=hop)]


def video_peaks(path):
    """The reference's motion peaks (s) and fps: Farnebäck magnitude per pair, strict local maxima ≥ 0.1 px."""
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS)
    grey = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        grey.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    cap.release()
    if len(grey) < 3:
        sys.exit(f"{WHO}: {path}: OpenCV read {len(grey)} frames")

    def magnitude(a, b):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        return cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0]

    m = [magnitude(grey[0], grey[1])] + [magnitude(grey[i - 1], grey[i]) for i in range(1, len(grey))]
    peaks = [i / fps for i in range(1, len(m) - 1) if m[i - 1] < m[i] > m[i + 1] and m[i] >= 0.1]
    return peaks, fps


def matches(a, b, window):
    """The most one-to-one pairs of sorted a and b closer than window (AVAlign.matches)."""
    i = j = n = 0
    while i < len(a) and j < len(b):
        if abs(a[i] - b[j]) < window:
            n, i, j = n + 1, i + 1, j + 1
        elif a[i] < b[j]:
            i += 1
        else:
            j += 1
    return n


def iou(a, v, fps):
    if not a and not v:
        return None
    n = matches(sorted(a), sorted(v), 1 / fps)
    return n / (len(a) + len(v) - n)


def same(a, b, tol):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def main():
    (gallop, cache), keep = positional_args(__doc__, 2)
    if not shutil.which("ffmpeg"):
        sys.exit(f"{WHO}: no ffmpeg on PATH (scripts/setup --tools installs it)")
    folder = os.path.join(cache, "avalign")
    make_clips(folder)
    work = tempfile.mkdtemp(prefix="gallop-avalign.")
    failures = []
    worst_offset, equal_scores, equal_onsets, equal_motion = 0.0, 0, 0, 0
    try:
        rows = score_rows(gallop, folder, os.path.join(work, "out"), "av_align,av_offset_ms", WHO)
        print("## av_align against AV-Align's method, av_offset_ms against the made offsets\n")
        print("| clip | onsets Gallop / librosa (Gallop's parameters) / librosa (script's) | motion peaks Gallop (DIS) / "
              "Farnebäck | av_align Gallop / fixed method (librosa at Gallop's parameters, Farnebäck) / script's defaults | offset made / found "
              "(ms) | confidence |")
        print("|---|---|---|---|---|---|")
        for name, fps, picture, offset, noise in CLIPS:
            file = f"{name}.mkv"
            row = rows.get(file)
            if row is None or row.get("status") != "ok":
                failures.append(f"{file}: no ok row ({row and row.get('error')})")
                continue
            m, extras = row["metrics"], row.get("extras", {}).get("av_align", {})
            mine_a, mine_v = extras.get("audio_peak_times"), extras.get("video_peak_times")
            if mine_a is None or mine_v is None:
                failures.append(f"{file}: av_align's extras lack audio_peak_times or video_peak_times")
                continue
            path = os.path.join(folder, file)
            wav = audio_wav(path, work)
            ours = audio_peaks(wav, None, 2048, round(RATE * 128 / 22050), 64)
            script_a = audio_peaks(wav, 22050)
            farneback, cv_fps = video_peaks(path)
            if not same(mine_a, ours, 1e-6):
                failures.append(f"{file}: onsets Gallop {mine_a}, librosa {ours}")
            else:
                equal_onsets += 1
            # Gallop's frame times are the container's (Matroska: whole ms), so motion peaks compare as frames.
            same_motion = [round(t * fps) for t in mine_v] == [round(t * cv_fps) for t in farneback]
            # A flash is no motion: what each flow makes of it differs, so its peaks are reported, not gated.
            equal_motion += same_motion
            if picture == "jump" and not same_motion:
                failures.append(f"{file}: motion peaks Gallop {mine_v}, Farnebäck {farneback}")
            mine, own = m.get("av_align"), iou(mine_a, mine_v, fps)
            if (mine is None) != (own is None) or (mine is not None and abs(mine - own) > 1e-9):
                failures.append(f"{file}: av_align Gallop {mine}, recomputed from its own peaks {own}")
            fixed = iou(ours, farneback, cv_fps)
            if same(mine_a, ours, 1e-6) and same_motion:
                if mine is None or fixed is None or abs(mine - fixed) > 1e-9:
                    failures.append(f"{file}: av_align Gallop {mine}, the fixed method on the same peaks {fixed}")
                else:
                    equal_scores += 1
            script = iou(script_a, farneback, cv_fps)
            found = m.get("av_offset_ms")
            if found is None:
                failures.append(f"{file}: av_offset_ms null (confidence {m.get('av_sync_confidence')})")
            else:
                worst_offset = max(worst_offset, abs(found - offset))
                if abs(found - offset) > OFFSET_TOLERANCE_MS:
                    failures.append(f"{file}: av_offset_ms {found:.1f}, made {offset} (> {OFFSET_TOLERANCE_MS} ms)")
            cell = lambda v: "–" if v is None else f"{v:.4f}"
            conf = m.get("av_sync_confidence")
            print(f"| {file} | {len(mine_a)} / {len(ours)} / {len(script_a)} | {len(mine_v)} / {len(farneback)} | "
                  f"{cell(mine)} / {cell(fixed)} / {cell(script)} | {offset} / "
                  f"{'–' if found is None else f'{found:.1f}'} | {'–' if conf is None else f'{conf:.3f}'} |")
        print(f"\n{len(CLIPS)} clips: av_align equal to the fixed method within 1e-9 on {equal_scores}; "
              f"largest |av_offset_ms − made offset| {worst_offset:.1f} ms (gate {OFFSET_TOLERANCE_MS}).")
    finally:
        leave_work(work, keep, WHO)
    if failures:
        print("\nFAILED:\n" + "\n".join("  " + f for f in failures))
        sys.exit(1)
    verify_key(f"{len(CLIPS)} clips: onsets equal librosa's on {equal_onsets}, motion peaks Farnebäck's on {equal_motion} "
               f"(flashes: reported), av_align equal on {equal_scores}, offsets within {worst_offset:.1f} ms")


if __name__ == "__main__":
    main()
