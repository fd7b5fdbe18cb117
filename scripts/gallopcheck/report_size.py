# Prints report.html's size and what it is made of (thumbnails, charts, the rest): see scripts/lib/verify/report-size (scripts/verify report-size).
import re, sys

from gallopcheck.common import verify_key
html = open(sys.argv[1], encoding="utf-8").read()
size = len(html.encode())
images = re.findall(r'data:image/[a-z]+;base64,[A-Za-z0-9+/=]*', html)
svgs = re.findall(r'<svg .*?</svg>', html, re.S)
clips = re.search(r'(\d+) clips? from (\d+) models?', html)
image_bytes = sum(len(i) for i in images)
svg_bytes = sum(len(s.encode()) for s in svgs)
verify_key(f"{clips.group(1)} clips: {size / 1e6:.2f} MB")
print(f"report-size: {sys.argv[1]}: {clips.group(1)} clips, {clips.group(2)} models: {size / 1e6:.2f} MB "
      f"({size} bytes): {len(images)} thumbnails {image_bytes / 1e6:.2f} MB, {len(svgs)} charts {svg_bytes / 1e6:.2f} MB, "
      f"the rest {(size - image_bytes - svg_bytes) / 1e6:.2f} MB")
