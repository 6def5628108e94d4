"""Render a report's HTML page in headless Chromium and save what a reader sees.

    python docs/report_screenshot.py REPORT_DIR [--out DIR]        # an existing report (report.html)
    python docs/report_screenshot.py --runs RUNS... --out DIR      # build the report first
    make report-screenshot                                         # the demo sweep of tests/_report_runs.py

Writes ``screen.png`` (the first screen, 1600×1000: the summary must be readable here) and
``page.png`` (the whole page, up to 16,000 px). Needs a Chromium binary (Debian:
``apt-get install chromium``); not part of the test suite or CI.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PAGE_HEIGHT = 16000  # the whole page is shot in one tall window, then trimmed
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("report_screenshot: no Chromium found; install it (Debian: apt-get install -y chromium)")


def shoot(html: Path, png: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={png}", html.resolve().as_uri()], check=True, capture_output=True, timeout=120)


def trim_bottom(png: Path, margin: int = 40) -> None:
    """Cut the empty (white) rows below the page's content."""
    from PIL import Image, ImageChops

    with Image.open(png) as im:
        rgb = im.convert("RGB")
        box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, (255, 255, 255))).getbbox()
        if box:
            rgb.crop((0, 0, rgb.width, min(rgb.height, box[3] + margin))).save(png)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", nargs="?", type=Path, help="a report directory holding report.html")
    p.add_argument("--runs", nargs="+", help="build the report from these run directories first")
    p.add_argument("--out", type=Path, help="where the PNGs (and a built report) go; default: the report directory")
    args = p.parse_args(argv)
    if args.runs:
        from posenc.report import build_report, export

        report_dir = args.out or Path("report-screenshot")
        export(build_report(args.runs, out_dir=report_dir), report_dir, ["html"])
    elif args.report:
        report_dir = args.report
    else:
        p.error("give a REPORT_DIR or --runs")
    html = report_dir / "report.html"
    if not html.is_file():
        sys.exit(f"report_screenshot: {html} does not exist")
    out = args.out or report_dir
    out.mkdir(parents=True, exist_ok=True)
    shoot(html, out / "screen.png", 1600, 1000)
    shoot(html, out / "page.png", 1600, PAGE_HEIGHT)
    trim_bottom(out / "page.png")
    print(f"wrote {out / 'screen.png'} and {out / 'page.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
