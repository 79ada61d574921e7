"""The AsyncAPI 3.0 document of every event, generated from the contracts.

``python -m clientpulse.shared.asyncapi --write`` regenerates the committed ``shared/asyncapi.json``;
``--check`` fails when the committed copy no longer matches the contracts (CI runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from clientpulse.shared.contracts import CATALOGUE, Stream

COMMITTED = Path(__file__).resolve().parents[3] / "asyncapi.json"

_PRODUCERS: dict[Stream, str] = {
    Stream.BILLING: "external billing system (and `clientpulse publish`)",
    Stream.CRM: "external CRM",
    Stream.CLIENTS: "clients service",
    Stream.TIERING: "tiering service (RecalculationRequested: the CronJob)",
    Stream.RESULTS: "results-ingest service",
    Stream.INSIGHTS: "insights service",
}


def _envelope_schema(payload_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0 structured envelope; W3C traceparent travels in the NATS headers.",
        "required": ["specversion", "id", "source", "type", "time", "datacontenttype", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "description": "UUIDv7 (or derived from a natural key); also Nats-Msg-Id"},
            "source": {"type": "string", "examples": ["/clientpulse/clients"]},
            "type": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": ["string", "null"], "description": "the client id"},
            "datacontenttype": {"const": "application/json"},
            "data": {"$ref": payload_ref},
        },
    }


def build_document() -> dict[str, Any]:
    """The AsyncAPI document of the whole catalogue."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event in CATALOGUE:
        name = event.event_type
        schema = event.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        for key, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(key, definition)
        schemas[f"{name}Data"] = schema
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (event.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/cloudevents+json",
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {"type": "string", "description": "the event id (JetStream deduplication)"},
                    "traceparent": {"type": "string", "description": "W3C trace context"},
                },
            },
            "payload": _envelope_schema(f"#/components/schemas/{name}Data"),
        }
        channel_id = event.subject.replace(".", "_")
        channels[channel_id] = {
            "address": event.subject,
            "description": f"JetStream stream {event.stream.value}; produced by the {_PRODUCERS[event.stream]}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"publish{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "clientpulse events",
            "version": "1.0.0",
            "description": "Every event of clientpulse on NATS JetStream. Subjects are "
            "<context>.v<N>.<entity>.<verb>; within a version fields are only added, and consumers ignore "
            "fields they do not know.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"nats": {"host": "localhost:4222", "protocol": "nats", "description": "NATS with JetStream"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    """The document as committed (stable key order, trailing newline)."""
    return json.dumps(build_document(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``--write`` the committed document or ``--check`` that it is current."""
    parser = argparse.ArgumentParser(prog="python -m clientpulse.shared.asyncapi")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    current = render()
    if args.write:
        COMMITTED.write_text(current)
        print(f"wrote {COMMITTED}")
        return 0
    if not COMMITTED.exists() or COMMITTED.read_text() != current:
        print(f"{COMMITTED} is out of date with the event contracts; run `make asyncapi`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
