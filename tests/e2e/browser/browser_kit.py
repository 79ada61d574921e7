"""What the browser tests share: Debian's Chromium through Playwright, a model stand-in, axe-core and screenshots.

Playwright never downloads a browser here: it drives ``/usr/bin/chromium`` (the ``chromium`` package).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar, Request, post

from clientpulse.shared.embedded import free_port

CHROMIUM = os.environ.get("CLIENTPULSE_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# Screenshots of the main pages land here (a CI job keeps the folder as an artifact).
ARTIFACTS = Path(os.environ.get("CLIENTPULSE_TEST_ARTIFACTS", Path(__file__).resolve().parents[3] / "test-artifacts"))
ANSWER = "Move budget from the weakest campaign to the strongest one."


def model_app(questions: list[dict[str, Any]]) -> Litestar:
    """An OpenAI-compatible chat endpoint: a question gets one ``read_campaigns`` call, then an answer citing it.

    Anything else (the relationship summary) gets text that is not the JSON asked for, so the service
    keeps its deterministic summary.
    """

    @post("/v1/chat/completions", status_code=200)
    async def completions(request: Request[Any, Any, Any]) -> dict[str, Any]:
        body = await request.json()
        messages = body.get("messages", [])
        message: dict[str, Any] = {"role": "assistant", "content": "No summary today."}
        if body.get("tools") and not any(m.get("role") == "tool" for m in messages):
            today = datetime.now(UTC).date()
            window = {"start": str(today - timedelta(days=30)), "end": str(today - timedelta(days=1))}
            call = {
                "id": "call-1",
                "type": "function",
                "function": {"name": "read_campaigns", "arguments": json.dumps(window)},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        elif body.get("tools"):
            questions.append(body)
            message["content"] = json.dumps({"answer": ANSWER, "citations": ["call-1"]})
        return {
            "id": "chatcmpl-browser",
            "object": "chat.completion",
            "model": body.get("model", "test"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }

    return Litestar([completions], logging_config=None)


@contextlib.contextmanager
def model_stand_in() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The model stand-in on a loopback port, on its own thread: its base URL and the questions it answered."""
    questions: list[dict[str, Any]] = []
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(model_app(questions), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, name="model-stand-in", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}/v1", questions
    finally:
        server.should_exit = True
        thread.join(10)


def serious_violations(page: Any) -> list[str]:
    """What axe-core finds serious or critical on the page, one line each (empty when nothing)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot into the artifacts folder."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
