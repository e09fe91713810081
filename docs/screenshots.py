"""Screenshots of the built site in headless Chromium, to look at it as a reader would.

    sphinx-build -W -n -b html docs docs/_build/html
    python docs/screenshots.py                      # home, a tutorial, a system page
    python docs/screenshots.py api/textrl.rewards.html concepts.html --width 800

Writes ``docs/_build/screenshots/<page>.png`` (git-ignored) from the ``file://`` URLs of the
built pages; needs ``chromium`` (``apt-get install chromium``) or ``CHROMIUM=/path``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HTML = Path(__file__).resolve().parent / "_build" / "html"
PAGES = ["index.html", "auto_tutorials/tutorial_1_adversarial.html", "systems/seqgan.html"]


def browser() -> str:
    found = os.environ.get("CHROMIUM") or next(
        (b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if found is None:
        sys.exit("no Chromium found: apt-get install chromium, or set CHROMIUM=/path/to/it")
    return found


def screenshot(page: str, out: Path, width: int, height: int) -> Path:
    path = HTML / page
    if not path.is_file():
        sys.exit(f"{path}: not built; run sphinx-build -W -n -b html docs docs/_build/html")
    png = out / (page.removesuffix(".html").replace("/", "_") + ".png")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={profile}",
                        f"--window-size={width},{height}", f"--screenshot={png}",
                        path.as_uri()], check=True, capture_output=True, timeout=120)
    return png


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", default=PAGES, help="pages, relative to the site")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400, help="how much of each page")
    parser.add_argument("--out", type=Path, default=HTML.parent / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for page in args.pages:
        print(screenshot(page, args.out, args.width, args.height))


if __name__ == "__main__":
    main()
