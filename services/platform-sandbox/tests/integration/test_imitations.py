"""Imitating another platform is adding one module to ``imitations``; the command line serves them all."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer

from clientpulse.platform_sandbox import imitations
from clientpulse.platform_sandbox.app import create_sandbox_app, discover_imitations

SNAPCHAT = """
from aiohttp import web

from clientpulse.platform_sandbox.faults import Argument

PLATFORM = "snapchat_ads"
FAULTS = {"snap_throttle": Argument.NONE}


async def me(request: web.Request) -> web.Response:
    return web.json_response({"me": "sandbox"})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/snapchat/v1/me", me)
"""


@pytest.fixture
def extra_imitation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "snapchat_ads.py").write_text(SNAPCHAT)
    monkeypatch.setattr(imitations, "__path__", [*imitations.__path__, str(tmp_path)])
    yield
    sys.modules.pop(f"{imitations.__name__}.snapchat_ads", None)


def test_every_module_of_the_package_is_an_imitation() -> None:
    assert sorted(discover_imitations()) == [
        "ga4",
        "google_ads",
        "gorgias",
        "klaviyo",
        "meta_ads",
        "recharge",
        "shopify",
        "tiktok_ads",
        "yotpo_loyalty",
    ]


@pytest.mark.usefixtures("extra_imitation")
async def test_one_more_module_is_one_more_platform() -> None:
    server = TestServer(create_sandbox_app())
    await server.start_server()
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url(""))) as http:
            assert (await http.get("/snapchat/v1/me")).json() == {"me": "sandbox"}
            assert (await http.post("/_sandbox/grants/snapchat_ads")).status_code == 200
            queued = await http.post(
                "/_sandbox/faults", json={"platform": "snapchat_ads", "account_id": "1", "faults": ["snap_throttle"]}
            )
            assert queued.json() == {"queued": ["snap_throttle"]}
    finally:
        await server.close()


def test_the_command_line_says_what_it_takes() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "clientpulse.platform_sandbox", "--help"], capture_output=True, text=True, check=True
    )
    assert "--google-page-size" in shown.stdout
    assert "--port" in shown.stdout


def test_a_taken_port_is_reported_with_the_fix(sandbox_url: str) -> None:
    port = sandbox_url.rsplit(":", 1)[1]
    refused = subprocess.run(
        [sys.executable, "-m", "clientpulse.platform_sandbox", "--port", port],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert refused.returncode == 1
    assert "--port" in refused.stderr
    assert "Traceback" not in refused.stderr
