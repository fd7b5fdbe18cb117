# The lean optical-flow peer of scripts/bench (issue 17, item 2): the cheapest
# honest way to get one DIS flow per consecutive pair in Python. PyAV decodes
# on one thread (thread_type NONE, thread_count 1), the Y plane is read
# straight from the decoded frame (no colour conversion), cv2.resize brings it
# to the motion size with INTER_AREA, and OpenCV's DIS runs with one thread
# (cv2.setNumThreads(1)). The motion size is Gallop's: the long side 512 px,
# the short side rounded to an even number (VideoReader.outputSize).
#
# Usage: python bench_flow_peer.py CLIP [--side 512] [--preset medium|gallop]
#   prints "FRAMES PAIRS WIDTH HEIGHT"
# Runs in the one venv (scripts/setup --venv: PyAV, numpy, OpenCV).
import argparse
import math
import sys

import av
import cv2
import numpy as np

from gallopcheck.common import dis

cv2.setNumThreads(1)


def motion_size(w, h, side):
    """VideoReader.outputSize: the long side `side` (even), the other scaled and rounded to an even number."""
    if max(w, h) <= side:
        return w, h
    scale = side / max(w, h)
    even = lambda v: max(2, math.floor(v / 2 + 0.5) * 2)  # Swift's .rounded(): half away from zero
    long_side = side - side % 2
    return (long_side, even(h * scale)) if w >= h else (even(w * scale), long_side)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clip")
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--preset", choices=("medium", "gallop"), default="medium")
    a = ap.parse_args()
    container = av.open(a.clip)
    stream = container.streams.video[0]
    stream.thread_type = "NONE"
    stream.codec_context.thread_count = 1
    flow = dis(a.preset)
    prev, frames, pairs, size = None, 0, 0, None
    for frame in container.decode(stream):
        plane = frame.planes[0]
        if frame.format.name not in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"):
            sys.exit(f"bench_flow_peer: {a.clip}: 8-bit planar YUV expected, got {frame.format.name}")
        y = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)[:, :frame.width]
        if size is None:
            size = motion_size(frame.width, frame.height, a.side)
        small = cv2.resize(y, size, interpolation=cv2.INTER_AREA)
        if prev is not None:
            flow.calc(prev, small, None)
            pairs += 1
        prev = small
        frames += 1
    container.close()
    print(frames, pairs, size[0], size[1])


if __name__ == "__main__":
    main()
