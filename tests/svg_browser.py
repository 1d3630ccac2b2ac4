#!/usr/bin/env python3
"""rotary check --svg in a real browser: headless Chromium renders the pictures to PNG.

    svg_browser.py ROTARY WORK_DIR

Checks, for a minutely year in Europe/Berlin (with an outage) and two weeks (one lapsing, one
holding): `rotary check` writes well-formed SVG (xml.etree), the year under 500 KB; Chromium
renders each to a PNG of the SVG's size (decoded here with zlib, no imaging library); red pixels
appear where the lapse and the failed runs are drawn and nowhere else, and not at all in the
holding week; the slack curve and the deadline line are drawn. Exits 77 (ctest: skipped) when
no Chromium is installed (scripts/setup installs Debian's `chromium`).
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

SVG = "{http://www.w3.org/2000/svg}"
PLOT_LEFT = 80  # the plot's left edge in report_svg.hpp
failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print("FAIL: " + message)
    return ok


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(browser, svg_path, png_path, width, height, home):
    """Renders svg_path to png_path at width x height CSS pixels, device scale 1."""
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
               XDG_CACHE_HOME=os.path.join(home, ".cache"))
    args = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
            "--disable-dev-shm-usage", "--force-device-scale-factor=1",
            "--user-data-dir=" + os.path.join(home, "profile"),
            "--screenshot=" + png_path, "--window-size=%d,%d" % (width, height),
            "file://" + os.path.abspath(svg_path)]
    done = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=180, check=False)
    if not os.path.exists(png_path):
        print(done.stdout.decode(errors="replace")[-2000:])
        raise SystemExit("chromium wrote no " + png_path)


def decode_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(path + ": not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise ValueError("%s: unsupported PNG (depth %d, colour type %d, interlace %d)"
                         % (path, depth, colour, interlace))
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, previous, at = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        previous = line
    return width, height, rows


def is_red(p):  # the picture's red, #d33, and its darker anti-aliased edges
    r, g, b = p
    return r >= 170 and g <= 110 and b <= 110 and r - g >= 90


def is_slack_blue(p):  # #1f5fa8
    r, g, b = p
    return r <= 90 and 60 <= g <= 140 and b >= 140


def red_columns(rows, left=0):
    """x -> number of red pixels in that column, for x >= left."""
    out = {}
    for row in rows:
        for x, p in enumerate(row):
            if x >= left and is_red(p):
                out[x] = out.get(x, 0) + 1
    return out


def run_check(rotary, args, svg, expect_exit):
    done = subprocess.run([rotary, "check", *args, "--svg", svg], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300, check=False)
    check(done.returncode == expect_exit, "rotary check %s: exit %d, expected %d: %s"
          % (" ".join(args), done.returncode, expect_exit, done.stderr.decode(errors="replace")))
    text = open(svg, encoding="utf-8").read()
    root = ET.fromstring(text)  # raises on malformed XML
    check(root.tag == SVG + "svg", svg + ": the root is not <svg>")
    return text, root, int(float(root.get("width"))), int(float(root.get("height")))


def elements(root, cls):
    return [e for e in root.iter() if e.get("class") == cls]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    rotary, work = sys.argv[1], sys.argv[2]
    browser = chromium()
    if not browser:
        print("SKIP: no chromium on this machine (scripts/setup installs Debian's chromium)")
        return 77
    os.makedirs(work, exist_ok=True)
    home = tempfile.mkdtemp(prefix="chromium-home-", dir=work)

    # A minutely year in Europe/Berlin with a 6-hour outage: holds, with failed runs in July.
    year_svg = os.path.join(work, "year.svg")
    text, root, w, h = run_check(rotary, [
        "--cron", "* * * * *", "--tz", "Europe/Berlin", "--period", "1440",
        "--from", "2027-01-01T00:00:00Z", "--outage", "2027-07-14T20:00:00Z/6h"], year_svg, 0)
    size = os.path.getsize(year_svg)
    print("year.svg: %d bytes" % size)
    check(size < 500_000, "the minutely year is %d bytes, not under 500 KB" % size)
    check(not elements(root, "token"), "the year has per-token bars")
    check(len(elements(root, "dst")) == 2, "the year in Berlin has not two DST marks")
    captions = [e.text for e in elements(root, "axis-caption")]
    check(captions and captions[0].startswith("local time in Europe/Berlin"),
          "the year's axis caption is %r" % captions)
    check(elements(root, "worst-gap") and elements(root, "worst-gap-label"), "no worst gap drawn")
    failed = elements(root, "failed")
    check(len(failed) == 1, "the year's failed runs are not drawn")
    year_png = os.path.join(work, "year.png")
    render(browser, year_svg, year_png, w, h, home)
    pw, ph, rows = decode_png(year_png)
    check((pw, ph) == (w, h), "year.png is %dx%d, expected %dx%d" % (pw, ph, w, h))
    reds = red_columns(rows, PLOT_LEFT)  # the plot: the legend's swatches are left of it
    outage_x = float(failed[0].get("d")[1:].split()[0]) if failed else -100
    check(reds, "year.png has no red pixels (the failed runs in July)")
    check(all(abs(x - outage_x) <= 3 for x in reds),
          "year.png has red away from the outage at x=%.1f: columns %s" % (outage_x, sorted(reds)[:20]))
    blue = sum(1 for row in rows for p in row if is_slack_blue(p))
    check(blue > 800, "year.png: the slack curve has %d pixels, expected more than 800" % blue)

    # A week over the spring-forward night: a 25-hour outage lapses the 24-hour token.
    week_svg = os.path.join(work, "week-lapse.svg")
    text, root, w, h = run_check(rotary, [
        "--cron", "0 */6 * * *", "--tz", "Europe/Berlin", "--period", "1440",
        "--from", "2027-03-24T00:00:00Z", "--horizon", "7d",
        "--outage", "2027-03-29T00:00:00Z/25h"], week_svg, 1)
    check(len(elements(root, "token")) > 10, "the week has no per-token bars")
    check(len(elements(root, "dst")) == 1, "the week has not one DST mark")
    lapse = elements(root, "lapse")
    check(len(lapse) == 1, "the lapse is not drawn")
    week_png = os.path.join(work, "week-lapse.png")
    render(browser, week_svg, week_png, w, h, home)
    pw, ph, rows = decode_png(week_png)
    check((pw, ph) == (w, h), "week-lapse.png is %dx%d, expected %dx%d" % (pw, ph, w, h))
    reds = red_columns(rows, PLOT_LEFT)
    lapse_x = float(lapse[0].get("x1")) if lapse else -100
    line = max((n for x, n in reds.items() if abs(x - lapse_x) <= 1.5), default=0)
    check(line >= 150, "week-lapse.png: the lapse line at x=%.1f has %d red pixels, expected a line"
          % (lapse_x, line))
    check(sum(reds.values()) > line, "week-lapse.png: no red failed runs besides the lapse line")

    # The same week without the outage holds: no red anywhere.
    ok_svg = os.path.join(work, "week-holds.svg")
    text, root, w, h = run_check(rotary, [
        "--cron", "0 */6 * * *", "--tz", "Europe/Berlin", "--period", "1440",
        "--from", "2027-03-24T00:00:00Z", "--horizon", "7d"], ok_svg, 0)
    ok_png = os.path.join(work, "week-holds.png")
    render(browser, ok_svg, ok_png, w, h, home)
    pw, ph, rows = decode_png(ok_png)
    check((pw, ph) == (w, h), "week-holds.png is %dx%d, expected %dx%d" % (pw, ph, w, h))
    reds = red_columns(rows)
    check(not reds, "week-holds.png has %d red pixels" % sum(reds.values()))
    blue = sum(1 for row in rows for p in row if is_slack_blue(p))
    check(blue > 200, "week-holds.png: the slack curve has %d pixels" % blue)

    shutil.rmtree(home, ignore_errors=True)
    print("svg_browser: " + ("%d checks failed" % len(failures) if failures else "all checks passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
