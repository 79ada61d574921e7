"""Merging the services' OpenAPI documents into the one public document, and keeping it committed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clientpulse.gateway import cli
from clientpulse.gateway.openapi import merge_documents


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}


SERVICE_DOCS: dict[str, dict[str, Any]] = {
    "clients": {
        "openapi": "3.1.0",
        "paths": {
            "/api/v1/clients/{client_id}": {
                "get": {
                    "operationId": "GetClient",
                    "security": [{"identity": []}],
                    "parameters": [
                        {"name": "client_id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "X-Clientpulse-Identity", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": ok(ref("ClientRead")),
                }
            },
            # Documented by clients, but the table sends this path to tiering: dropped from clients.
            "/api/v1/clients/{client_id}/tiering": {"get": {"responses": ok(ref("Unused"))}},
            "/healthz": {"get": {"responses": ok({"type": "object"})}},
        },
        "components": {
            "schemas": {
                "ClientRead": {
                    "type": "object",
                    "properties": {"page": ref("Page"), "problem": ref("Problem")},
                },
                "Page": {"type": "object", "properties": {"clients": {"type": "array"}}},
                "Problem": {"type": "object", "properties": {"code": {"type": "integer"}}},
                "Unused": {"type": "string"},
            },
            "securitySchemes": {"identity": {"type": "apiKey", "in": "header", "name": "X-Clientpulse-Identity"}},
        },
        "tags": [{"name": "clients"}],
    },
    "tiering": {
        "openapi": "3.1.0",
        "paths": {
            "/api/v1/clients/{client_id}/tiering": {
                "get": {"operationId": "GetTiering", "responses": ok(ref("TierRead"))}
            },
            "/api/v1/tiering/framework": {"get": {"responses": ok(ref("ClientRead"))}},
        },
        "components": {
            "schemas": {
                "TierRead": {"type": "object", "properties": {"page": ref("Page")}},
                "Page": {"type": "object", "properties": {"tiers": {"type": "array"}}},
                "ClientRead": {
                    "type": "object",
                    "properties": {"page": ref("Page"), "problem": ref("Problem")},
                },
            }
        },
    },
    "results": {
        "paths": {"/api/v1/oauth/{platform}/callback": {"get": {"responses": {"302": {"description": "redirect"}}}}},
    },
    "notifications": {
        "paths": {
            "/api/v1/webhooks": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                    "responses": {"201": {"description": "created"}},
                }
            }
        },
    },
}


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return merge_documents(SERVICE_DOCS)


def test_the_document_is_openapi_3_1_titled_clientpulse(merged: dict[str, Any]) -> None:
    assert merged["openapi"] == "3.1.0"
    assert merged["info"]["title"] == "clientpulse API"


def test_only_paths_the_table_sends_to_the_documenting_service_are_kept(merged: dict[str, Any]) -> None:
    assert set(merged["paths"]) == {
        "/api/v1/me",
        "/api/v1/clients/{client_id}",
        "/api/v1/clients/{client_id}/tiering",
        "/api/v1/tiering/framework",
        "/api/v1/oauth/{platform}/callback",
        "/api/v1/webhooks",
    }
    assert merged["paths"]["/api/v1/clients/{client_id}/tiering"]["get"]["operationId"] == "GetTiering"


def test_clashing_schemas_are_renamed_per_service_and_refs_follow(merged: dict[str, Any]) -> None:
    schemas = merged["components"]["schemas"]
    assert "Page" not in schemas
    assert schemas["ClientsPage"]["properties"] == {"clients": {"type": "array"}}
    assert schemas["TieringPage"]["properties"] == {"tiers": {"type": "array"}}
    assert schemas["TierRead"]["properties"]["page"] == ref("TieringPage")
    # ClientRead was identical text in both services, but its Page differs: it is renamed too.
    assert schemas["ClientsClientRead"]["properties"]["page"] == ref("ClientsPage")
    assert schemas["TieringClientRead"]["properties"]["page"] == ref("TieringPage")
    client_get = merged["paths"]["/api/v1/clients/{client_id}"]["get"]
    assert client_get["responses"]["200"]["content"]["application/json"]["schema"] == ref("ClientsClientRead")


def test_the_gateways_own_components_keep_their_names(merged: dict[str, Any]) -> None:
    schemas = merged["components"]["schemas"]
    assert schemas["Problem"]["properties"]["detail"] == {"type": "string"}
    assert schemas["ClientsProblem"]["properties"] == {"code": {"type": "integer"}}
    assert {"Me", "Problem"} <= set(schemas)


def test_components_no_kept_path_uses_are_left_out(merged: dict[str, Any]) -> None:
    assert "Unused" not in merged["components"]["schemas"]
    assert "ClientsUnused" not in merged["components"]["schemas"]


def test_bearer_auth_applies_everywhere_except_public_routes(merged: dict[str, Any]) -> None:
    assert merged["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    assert merged["security"] == [{"bearerAuth": []}]
    client_get = merged["paths"]["/api/v1/clients/{client_id}"]["get"]
    assert "security" not in client_get
    assert [p["name"] for p in client_get["parameters"]] == ["client_id"]
    callback = merged["paths"]["/api/v1/oauth/{platform}/callback"]["get"]
    assert callback["security"] == []
    assert "401" not in callback["responses"]


def test_the_gateways_problem_responses_are_documented(merged: dict[str, Any]) -> None:
    webhooks = merged["paths"]["/api/v1/webhooks"]["post"]["responses"]
    assert {"201", "401", "403", "413", "429", "502", "503", "504"} <= set(webhooks)
    assert webhooks["429"] == {"$ref": "#/components/responses/RateLimited"}
    me = merged["paths"]["/api/v1/me"]["get"]["responses"]
    assert set(me) == {"200", "401", "429"}
    responses = merged["components"]["responses"]
    assert "Retry-After" in responses["RateLimited"]["headers"]
    assert "WWW-Authenticate" in responses["Unauthenticated"]["headers"]
    assert responses["Forbidden"]["content"]["application/problem+json"]["schema"] == ref("Problem")


def test_the_cli_writes_then_checks_the_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = tmp_path / "openapi.json"
    monkeypatch.setattr(cli, "committed_document_path", lambda: document)
    monkeypatch.setattr(cli, "build_document", lambda allow_missing: merge_documents(SERVICE_DOCS))
    assert cli.main(["openapi", "--check"]) == 1
    assert cli.main(["openapi", "--write"]) == 0
    assert cli.main(["openapi", "--check"]) == 0
    document.write_text(document.read_text().replace("clientpulse API", "stale API"))
    assert cli.main(["openapi", "--check"]) == 1


def test_the_committed_document_matches_the_services_as_they_are(tmp_path: Path) -> None:
    # In a child process: building the services' apps configures logging and tracing process-wide.
    result = subprocess.run(
        [sys.executable, "-m", "clientpulse.gateway.cli", "openapi", "--check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=os.environ | {"CLIENTPULSE_VAR_DIR": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _committed() -> dict[str, Any]:
    import json

    from clientpulse.gateway.openapi import load_committed_document

    document: dict[str, Any] = json.loads(load_committed_document())
    return document


def test_every_request_body_refuses_unknown_fields_as_its_service_does() -> None:
    document = _committed()
    schemas = document["components"]["schemas"]
    bodies: set[str] = set()
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            for content in operation["requestBody"]["content"].values():
                schema = content["schema"]
                for option in schema.get("oneOf", [schema]):
                    if "$ref" in option:
                        bodies.add(option["$ref"].rsplit("/", 1)[-1])
    assert "ScoreCreate" in bodies
    assert {name: schemas[name].get("additionalProperties") for name in bodies} == dict.fromkeys(bodies, False)


def test_score_ratings_are_documented_as_a_dimension_to_rating_object() -> None:
    ratings = _committed()["components"]["schemas"]["ScoreCreate"]["properties"]["ratings"]
    assert ratings["type"] == "object"
    assert ratings["additionalProperties"] == {"type": "integer"}
    assert ratings["maxProperties"] == 10
    assert "maxLength" not in ratings


def test_service_problems_are_documented_as_problem_json() -> None:
    document = _committed()
    responses = document["components"]["responses"]
    for name in ("BadRequest", "NotFound", "Conflict", "Unprocessable"):
        assert set(responses[name]["content"]) == {"application/problem+json"}
    score = document["paths"]["/api/v1/clients/{client_id}/tiering/scores"]["post"]["responses"]
    assert score["400"] == {"$ref": "#/components/responses/BadRequest"}
    assert score["404"] == {"$ref": "#/components/responses/NotFound"}
    assert score["422"] == {"$ref": "#/components/responses/Unprocessable"}
    for item in document["paths"].values():
        for operation in item.values():
            for response in operation.get("responses", {}).values() if isinstance(operation, dict) else ():
                assert "application/json" not in response.get("content", {}) or "Problem" not in str(response)
