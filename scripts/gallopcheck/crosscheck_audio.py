"""Cross-checks Gallop's loudness_lufs, loudness_range and true_peak_dbtp against FFmpeg's ebur128 filter
(`-af ebur128=metadata=1:peak=true`): FFmpeg 7.0.2 (the static build in PyPI's imageio-ffmpeg 0.7.0 wheel) and, when
an `ffmpeg` is on PATH (Debian's 5.1, `scripts/setup --tools`), that one too.

Usage: python3 -m gallopcheck.crosscheck_audio GALLOP CACHE [--keep]
  GALLOP  the gallop binary; CACHE  a folder for the FFmpeg binary and the generated clips (made once).
Standard library only (runs under the system python3): FFmpeg makes every signal.

What it runs:
 1. Clips, in CACHE/audio: a 64x48 grey FFV1 picture (MP4: MPEG-4 part 2) of the sound's length, muxed with a sound
    FFmpeg 7.0.2 makes from its lavfi sources (sine, aevalsrc, anoisesrc white/pink/brown, amerge, pan) at 22.05, 32,
    44.1 and 48 kHz, mono to 7.1, as 16-bit PCM, FLAC, AAC, Opus and MP3: tones (EBU Tech 3341 cases 1 and 2), noise
    with a 12 dB step, a clipped square wave, music-like mixes of decaying tones, gated bursts, 5.1 pink noise (LFE
    and surround weights) and 7.1 PCM in Matroska (a layout the reader and the CLI both guess).
 2. Gallop: `gallop score FOLDER --metrics loudness_lufs,loudness_range,true_peak_dbtp --jobs 1`.
 3. Each FFmpeg on each clip: `ffmpeg -v error -threads 1 -i CLIP -vn -af ebur128=metadata=1:peak=true,ametadata=print`,
    the last lavfi.r128.I, .LRA and .true_peaks_chN (the summary's state, printed to 3 decimals).
Gates (exit 1), for every peer: |Gallop − FFmpeg| ≤ 0.1 LU for I and LRA (the issue's tolerance); the true peak
equal to FFmpeg's as FFmpeg prints it, linear to 3 decimals (|Δ| ≤ 0.0005 + 1e-6 linear, which is tighter than
0.1 dB above a peak of 0.043 (−27 dBTP) and the finest the print allows below: at 0.022, −33.0 dBTP, it is 0.2 dB); the table
gives the true peaks in dBTP. A clip under 3 s has a null loudness_range in Gallop (FFmpeg prints 0 there) and is
not compared.
"""
import math
import os
import re
import shutil
import sys
import tempfile

from gallopcheck.common import clips_to_make, peer_ffmpeg, positional_args, run_checked, score_rows, verify_key

TOLERANCE = 0.1
WHO = "crosscheck-audio"

# name, container, audio codec arguments, lavfi graph making the sound (its output labelled [a]), seconds.
A23 = 10 ** (-23 / 20)
A33 = 10 ** (-33 / 20)
SIGNALS = [
    ("sine1k-48k-mono-pcm", "mkv", ["-c:a", "pcm_s16le"], "sine=f=1000:r=48000:d=10,volume=0.8[a]", 10),
    ("ebu3341-case1-48k-stereo-pcm", "mkv", ["-c:a", "pcm_s16le"],
     f"aevalsrc={A23:.9f}*sin(2*PI*1000*t)|{A23:.9f}*sin(2*PI*1000*t):s=48000:d=20[a]", 20),
    ("ebu3341-case2-48k-stereo-flac", "mkv", ["-c:a", "flac"],
     f"aevalsrc={A33:.9f}*sin(2*PI*1000*t)|{A33:.9f}*sin(2*PI*1000*t):s=48000:d=20[a]", 20),
    ("noise-step-44k-stereo-pcm", "mkv", ["-c:a", "pcm_s16le"],
     "anoisesrc=c=white:r=44100:a=0.3:seed=1:d=20[n1];anoisesrc=c=pink:r=44100:a=0.3:seed=2:d=20[n2];"
     "[n1][n2]amerge=inputs=2,volume='if(lt(t,10),1,0.25)':eval=frame[a]", 20),
    ("brown-sine-22k-mono-flac", "mkv", ["-c:a", "flac"],
     "anoisesrc=c=brown:r=22050:a=0.2:seed=3:d=8[n];sine=f=220:r=22050:d=8[s];[n][s]amix=inputs=2:normalize=0[a]", 8),
    ("pink-51-48k-flac", "mkv", ["-c:a", "flac"],
     ";".join(f"anoisesrc=c=pink:r=48000:a=0.2:seed={10 + i}:d=12[p{i}]" for i in range(6))
     + ";" + "".join(f"[p{i}]" for i in range(6)) + "amerge=inputs=6,aformat=channel_layouts=5.1[a]", 12),
    ("tones-71-48k-pcm", "mkv", ["-c:a", "pcm_s16le"],
     ";".join(f"sine=f={200 + 110 * i}:r=48000:d=6[t{i}]" for i in range(8))
     + ";" + "".join(f"[t{i}]" for i in range(8)) + "amerge=inputs=8,aformat=channel_layouts=7.1[a]", 6),
    ("clipped-square-48k-mono-pcm", "mkv", ["-c:a", "pcm_s16le"], "aevalsrc='0.999*sgn(sin(2*PI*220*t))':s=48000:d=5[a]", 5),
    ("mix-44k-stereo-aac", "mp4", ["-c:a", "aac", "-b:a", "160k"],
     "aevalsrc='0.3*sin(2*PI*261.6*t)*exp(-3*mod(t,0.5))+0.2*sin(2*PI*329.6*t)*exp(-2*mod(t+0.25,0.75))"
     "|0.25*sin(2*PI*392*t)*exp(-4*mod(t,0.4))+0.1*sin(2*PI*130.8*t)':s=44100:d=9[a]", 9),
    ("mix-48k-stereo-opus", "mkv", ["-c:a", "libopus", "-b:a", "128k"],
     "aevalsrc='0.4*sin(2*PI*440*t)*exp(-5*mod(t,0.6))|0.3*sin(2*PI*660*t)*exp(-3*mod(t,0.9))':s=48000:d=8[a]", 8),
    ("bursts-32k-mono-mp3", "mkv", ["-c:a", "libmp3lame", "-b:a", "128k"],
     "aevalsrc='if(lt(mod(t,4),2),0.3,0.01)*sin(2*PI*500*t)':s=32000:d=16[a]", 16),
    ("short-2s-48k-mono-pcm", "mkv", ["-c:a", "pcm_s16le"], "anoisesrc=c=pink:r=48000:a=0.25:seed=7:d=2[a]", 2),
]


def run(cmd, **kw):
    return run_checked(WHO, cmd, **kw)


def make_clips(ff, folder):
    for (name, ext, codec, graph, seconds), path in clips_to_make(WHO, folder, ((s, f"{s[0]}.{s[1]}") for s in SIGNALS)):
        video = ["-c:v", "ffv1"] if ext == "mkv" else ["-c:v", "mpeg4", "-q:v", "4"]
        part = path + ".part." + ext
        run([ff, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=gray:s=64x48:r=24:d={seconds}",
             "-filter_complex", graph, "-map", "0:v", "-map", "[a]"] + video + codec + ["-shortest", part])
        os.replace(part, path)


def ebur128(ff, path):
    """FFmpeg's last I, LRA (LU) and true peak (linear, the largest channel's, as printed: 3 decimals) on the clip's sound."""
    out = run([ff, "-nostdin", "-v", "error", "-threads", "1", "-i", path, "-vn", "-af",
               "ebur128=metadata=1:peak=true,ametadata=print:file=-", "-f", "null", "-"], text=True).stdout
    def last(key):
        found = re.findall(r"lavfi\.r128\." + key + r"=(\S+)", out)
        return float(found[-1]) if found else math.nan
    channels = {int(k): float(v) for k, v in re.findall(r"lavfi\.r128\.true_peaks_ch(\d+)=(\S+)", out)}
    peak = max(channels.values()) if channels else math.nan
    return last("I"), last("LRA"), peak


def db(x):
    return 20 * math.log10(x) if x > 0 else -math.inf


def main():
    (gallop, cache), keep = positional_args(__doc__, 2)
    peers = [("7.0.2", peer_ffmpeg(cache, WHO))]
    system = shutil.which("ffmpeg")
    if system:
        version = run([system, "-hide_banner", "-version"], text=True).stdout.split()[2]
        peers.insert(0, (version.split("-")[0], system))
    folder = os.path.join(cache, "audio")
    make_clips(peers[-1][1], folder)
    work = tempfile.mkdtemp(prefix="gallop-audio.")
    failures = []
    try:
        rows = score_rows(gallop, folder, os.path.join(work, "out"), "loudness_lufs,loudness_range,true_peak_dbtp", WHO)
        print("## loudness against FFmpeg's ebur128 (`-af ebur128=metadata=1:peak=true`)\n")
        head = " | ".join(f"FFmpeg {v} I / LRA / TP" for v, _ in peers)
        print(f"| clip | Gallop I / LRA / TP | {head} | max \\|Δ\\| I / LRA / TP |")
        print("|---|---|" + "---|" * len(peers) + "---|")
        worst = [0.0, 0.0, 0.0]
        for name, ext, *_ in SIGNALS:
            file = f"{name}.{ext}"
            row = rows.get(file)
            if row is None or row.get("status") != "ok":
                failures.append(f"{file}: no ok row ({row and row.get('error')})")
                continue
            m = row["metrics"]
            mine = (m.get("loudness_lufs"), m.get("loudness_range"), m.get("true_peak_dbtp"))
            cells, deltas = [], [0.0, 0.0, 0.0]
            for version, ff in peers:
                i, lra, peak = ebur128(ff, os.path.join(folder, file))
                theirs = (i, lra, db(peak))
                cells.append(" / ".join(f"{v:.3f}" for v in theirs))
                if mine[2] is not None and not abs(10 ** (mine[2] / 20) - peak) <= 0.0005 + 1e-6:
                    failures.append(f"{file}: true peak Gallop {10 ** (mine[2] / 20):.6f}, FFmpeg {version} prints {peak:.3f}")
                for k, (a, b) in enumerate(zip(mine, theirs)):
                    label = ("I", "LRA", "TP")[k]
                    if k == 1 and a is None:
                        if row["duration"] >= 3:
                            failures.append(f"{file}: Gallop's loudness_range is null on {row['duration']} s")
                        continue
                    if a is None:
                        failures.append(f"{file}: Gallop's {label} is null, FFmpeg {version} {b}")
                        continue
                    d = abs(a - b)
                    deltas[k] = max(deltas[k], d)
                    if k < 2 and not d <= TOLERANCE:
                        failures.append(f"{file}: {label} Gallop {a:.3f}, FFmpeg {version} {b:.3f} (Δ {d:.3f} > {TOLERANCE})")
            worst = [max(w, d) for w, d in zip(worst, deltas)]
            gallop_cell = " / ".join("–" if v is None else f"{v:.3f}" for v in mine)
            print(f"| {file} | {gallop_cell} | {' | '.join(cells)} | {deltas[0]:.3f} / {deltas[1]:.3f} / {deltas[2]:.3f} |")
        print(f"\nLargest |Δ| over {len(SIGNALS)} clips and {len(peers)} FFmpeg build(s): I {worst[0]:.3f} LU, "
              f"LRA {worst[1]:.3f} LU (gate {TOLERANCE}); true peak {worst[2]:.3f} dB against FFmpeg's 3-decimal linear print "
              f"(gate: equal to it within its rounding).")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\nFAILED:\n" + "\n".join("  " + f for f in failures))
        sys.exit(1)
    verify_key(f"{len(SIGNALS)} clips: I within {worst[0]:.3f} LU, LRA {worst[1]:.3f} LU of ebur128, true peaks equal to its print")


if __name__ == "__main__":
    main()
