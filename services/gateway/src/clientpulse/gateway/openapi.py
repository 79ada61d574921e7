"""The one public OpenAPI 3.1 document, merged from the services' own documents.

Each service is a Litestar app whose paths are already the public ``/api/v1/...`` paths. The merge
keeps a path only where the routing table sends it to the service that documents it, merges the
components (renaming clashing definitions with the service as prefix), adds the gateway's own
paths, the bearer security scheme and the problem responses the gateway itself produces. The result
is committed as ``openapi.json`` next to this module and served at ``/schema/openapi.json``.
"""

from __future__ import annotations

import html
import importlib
import json
import logging
from collections.abc import Mapping
from copy import deepcopy
from importlib import resources
from pathlib import Path
from typing import Any

from litestar.serialization import encode_json

from clientpulse.gateway.routes import API_PREFIX, GATEWAY, ROUTING_TABLE, Access, Route, RoutingTable
from clientpulse.shared.guards import InputModel
from clientpulse.shared.identity import IDENTITY_HEADER, Role

SERVICE_APP_FACTORIES = {
    "clients": "clientpulse.clients.app:create_app",
    "tiering": "clientpulse.tiering.app:create_app",
    "results": "clientpulse.results_ingest.app:create_app",
    "insights": "clientpulse.insights.app:create_app",
    "notifications": "clientpulse.notifications.app:create_app",
}
DOCUMENT_FILE = "openapi.json"
BEARER_SCHEME = "bearerAuth"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_REF_PREFIX = "#/components/"

_log = logging.getLogger(__name__)

JsonObject = dict[str, Any]


class ServiceNotImportable(Exception):
    """A service's app factory could not be imported, so its document cannot be read."""


def _ref(section: str, name: str) -> JsonObject:
    return {"$ref": f"{_REF_PREFIX}{section}/{name}"}


def _problem_response(description: str, headers: JsonObject | None = None) -> JsonObject:
    response: JsonObject = {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("schemas", "Problem")}},
    }
    if headers:
        response["headers"] = headers
    return response


def _me_path() -> JsonObject:
    """``GET /api/v1/me``, the one path the gateway answers itself."""
    return {
        "get": {
            "operationId": "GetMe",
            "summary": "Who the caller is",
            "description": "The caller's subject, role, squad and name, read from the bearer token.",
            "tags": ["me"],
            "responses": {
                "200": {
                    "description": "The caller",
                    "content": {"application/json": {"schema": _ref("schemas", "Me")}},
                }
            },
        }
    }


def _gateway_schemas() -> JsonObject:
    """The caller (``Me``) and the RFC 9457 ``Problem`` every error response carries."""
    nullable_string = {"oneOf": [{"type": "string"}, {"type": "null"}]}
    return {
        "Me": {
            "type": "object",
            "required": ["sub", "role", "squad", "name"],
            "properties": {
                "sub": {"type": "string"},
                "role": {"type": "string", "enum": [role.value for role in Role]},
                "squad": nullable_string,
                "name": nullable_string,
            },
        },
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "format": "uri"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
            },
            "additionalProperties": True,
        },
    }


def _gateway_problem_responses() -> JsonObject:
    """The problems the gateway itself answers with, before or instead of a service."""
    return {
        "Unauthenticated": _problem_response(
            "The bearer token is missing, malformed, expired or not for this API.",
            {"WWW-Authenticate": {"schema": {"type": "string"}}},
        ),
        "Forbidden": _problem_response("The caller's role may not use this function."),
        "AuthorityRefused": _problem_response(
            "The authority the request carries (such as an OAuth state) is unknown, already used or expired."
        ),
        "BadRequest": _problem_response("The request is malformed or its body does not match the schema."),
        "NotFound": _problem_response("The client or object the path names does not exist."),
        "Conflict": _problem_response("The change conflicts with the current state."),
        "Unprocessable": _problem_response("A parameter or the body is invalid, or the service refuses the change."),
        "PayloadTooLarge": _problem_response("The request body is larger than the gateway accepts."),
        "RateLimited": _problem_response(
            "The caller sent too many requests; retry after the given number of seconds.",
            {"Retry-After": {"schema": {"type": "integer"}}},
        ),
        "BadGateway": _problem_response("The service broke the connection without a valid answer."),
        "ServiceUnavailable": _problem_response("The service that answers this path cannot be reached."),
        "GatewayTimeout": _problem_response("The service did not answer in time."),
    }


def gateway_document() -> JsonObject:
    """The gateway's own part of the document: ``/api/v1/me`` and the problems the gateway returns."""
    return {
        "paths": {f"{API_PREFIX}/me": _me_path()},
        "components": {"schemas": _gateway_schemas(), "responses": _gateway_problem_responses()},
    }


def _rewrite_refs(value: Any, renames: Mapping[tuple[str, str], str]) -> Any:
    """A copy of ``value`` with ``$ref``s to renamed components pointing at their new names."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX) and renames:
            section, _, name = ref.removeprefix(_REF_PREFIX).partition("/")
            if (section, name) in renames:
                value = {**value, "$ref": f"{_REF_PREFIX}{section}/{renames[section, name]}"}
        return {key: _rewrite_refs(item, renames) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite_refs(item, renames) for item in value]
    return value


def _components(document: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    return [
        (section, name, definition)
        for section, entries in document.get("components", {}).items()
        if section != "securitySchemes" and isinstance(entries, dict)
        for name, definition in entries.items()
    ]


def _prefixed(service: str, name: str) -> str:
    return "".join(part.capitalize() for part in service.replace("_", "-").split("-")) + name


def _component_renames(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[tuple[str, str], str]]:
    """For each service, which of its components must be renamed so that no two definitions clash.

    A name defined differently by two documents is renamed with the service as prefix in every
    document that defines it, except where the definition equals the gateway's own. Renaming
    rewrites ``$ref``s, which can make other definitions differ, so this runs until nothing changes.
    """
    renames: dict[str, dict[tuple[str, str], str]] = {service: {} for service in documents}
    while True:
        variants: dict[tuple[str, str], dict[str, list[tuple[str, str]]]] = {}
        for service, document in documents.items():
            for section, name, definition in _components(document):
                final = renames[service].get((section, name), name)
                content = json.dumps(_rewrite_refs(definition, renames[service]), sort_keys=True)
                variants.setdefault((section, final), {}).setdefault(content, []).append((service, name))
        clashes = {key: found for key, found in variants.items() if len(found) > 1}
        if not clashes:
            return renames
        for (section, final), found in clashes.items():
            for definers in found.values():
                if any(service == GATEWAY for service, _ in definers):
                    continue
                for service, name in definers:
                    if (section, name) in renames[service]:
                        raise ValueError(f"{service} defines {section}/{final} twice with different content")
                    renames[service][section, name] = _prefixed(service, name)


WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def _public_operation(operation: JsonObject, route: Route, route_path: str, method: str) -> JsonObject:
    """An operation as the gateway exposes it: gateway security and the gateway's own problem responses."""
    operation = dict(operation)
    operation.pop("security", None)
    parameters = [
        parameter
        for parameter in operation.get("parameters", [])
        if not (parameter.get("in") == "header" and str(parameter.get("name", "")).lower() == IDENTITY_HEADER.lower())
    ]
    if parameters:
        operation["parameters"] = parameters
    else:
        operation.pop("parameters", None)
    responses = dict(operation.get("responses", {}))
    if route.access.needs_identity:
        responses.setdefault("401", _ref("responses", "Unauthenticated"))
    else:
        operation["security"] = []
    if route.access in (Access.CLIENTS_MODULE, Access.EXECUTIVE):
        responses.setdefault("403", _ref("responses", "Forbidden"))
    elif route.access is Access.PUBLIC and route.service != GATEWAY:
        # Without a token the request carries its own authority (an OAuth state), which the service may refuse.
        responses.setdefault("403", _ref("responses", "AuthorityRefused"))
    if route.service != GATEWAY:
        # A service's validation failures are problems too, not Litestar's default body.
        responses["400"] = _ref("responses", "BadRequest")
        if "{" in route_path:
            responses.setdefault("404", _ref("responses", "NotFound"))
        if operation.get("parameters") or "requestBody" in operation:
            responses.setdefault("422", _ref("responses", "Unprocessable"))
        if method in WRITE_METHODS:
            responses.setdefault("409", _ref("responses", "Conflict"))
    if "requestBody" in operation:
        responses.setdefault("413", _ref("responses", "PayloadTooLarge"))
    responses.setdefault("429", _ref("responses", "RateLimited"))
    if route.service != GATEWAY:
        responses.setdefault("502", _ref("responses", "BadGateway"))
        responses.setdefault("503", _ref("responses", "ServiceUnavailable"))
        responses.setdefault("504", _ref("responses", "GatewayTimeout"))
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _refs_in(value: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                section, _, name = ref.removeprefix(_REF_PREFIX).partition("/")
                found.add((section, name))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def _reachable(components: Mapping[str, Mapping[str, Any]], paths: Mapping[str, Any]) -> JsonObject:
    """Only the components the kept paths use, directly or through other components."""
    kept: dict[str, dict[str, Any]] = {}
    pending = list(_refs_in(paths))
    while pending:
        section, name = pending.pop()
        definition = components.get(section, {}).get(name)
        if definition is None or name in kept.get(section, {}):
            continue
        kept.setdefault(section, {})[name] = definition
        pending.extend(_refs_in(definition))
    return {section: dict(sorted(entries.items())) for section, entries in sorted(kept.items())}


def merge_documents(service_docs: Mapping[str, Mapping[str, Any]], table: RoutingTable = ROUTING_TABLE) -> JsonObject:
    """Merge the services' OpenAPI documents into the one public document the gateway serves.

    ``service_docs`` maps a routing-table service name (``clients``, ``results``...) to that
    service's OpenAPI document. A path is kept only if the table sends it to that service.
    """
    documents: dict[str, Mapping[str, Any]] = {GATEWAY: gateway_document()}
    documents.update((service, doc) for service, doc in service_docs.items() if service != GATEWAY)
    renames = _component_renames(documents)

    paths: JsonObject = {}
    components: dict[str, JsonObject] = {}
    tags: dict[str, JsonObject] = {}
    for service, document in documents.items():
        for path, item in document.get("paths", {}).items():
            route = table.match(path)
            if route is None or route.service != service:
                continue
            paths[path] = {
                key: _public_operation(value, route, path, key) if key in HTTP_METHODS else value
                for key, value in _rewrite_refs(item, renames[service]).items()
            }
        for section, name, definition in _components(document):
            final = renames[service].get((section, name), name)
            components.setdefault(section, {})[final] = _rewrite_refs(definition, renames[service])
        for tag in document.get("tags", []):
            tags.setdefault(tag["name"], deepcopy(tag))

    merged: JsonObject = {
        "openapi": "3.1.0",
        "info": {
            "title": "clientpulse API",
            "version": "1.0.0",
            "description": (
                "The clientpulse HTTP API, served by the gateway. Errors are RFC 9457 problems. A method a "
                "path does not declare here is answered with 405 and an Allow header, before the bearer "
                "token is checked; OPTIONS on a path lists its methods."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            **_reachable(components, paths),
            "securitySchemes": {BEARER_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{BEARER_SCHEME: []}],
    }
    if tags:
        merged["tags"] = [tags[name] for name in sorted(tags)]
    return merged


def service_documents(*, allow_missing: bool = False) -> dict[str, JsonObject]:
    """Each service's OpenAPI document, read from its Litestar app.

    With ``allow_missing`` a service whose app factory does not import is skipped with a warning;
    without it, ``ServiceNotImportable`` names the service.
    """
    documents: dict[str, JsonObject] = {}
    for service, target in SERVICE_APP_FACTORIES.items():
        module_name, _, factory_name = target.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), factory_name)
        except (ImportError, AttributeError) as exc:
            if not allow_missing:
                raise ServiceNotImportable(f"the {service} service's app ({target}) does not import: {exc}") from exc
            _log.warning("leaving the %s service out of the OpenAPI document: %s does not import", service, target)
            continue
        # Through Litestar's encoder, as the service serves its own document: values such as a
        # ``Decimal`` default become the JSON the service itself would answer with.
        document = json.loads(encode_json(factory().openapi_schema.to_schema()))
        _mark_closed_bodies(document, module_name.rpartition(".")[0])
        documents[service] = document
    return documents


def _input_models(package: str) -> dict[str, type[InputModel]]:
    """The request-body models defined under ``package``, by class name."""
    found: dict[str, type[InputModel]] = {}
    pending: list[type[InputModel]] = [InputModel]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith(package + "."):
            found[model.__name__] = model
    return found


def _mark_closed_bodies(document: JsonObject, package: str) -> None:
    """Say in the document what the service refuses: a request body's unknown fields (``extra="forbid"``)."""
    models = _input_models(package)
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        model = models.get(schema.get("title", name)) if isinstance(schema, dict) else None
        if model is not None and model.model_config.get("extra") == "forbid":
            schema["additionalProperties"] = False


def build_document(*, allow_missing: bool = False) -> JsonObject:
    """The public document, built from the services' apps as they are now."""
    return merge_documents(service_documents(allow_missing=allow_missing))


def render_document(document: Mapping[str, Any]) -> str:
    """The document as committed: indented JSON with a trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def committed_document_path() -> Path:
    """Where the committed document lives in the source tree."""
    return Path(__file__).with_name(DOCUMENT_FILE)


def load_committed_document() -> bytes:
    """The committed document, as packaged with the gateway."""
    return resources.files(__package__).joinpath(DOCUMENT_FILE).read_bytes()


def render_schema_page(document: Mapping[str, Any]) -> str:
    """A plain HTML page listing the API's operations, linking to the JSON document."""
    rows = []
    for path, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                summary = operation.get("summary") or operation.get("operationId") or ""
                rows.append(
                    f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                    f"<td>{html.escape(str(summary))}</td></tr>"
                )
    title = html.escape(str(document.get("info", {}).get("title", "API")))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body>"
        f"<h1>{title}</h1><p>The OpenAPI 3.1 document: "
        '<a href="/schema/openapi.json">/schema/openapi.json</a></p>'
        "<table><thead><tr><th>method</th><th>path</th><th>summary</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>\n"
    )
