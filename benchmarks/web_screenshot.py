"""The screenshot of the web page in docs/: the built page in headless Chromium on a public-domain photo
(NASA's astronaut portrait, which scikit-image ships as skimage/data/astronaut.png). No dataset faces.

    python -m benchmarks.web_screenshot --photo PATH/astronaut.png     # writes docs/web_page.png
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from fer_runtime.atomic import atomic_path
from harness.web_page import build_page, page_result, page_server

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web_screenshot", description=__doc__)
    parser.add_argument("--photo", type=Path, required=True, help="A public-domain photo (skimage's astronaut.png).")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "web_page.png")
    args = parser.parse_args()
    if not args.photo.is_file():
        parser.error(f"{args.photo}: no such photo")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(args.photo, Path(tmp) / args.photo.name)
        with page_server(build_page(), Path(tmp)) as base, atomic_path(args.out) as target:
            answer = page_result(f"{base}/index.html?image=/photos/{args.photo.name}", screenshot=target)
    if answer["state"] != "done":
        raise SystemExit(f"the page failed: {answer['result']}")
    print(f"{args.out}: {len(answer['result']['faces'])} face(s)")


if __name__ == "__main__":
    main()
