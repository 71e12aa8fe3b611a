"""The HTML report in a real headless Chromium with the network cut off: every pattern shows."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from tests.report.conftest import report

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium); CI installs it")


def render_in_chromium(path: Path, tmp_path: Path) -> str:
    """The DOM after Chromium loaded the file, with every request outside the file refused."""
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-extensions", "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'profile'}",
        # no network: every host resolves nowhere and any proxying goes to a closed port
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
        "--dump-dom", path.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_pattern_shows_with_the_network_off(mined, tmp_path: Path) -> None:
    store, result = mined
    path = tmp_path / "report.html"
    path.write_text(report(store, "html"), encoding="utf-8")
    dom = render_in_chromium(path, tmp_path)
    text = unescape(re.sub(r"<[^>]+>", " ", dom))
    assert "Failure patterns" in text
    for pattern in result.patterns:
        assert f'id="{pattern.id}"' in dom
        assert pattern.name in text
    assert dom.count("<details") == len(result.patterns) and dom.count("<polyline") + dom.count("<circle") >= 1
