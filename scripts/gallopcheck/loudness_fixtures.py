"""Prints FFmpeg's ebur128 numbers (integrated loudness I, loudness range LRA, per-channel true peak) for the
generated signals GallopMetricsTests.LoudnessTests measures, as the Swift lines the test stores.

The signals are rebuilt here sample for sample as Sources/GallopSynth/SyntheticAudio.swift makes them (SplitMix64,
Kellet's pink filter, float32 rounding, then double) and piped to ffmpeg as raw f64le, so FFmpeg measures exactly
the samples the test feeds to Gallop's meter. Standard library only.
Usage (from scripts/): python3 -m gallopcheck.loudness_fixtures [FFMPEG]   (default: ffmpeg on PATH, Debian's 5.1)
"""
import math
import re
import struct
import subprocess
import sys

from gallopcheck.common import SplitMix64

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def tone(freq, amp, seconds, rate, phase=0.0):
    n = int(round(seconds * rate))
    w = 2 * math.pi * freq / rate
    return [f32(amp * math.sin(w * i + phase)) for i in range(n)]


def noise(seed, rms, seconds, rate, color="white"):
    n = int(round(seconds * rate))
    rng = SplitMix64(seed)
    raw = [0.0] * n
    b0 = b1 = b2 = 0.0
    for i in range(n):
        white = 2 * rng.uniform() - 1
        if color == "white":
            raw[i] = white
        else:
            b0 = 0.99765 * b0 + white * 0.0990460
            b1 = 0.96300 * b1 + white * 0.2965164
            b2 = 0.57000 * b2 + white * 1.0526913
            raw[i] = b0 + b1 + b2 + white * 0.1848
    power = 0.0
    for v in raw:
        power = power + v * v
    power /= max(n, 1)
    gain = rms / math.sqrt(power) if power > 0 else 0
    return [f32(v * gain) for v in raw]


def signals():
    """name -> (rate, layout, channels as lists of doubles); the same list as LoudnessTests.signals()."""
    out = {}
    out["sine1k_48k"] = (48000, "mono", [tone(1000, 0.1, 10, 48000)])
    a23 = 10 ** (-23 / 20)
    out["ebu3341_1"] = (48000, "stereo", [tone(1000, a23, 20, 48000)] * 2)
    a33 = 10 ** (-33 / 20)
    out["ebu3341_2"] = (48000, "stereo", [tone(1000, a33, 20, 48000)] * 2)
    left = noise(1, 0.1, 10, 44100) + [v * 0.25 for v in noise(3, 0.1, 10, 44100)]
    right = noise(2, 0.1, 10, 44100) + [v * 0.25 for v in noise(4, 0.1, 10, 44100)]
    out["step_44k"] = (44100, "stereo", [[f32(v) for v in left], [f32(v) for v in right]])
    s = tone(220, 0.3, 8, 22050)
    p = noise(5, 0.05, 8, 22050, "pink")
    out["sine_pink_s16_22k"] = (22050, "mono", [[round((a + b) * 32768) / 32768 for a, b in zip(s, p)]])
    out["pink51_48k"] = (48000, "5.1", [noise(10 + c, 0.05, 12, 48000, "pink") for c in range(6)])
    bursts = []
    for k in range(8):
        bursts += tone(500, 0.3 if k % 2 == 0 else 0.01, 2, 32000)
    out["bursts_32k"] = (32000, "mono", [bursts])
    return out


def measure(ffmpeg, rate, layout, channels):
    n = len(channels[0])
    data = bytearray()
    for i in range(n):
        for c in channels:
            data += struct.pack("<d", c[i])
    cmd = [ffmpeg, "-v", "error", "-threads", "1", "-f", "f64le", "-ar", str(rate), "-ch_layout", layout, "-i", "-",
           "-af", "ebur128=metadata=1:peak=true,ametadata=print:file=-", "-f", "null", "-"]
    text = subprocess.run(cmd, input=bytes(data), capture_output=True, check=True).stdout.decode()
    last = lambda key: re.findall(r"lavfi\.r128\." + re.escape(key) + r"=(-?[\d.]+|-?inf)", text)[-1]
    peaks = [float(last("true_peaks_ch%d" % c)) for c in range(len(channels))]
    return float(last("I")), float(last("LRA")), peaks


def main():
    ffmpeg = sys.argv[1] if len(sys.argv) > 1 else "ffmpeg"
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    print("// " + version)
    for name, (rate, layout, channels) in signals().items():
        i, lra, peaks = measure(ffmpeg, rate, layout, channels)
        print('("%s", %.3f, %.3f, [%s]),' % (name, i, lra, ", ".join("%.6f" % p for p in peaks)))


if __name__ == "__main__":
    main()
