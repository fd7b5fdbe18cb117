"""Writes Tests/GallopLearnedTests/Fixtures/learned/preprocess.json: VBench 0.1.5's frame preprocessing and PyTorch's
`F.interpolate`, computed by torchvision's and PyTorch's own code, for GallopLearnedTests (PreprocessTests,
InterpolateTests) to hold Sources/GallopLearned/Preprocess.swift and Interpolate.swift to.

Runs in the learned venv (scripts/setup --venv-learned, .cache/venv-learned), or a throwaway one with the same pins:
  python3 -m venv /tmp/prepvenv
  /tmp/prepvenv/bin/pip install torch==2.13.0+cpu torchvision==0.28.0 numpy==2.3.3
Usage (from scripts/):
  ../.cache/venv-learned/bin/python -m gallopcheck.preprocess_fixtures \
      ../Tests/GallopLearnedTests/Fixtures/learned/preprocess.json
  ../.cache/venv-learned/bin/python -m gallopcheck.preprocess_fixtures --crosscheck ../.build/debug/gallop-embed

`--crosscheck GALLOP_EMBED` runs `gallop-embed preprocess` at VBench's size 224 on two seeded frames (a smooth
pattern plus noise) at each of 1280 × 720, 720 × 1280, 1920 × 1080, 1024 × 576, 854 × 480, 640 × 360 and 224 × 224
against the transforms below, prints the largest difference of each, and exits 1 when one exceeds 1e-5.

`images`: seeded uint8 RGB images, each run through VBench's `dino_transform(n)` and `clip_transform(n)` (vbench/utils.py
33-54, copied below) with a test-only size n = 16 instead of 224, on the tensor VBench's `load_video` makes
(utils.py 173-175: `torch.Tensor(frames).permute(0, 3, 1, 2)`, float32 0…255 in a channels-last batch). The shapes
exercise down- and up-scaling, portrait and landscape, centre-crop margins of 9, 11 and 13 (offsets 4.5 → 4,
5.5 → 6, 6.5 → 6: Python's half-to-even `round`), and images already at the target size (returned unchanged by
Resize). `interpolate`: `F.interpolate` bilinear and bicubic (align_corners False) by size and by scale factor on
small grids, DINO's position-embedding interpolation (vision_transformer.py 174-194: `scale_factor = (H // P + 0.1) / N`,
bicubic, on the N × N grid of a C-channel embedding, given channels last as the embeddings are stored) and single
rows at video widths (1280 → 398, 720 → 224, 100 → 224), where float32 rounding of the source coordinates shows.

torchvision's package `__init__` loads its compiled operators, which the PyPI build cannot register against the +cpu
torch wheel ("operator torchvision::nms does not exist"); the transforms need none of them, so the package is
entered without running its `__init__` and `torchvision.transforms` is imported from it as usual.
"""
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch
import torch.nn.functional as F

_spec = importlib.util.find_spec("torchvision")
_package = types.ModuleType("torchvision")
_package.__path__ = list(_spec.submodule_search_locations)
_package.__spec__ = _spec
sys.modules["torchvision"] = _package
from torchvision import transforms  # noqa: E402
from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize  # noqa: E402

BICUBIC = InterpolationMode.BICUBIC
PINS = {"torch": "2.13.0+cpu", "torchvision": "0.28.0", "numpy": "2.3.3"}
SIZE = 16


# vbench/utils.py 33-39 and 49-54 (VBench 0.1.5), verbatim.
def clip_transform(n_px):
    return Compose([
        Resize(n_px, interpolation=BICUBIC, antialias=False),
        CenterCrop(n_px),
        transforms.Lambda(lambda x: x.float().div(255.0)),
        Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    ])


def dino_transform(n_px):
    return Compose([
        Resize(size=n_px, antialias=False),
        transforms.Lambda(lambda x: x.float().div(255.0)),
        Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    ])


# (name, height, width): resized short side → 16, long side int(16 · long / short); the centre crop's margin.
IMAGES = [
    ("landscape-down-margin-9", 27, 43),   # → 16 × 25, left 4.5 → 4
    ("portrait-down-margin-11", 46, 27),   # → 27 × 16, top 5.5 → 6
    ("portrait-down-2.2x", 36, 26),        # → 22 × 16, top 3
    ("landscape-up-margin-13", 6, 11),     # → 16 × 29, left 6.5 → 6
    ("portrait-up", 9, 5),                 # → 28 × 16, top 6
    ("square-at-size", 16, 16),            # unchanged by Resize, crop is the whole image
    ("landscape-at-size", 16, 21),         # unchanged by Resize, left 2.5 → 2
    ("square-down", 21, 21),               # → 16 × 16
]


def vbench_tensor(frames_uint8):
    """utils.py 173-175: (T, H, W, C) uint8 → float32 (T, C, H, W), a channels-last view."""
    frames = torch.Tensor(frames_uint8)
    return frames.permute(0, 3, 1, 2)


def floats(values):
    """float32 values as the shortest decimal that reads back to the same float32 (at most 9 significant digits);
    whole numbers as integers."""
    out = []
    for v in np.asarray(values, np.float32).ravel():
        out.append(int(v) if v == np.round(v) and abs(v) < 2 ** 24 else float(np.format_float_scientific(v, unique=True)))
    return out


def image_case(rng, name, h, w):
    pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    # Smooth structure plus noise, so interpolation errors are not hidden by a flat image.
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = (127 + 120 * np.sin(xx / 3.0 + yy / 5.0))[..., None]
    pixels = np.clip(0.5 * pixels + 0.5 * ramp, 0, 255).astype(np.uint8)
    batch = vbench_tensor(pixels[None])
    assert batch.is_contiguous(memory_format=torch.channels_last)
    out = {"name": name, "height": h, "width": w, "pixels": [int(v) for v in pixels.ravel()]}
    for key, transform in (("dino", dino_transform(SIZE)), ("clip", clip_transform(SIZE))):
        result = transform(batch)[0]
        # The same on a contiguous (NCHW) tensor: ATen's channels-last and generic kernels agree to rounding.
        again = transform(batch.contiguous())[0]
        assert float((result - again).abs().max()) < 1e-5, (name, key)
        out[key] = {"height": int(result.shape[1]), "width": int(result.shape[2]), "values": floats(result.contiguous())}
    short, long = min(h, w), max(h, w)
    resized = (SIZE, int(SIZE * long / short))
    assert (out["dino"]["height"], out["dino"]["width"]) == (resized if h <= w else resized[::-1]), name
    assert (out["clip"]["height"], out["clip"]["width"]) == (SIZE, SIZE), name
    return out


def interpolate_case(name, x, mode, layout, size=None, scale_factor=None):
    """x: (C, H, W) float32. Channels-last cases are given and expected as H × W × C."""
    c, h, w = x.shape
    t = torch.from_numpy(x)[None]
    if size is not None:
        y = F.interpolate(t, size=size, mode=mode, align_corners=False)
    else:
        y = F.interpolate(t, scale_factor=scale_factor, mode=mode, align_corners=False)
    y = y[0].numpy()
    if layout == "channels_last":
        x, y = x.transpose(1, 2, 0), y.transpose(1, 2, 0)
    case = {"name": name, "mode": mode, "layout": layout, "channels": c, "height": h, "width": w}
    if size is not None:
        case["size"] = list(size)
    else:
        case["scale_factor"] = list(scale_factor)
    case["input"] = floats(x)
    case["output"] = floats(y)
    return case


def interpolate_cases(rng):
    cases = []
    grid = rng.standard_normal((2, 5, 7)).astype(np.float32)
    for mode in ("bilinear", "bicubic"):
        cases.append(interpolate_case(f"{mode}-up-5x7-to-9x13", grid, mode, "channels_first", size=(9, 13)))
        cases.append(interpolate_case(f"{mode}-mixed-5x7-to-3x9", grid, mode, "channels_first", size=(3, 9)))
        cases.append(interpolate_case(f"{mode}-factor-5x7-by-1.7x0.6", grid, mode, "channels_first", scale_factor=(1.7, 0.6)))
    # DINO's position interpolation: pos grid N × N (N = 4 in the tiny fixtures, 14 in ViT-B/16), patch P.
    for n, p, (height, width), c in ((4, 8, (32, 48), 8), (4, 8, (48, 32), 8), (4, 8, (40, 56), 8),
                                     (14, 16, (224, 398), 2), (14, 16, (398, 224), 2)):
        pos = (0.02 * rng.standard_normal((c, n, n))).astype(np.float32)
        w0, h0 = height // p + 0.1, width // p + 0.1
        cases.append(interpolate_case(f"dino-pos-{n}x{n}-for-{height}x{width}", pos, "bicubic", "channels_last",
                                      scale_factor=(w0 / n, h0 / n)))
    # Single rows at video widths, 0…255 integers as frames hold them.
    for mode in ("bilinear", "bicubic"):
        for src, dst in ((1280, 398), (720, 224), (100, 224)):
            row = rng.integers(0, 256, size=(1, 1, src)).astype(np.float32)
            cases.append(interpolate_case(f"{mode}-row-{src}-to-{dst}", row, mode, "channels_first", size=(1, dst)))
    return cases


def crosscheck(embed):
    """gallop-embed preprocess against the transforms at full size; returns the number of sizes over 1e-5."""
    rng = np.random.default_rng(5)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        frames_path, out_path = os.path.join(tmp, "frames.rgb"), os.path.join(tmp, "out.f32")
        for h, w in ((720, 1280), (1280, 720), (1080, 1920), (576, 1024), (480, 854), (360, 640), (224, 224)):
            yy, xx = np.mgrid[0:h, 0:w]
            pattern = (127 + 120 * np.sin(xx / 7.0 + yy / 11.0))[None, ..., None]
            frames = np.clip(0.6 * pattern + 0.4 * rng.integers(0, 256, size=(2, h, w, 3)), 0, 255).astype(np.uint8)
            frames.tofile(frames_path)
            for kind, transform in (("dino", dino_transform(224)), ("clip", clip_transform(224))):
                want = transform(vbench_tensor(frames)).contiguous().numpy()
                subprocess.run([embed, "preprocess", kind, frames_path, out_path, "--frames", "2", str(h), str(w)],
                               check=True, stderr=subprocess.DEVNULL)
                got = np.fromfile(out_path, dtype="<f4")
                if got.size != want.size:
                    print(f"{w} x {h} {kind}: {got.size} floats, want {want.size}")
                    failures += 1
                    continue
                worst = float(np.abs(got.reshape(want.shape) - want).max())
                print(f"{w} x {h} {kind} -> {want.shape[3]} x {want.shape[2]}: max |diff| {worst:.3g}")
                failures += worst > 1e-5
    return failures


def main():
    crosscheck_mode = len(sys.argv) == 3 and sys.argv[1] == "--crosscheck"
    if len(sys.argv) != 2 and not crosscheck_mode:
        sys.exit("usage: python -m gallopcheck.preprocess_fixtures OUT.json | --crosscheck GALLOP_EMBED")
    for name, want in PINS.items():
        got = importlib.metadata.version(name)
        if got != want:
            sys.exit(f"preprocess_fixtures: {name} is {got}, want {want}")
    torch.set_num_threads(1)
    if crosscheck_mode:
        sys.exit(1 if crosscheck(sys.argv[2]) else 0)
    rng = np.random.default_rng(20261203)
    fixture = {
        "made_by": "scripts/gallopcheck/preprocess_fixtures.py (torch %s, torchvision %s, numpy %s, CPU capability %s)"
                   % (torch.__version__, importlib.metadata.version("torchvision"), np.__version__,
                      torch.backends.cpu.get_cpu_capability()),
        "size": SIZE,
        "interpolate": interpolate_cases(rng),
        "images": [image_case(rng, *spec) for spec in IMAGES],
    }
    with open(sys.argv[1], "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
