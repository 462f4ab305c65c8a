#!/usr/bin/env python3
"""The HTML part of a received message shown in a real browser, as a mail program shows it.

Debian's Chromium, headless, takes a screenshot of the page with each cid: reference pointed at
the inline part it names (saved beside the page, as a mail program does); then pixel checks on
the screenshot: the page is not blank, the chart is shown (each of its four bars, by its
colour and size), and the table has its rows (its horizontal borders).

    browser.py MESSAGE.eml OUT_DIR     (prints the checks; exits 1 when one fails)
"""

import email
import email.policy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

# tests/data/report/chart.png: four bars, each 50 px wide, of these colours and heights.
BARS = [((31, 119, 180), 60), ((255, 127, 14), 120), ((44, 160, 44), 90), ((214, 39, 40), 140)]
# The Markdown stylesheet's line colour (table and heading borders, code block frame).
LINE = (209, 217, 224)
WIDTH, HEIGHT = 1000, 1400


def chromium():
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def page_of(message_bytes, folder):
    """Writes the message's HTML part as folder/page.html, its inline parts beside it, each
    cid: reference replaced by the saved file's name. Returns the page's path and the
    Content-IDs found."""
    message = email.message_from_bytes(message_bytes, policy=email.policy.default)
    html = message.get_body(preferencelist=("html",)).get_content()
    ids = []
    for number, part in enumerate(message.walk()):
        content_id = part.get("Content-ID")
        if not content_id:
            continue
        content_id = content_id.strip().strip("<>")
        ids.append(content_id)
        saved = f"inline-{number}-{Path(part.get_filename() or 'image').name}"
        (folder / saved).write_bytes(part.get_payload(decode=True))
        html = html.replace(f"cid:{content_id}", saved)
    page = folder / "page.html"
    page.write_text(html, encoding="utf-8")
    return page, ids


def screenshot(page, png, profile):
    """Headless Chromium with a fresh profile and no network of its own; the screenshot of
    the local page at 1000x1400, scale 1."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    done = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
         "--force-device-scale-factor=1", "--hide-scrollbars", f"--screenshot={png}",
         page.as_uri()],
        capture_output=True, timeout=120)
    if not png.exists():
        raise RuntimeError(f"no screenshot (exit {done.returncode}): "
                           f"{done.stderr.decode(errors='replace')[-1500:]}")


def near(pixel, colour, tolerance=6):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour))


def pixel_checks(png):
    """(name, passed, detail) for each check of the screenshot."""
    image = Image.open(png).convert("RGB")
    width, height = image.size
    pixels = image.load()
    results = []
    inked = sum(1 for y in range(height) for x in range(width)
                if not near(pixels[x, y], (255, 255, 255), 8))
    colours = len(image.getcolors(maxcolors=1 << 20) or [])
    results.append(("the page is not blank",
                    inked > width * height // 100 and colours > 50,
                    f"{inked} of {width * height} pixels not white, {colours} colours"))
    for colour, bar_height in BARS:
        area = 50 * bar_height
        count = sum(1 for y in range(height) for x in range(width) if near(pixels[x, y], colour))
        results.append((f"the chart's bar rgb{colour} is shown ({area} px)",
                        0.95 * area <= count <= 1.05 * area, f"{count} px of that colour"))
    lines = table_borders(pixels, width, height)
    results.append(("the table has its head and three rows (5 horizontal borders)",
                    len(lines) == 5, f"table borders at y = {lines}"))
    return results


def table_borders(pixels, width, height):
    """The rows y holding a horizontal run of the line colour as long as the report's table
    (200 to 600 px; heading rules and the code block frame are wider)."""
    rows = []
    for y in range(height):
        run = longest = 0
        for x in range(width):
            run = run + 1 if near(pixels[x, y], LINE, 4) else 0
            longest = max(longest, run)
        if 200 <= longest <= 600:
            rows.append(y)
    return rows


def main():
    message, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smtpsend-browser-") as work:
        page, _ = page_of(message.read_bytes(), out)
        screenshot(page, out / "screenshot.png", Path(work) / "profile")
    results = pixel_checks(out / "screenshot.png")
    for name, passed, detail in results:
        print(f"{'PASS' if passed else 'FAIL'} {name}: {detail}")
    return 0 if all(passed for _, passed, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
