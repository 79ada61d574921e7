"""The sandbox as its own process, for tests and benchmarks that speak to it over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request


def start_sandbox_process(
    port: int, *, google_page_size: int = 10_000, timeout: float = 20.0
) -> subprocess.Popen[bytes]:
    """``python -m clientpulse.platform_sandbox`` answering on ``port`` once its ``/healthz`` does."""
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this package
        [
            sys.executable,
            "-m",
            "clientpulse.platform_sandbox",
            "--port",
            str(port),
            "--google-page-size",
            str(google_page_size),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5) as answer:
                if answer.status == 200:
                    return process
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    process.kill()
    detail = process.stderr.read().decode() if process.stderr else ""
    raise RuntimeError(f"the platform sandbox did not start on port {port}: {detail}")
