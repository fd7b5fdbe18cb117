# The OpenCV side of scripts/bench's optical-flow rows (run in the one venv, scripts/setup --venv): see scripts/bench.
# Decode with cv2.VideoCapture, gray, 512 px long side (INTER_AREA), one DIS flow per consecutive pair.
import sys
import cv2
from gallopcheck import common
cv2.setNumThreads(1)
clip, side, params = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cap = cv2.VideoCapture(clip, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
if not cap.isOpened():
    sys.exit(f"opencv_flow: cannot open {clip}")
dis = common.dis("medium" if params == "medium" else "gallop")
prev, frames, pairs, size = None, 0, 0, None
while True:
    ok, frame = cap.read()
    if not ok:
        break
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    scale = side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    if prev is not None:
        dis.calc(prev, small, None)
        pairs += 1
    prev = small
    frames += 1
print(frames, pairs, size[0], size[1])
