#!/usr/bin/env python3
"""Renders a report.html in headless Chromium over the DevTools protocol and
fails on anything a reader would see go wrong.

Fails (exit 1) on: a console error or assertion, an uncaught exception, a
browser log entry of level error (a resource that failed to load, a blocked
request), any request that is not the file itself or a data: URI (the report
must work offline), an image that did not decode, a page without text, charts
or thumbnails (a blank page), and a screenshot that is nearly all one colour.
Writes a PNG of the top of the page and, with --moments-shot, one of the worst
moments section. Standard library only: Chromium is driven through
--remote-debugging-pipe (null-terminated JSON on file descriptors 3 and 4).

Usage: check_html.py REPORT.html SHOT.png [--moments-shot SHOT2.png] [--chromium BIN]
"""
import argparse
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

from gallopcheck.common import verify_key

WIDTH = 1400
MOMENTS_WIDTH, MOMENTS_SCALE = 1840, 0.75


class Browser:
    def __init__(self, binary, profile):
        # Our ends: we write commands into `to_chrome`, read replies from `from_chrome`.
        cmd_r, self.to_chrome = os.pipe()
        self.from_chrome, out_w = os.pipe()

        def child_fds():
            # Through fresh numbers first, so neither end lands on the other's target;
            # dup2's copies are inheritable, every other descriptor of ours is not.
            a, b = os.dup(cmd_r), os.dup(out_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--mute-audio", f"--user-data-dir={profile}",
                "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(args, close_fds=False, preexec_fn=child_fds,
                                     stdout=subprocess.DEVNULL, # Chromium's own log (dbus, GPU probing) only with CHECK_HTML_DEBUG=1.
                                     stderr=None if os.environ.get("CHECK_HTML_DEBUG") else subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(out_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True, timeout=60):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            reply = self.read(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def read(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (did it start?)")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_for(self, method, timeout=60):
        deadline = time.time() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self.read(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (2, 6), "unexpected PNG layout"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def inked_share(data):
    """Share of sampled pixels that differ from the most common colour."""
    width, height, channels, rows = png_pixels(data)
    counts = {}
    samples = []
    for y in range(0, height, 4):
        row = rows[y]
        for x in range(0, width, 4):
            pixel = row[x * channels:x * channels + 3]
            samples.append(pixel)
            counts[pixel] = counts.get(pixel, 0) + 1
    background = max(counts, key=counts.get)
    return sum(1 for p in samples if p != background) / max(1, len(samples))


CHECKS = """(() => {
  const imgs = [...document.images];
  const moments = document.getElementById('moments');
  return JSON.stringify({
    text: document.body ? document.body.innerText.trim().length : 0,
    height: document.documentElement.scrollHeight,
    svgs: document.querySelectorAll('svg').length,
    images: imgs.length,
    broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt),
    blocks: document.querySelectorAll('.model-moments').length,
    moments: moments ? moments.getBoundingClientRect().top + window.scrollY : null,
    momentsHeight: moments ? moments.getBoundingClientRect().height : 0,
    external: [...document.querySelectorAll('[src],[href]')].map(e => e.getAttribute('src') || e.getAttribute('href'))
      .filter(u => !u.startsWith('data:') && !u.startsWith('#')),
  });
})()"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("shot")
    ap.add_argument("--moments-shot")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--height", type=int, default=1800, help="height of the top screenshot (px)")
    args = ap.parse_args()
    url = "file://" + os.path.abspath(args.report)
    failures = []
    with tempfile.TemporaryDirectory(prefix="gallop-chromium-") as profile:
        browser = Browser(args.chromium, profile)
        try:
            targets = browser.send("Target.getTargets", session=False)["targetInfos"]
            page = next(t for t in targets if t["type"] == "page")
            browser.session = browser.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
                                           session=False)["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(domain + ".enable")
            browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": WIDTH, "height": args.height, "deviceScaleFactor": 1, "mobile": False})
            started = time.time()
            browser.send("Page.navigate", {"url": url})
            browser.wait_for("Page.loadEventFired")
            load_s = time.time() - started
            result = browser.send("Runtime.evaluate", {"expression": CHECKS, "returnByValue": True})
            page_state = json.loads(result["result"]["value"])

            shot = base64.b64decode(browser.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WIDTH, "height": min(args.height, page_state["height"]), "scale": 1}})["data"])
            with open(args.shot, "wb") as f:
                f.write(shot)
            if args.moments_shot and page_state["moments"] is not None:
                # Wide enough for a model's moments on one row, scaled down to keep the file small.
                browser.send("Emulation.setDeviceMetricsOverride",
                             {"width": MOMENTS_WIDTH, "height": args.height, "deviceScaleFactor": 1, "mobile": False})
                box = json.loads(browser.send("Runtime.evaluate", {"returnByValue": True, "expression":
                    "JSON.stringify((r => [r.top + window.scrollY, r.height])(document.getElementById('moments').getBoundingClientRect()))"})["result"]["value"])
                moments = base64.b64decode(browser.send("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": box[0] - 8, "width": MOMENTS_WIDTH, "height": min(3000, box[1] + 8), "scale": MOMENTS_SCALE}})["data"])
                with open(args.moments_shot, "wb") as f:
                    f.write(moments)
            # Let late console messages arrive.
            browser.send("Runtime.evaluate", {"expression": "1"})
        finally:
            browser.close()

    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            failures.append(f"console {params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            failures.append("uncaught exception: " + params["exceptionDetails"].get("text", ""))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            failures.append(f"browser error ({params['entry'].get('source')}): {params['entry']['text']}")
        elif method == "Network.requestWillBeSent":
            request_url = params["request"]["url"]
            if not (request_url.startswith("data:") or request_url == url or request_url.startswith(url + "#")):
                failures.append(f"network request: {request_url[:120]}")

    s = page_state
    if s["text"] < 200:
        failures.append(f"blank page: {s['text']} characters of text")
    if s["svgs"] == 0:
        failures.append("no chart (no svg element)")
    if s["blocks"] == 0:
        failures.append("no worst-moments block")
    if s["images"] == 0:
        failures.append("no thumbnail")
    if s["broken"]:
        failures.append(f"{len(s['broken'])} image(s) did not decode: {s['broken'][:3]}")
    if s["external"]:
        failures.append(f"external references: {s['external'][:3]}")
    inked = inked_share(shot)
    if inked < 0.02:
        failures.append(f"blank screenshot: {inked:.1%} of pixels differ from the background")

    print(f"check-html: {args.report}: {os.path.getsize(args.report) / 1e6:.2f} MB, loaded in {load_s:.2f} s; "
          f"{s['svgs']} charts, {s['images']} thumbnails in {s['blocks']} model blocks, page {s['height']} px tall; "
          f"screenshot {args.shot} ({inked:.0%} inked)")
    for failure in failures:
        print("check-html: FAIL: " + failure, file=sys.stderr)
    verify_key(f"{s['svgs']} charts, {s['images']} thumbnails, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
