"""Prints librosa 0.11.0's numbers that GallopMetricsTests.OnsetTests stores: entries and sums of the Slaney mel
bank (librosa.filters.mel) and the onset envelope and onset frames (librosa.onset.onset_strength / onset_detect,
their defaults) of a click train, as the Swift lines the test holds.

The click train is rebuilt in the test sample for sample from the same formula (no random numbers): clicks of a
3 kHz tone with a 10 ms exponential decay at the sample positions CLICKS, 22050 Hz mono, float32.
Usage: scripts/gallopcheck/make_librosa_venv, then from scripts/:
    ../.cache/venv-librosa/bin/python -m gallopcheck.onset_fixtures
"""
import numpy as np
import librosa

assert librosa.__version__ == "0.11.0", librosa.__version__

RATE = 22050
SECONDS = 4
CLICKS = [3000, 14000, 24100, 37000, 51234, 66000, 80000]


def click_train():
    n = np.arange(RATE * SECONDS)
    y = np.zeros(len(n), dtype=np.float64)
    for c in CLICKS:
        k = n[c:] - c
        y[c:] += 0.5 * np.sin(2 * np.pi * 3000 * k / RATE) * np.exp(-k / (0.01 * RATE))
    return y.astype(np.float32)


def mel_lines(sr, n_fft, n_mels):
    m = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float64)
    picks = [(0, int(np.argmax(m[0]))), (n_mels // 2, int(np.argmax(m[n_mels // 2]))), (n_mels - 1, int(np.argmax(m[n_mels - 1]))),
             (n_mels // 3, int(np.argmax(m[n_mels // 3])) + 1)]
    entries = ", ".join(f"({b}, {k}, {float(m[b, k])!r})" for b, k in picks)
    print(f"    // librosa.filters.mel(sr={sr}, n_fft={n_fft}, n_mels={n_mels}): sum, band sums 0 and last, entries (band, bin, weight)")
    print(f"    (rate: {sr}, nfft: {n_fft}, bands: {n_mels}, sum: {float(m.sum())!r}, first: {float(m[0].sum())!r}, last: {float(m[-1].sum())!r},")
    print(f"     entries: [{entries}]),")


def main():
    print("    static let melBanks: [MelFixture] = [")
    mel_lines(22050, 2048, 128)
    mel_lines(48000, 2048, 64)
    mel_lines(22050, 1024, 64)
    print("    ]")
    y = click_train()
    env = librosa.onset.onset_strength(y=y, sr=RATE)
    frames = librosa.onset.onset_detect(y=y, sr=RATE)
    print(f"    // librosa.onset.onset_strength / onset_detect of the click train, {RATE} Hz, hop 512, n_fft 2048")
    print(f"    static let clickFrames = {[int(f) for f in frames]}")
    print(f"    static let envelopeCount = {len(env)}")
    print(f"    static let envelopeMax = {float(env.max())!r}")
    peaks = ", ".join(f"{float(env[f])!r}" for f in frames)
    print(f"    static let envelopeAtOnsets: [Double] = [{peaks}]")
    print(f"    static let envelopeSum = {float(env.astype(np.float64).sum())!r}")


if __name__ == "__main__":
    main()
