"""An HTTP client that holds every request and response to the published OpenAPI document.

Before a request leaves, its path must match a documented operation of that method, its query
parameters must be declared, its declared headers valid and its body match the request body schema.
After the answer arrives, its status must be documented for the operation, its content type
documented for that status and its body match the schema of both. A test that sends a wrong request
on purpose says so with ``client.invalid_request()``: the request must then break the document (so
the marking cannot go stale), and the response is still checked.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any
from urllib.parse import urljoin

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.util import json_loads, plain_loads
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from werkzeug.datastructures import Headers, ImmutableMultiDict

from clientpulse.gateway.openapi import load_committed_document

# Problem details are JSON (RFC 9457) and a CSV upload is text: read them so, for their schemas to apply.
_CONFIG = Config(extra_media_type_deserializers={"application/problem+json": json_loads, "text/csv": plain_loads})


class ContractViolation(AssertionError):
    """A request or response the published document does not allow."""


class _Request:
    """An ``httpx.Request`` as openapi-core reads one."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.url.params.multi_items()),
            header=Headers(request.headers.multi_items()),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return f"{self._request.url.scheme}://{self._request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "").lower()


class _Response:
    """An ``httpx.Response`` as openapi-core reads one; ``data`` is None for a stream still unread."""

    def __init__(self, response: httpx.Response, *, streamed: bool) -> None:
        self.status_code = response.status_code
        self.headers = Headers(response.headers.multi_items())
        self.content_type = response.headers.get("content-type", "").lower()
        self.data = None if streamed else response.content


class Contract:
    """The operations of one OpenAPI document, and the checks of requests and responses against them."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._openapi = OpenAPI.from_dict(dict(document), config=_CONFIG)
        self._path_finder = APICallPathFinder(self._openapi.spec)

    def request_errors(self, request: httpx.Request) -> list[str]:
        """What is wrong with the request by the document; empty when it is a documented call."""
        wrapped = _Request(request)
        with warnings.catch_warnings():
            # Litestar writes allowEmptyValue: false on every parameter; openapi-core warns that the key is deprecated.
            warnings.filterwarnings("ignore", "Use of allowEmptyValue", DeprecationWarning)
            errors = [_describe(error) for error in self._openapi.iter_request_errors(wrapped)]
        operation = self._operation(wrapped)
        if operation is None:
            return errors
        declared = {p["name"] for p in self._parameters(operation) if p["in"] == "query"}
        errors += [f"query parameter {name!r} is not declared" for name in wrapped.parameters.query.keys() - declared]
        if wrapped.body is not None and "requestBody" not in operation[1]:
            errors.append("the operation documents no request body, and one was sent")
        return errors

    def check_request(self, request: httpx.Request) -> None:
        if errors := self.request_errors(request):
            raise ContractViolation(f"{request.method} {request.url}: " + "; ".join(errors))

    def check_response(self, request: httpx.Request, response: httpx.Response, *, streamed: bool = False) -> None:
        """Raise unless the status, content type and body are documented for the request's operation."""
        wrapped = _Response(response, streamed=streamed)
        if streamed:
            errors = self._stream_head_errors(_Request(request), wrapped)
        else:
            errors = [_describe(e) for e in self._openapi.iter_response_errors(_Request(request), wrapped)]
        if errors:
            body = "(a stream)" if streamed else response.text[:500]
            raise ContractViolation(
                f"{request.method} {request.url} answered {response.status_code} "
                f"{wrapped.content_type or '(no content type)'}: " + "; ".join(errors) + f"\n{body}"
            )

    def _operation(self, request: _Request) -> tuple[str, Mapping[str, Any], Mapping[str, Any]] | None:
        """The matched path template, its path item and operation, or None when nothing matches."""
        try:
            found = self._path_finder.find(request.method, urljoin(request.host_url, request.path))
        except PathError:
            return None
        template = found.path.parts[-1]
        path_item = self.document["paths"][template]
        return template, path_item[request.method], path_item

    @staticmethod
    def _parameters(operation: tuple[str, Mapping[str, Any], Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        _, op, path_item = operation
        return [*path_item.get("parameters", []), *op.get("parameters", [])]

    def _stream_head_errors(self, request: _Request, response: _Response) -> list[str]:
        """A stream's body is read by the test as it arrives: check what the head promises."""
        operation = self._operation(request)
        if operation is None:
            return ["no documented operation"]
        responses = operation[1]["responses"]
        documented = responses.get(str(response.status_code)) or responses.get("default")
        if documented is None:
            return [f"status {response.status_code} is not documented"]
        documented = self._resolved(documented)
        media = response.content_type.split(";")[0].strip()
        if media not in documented.get("content", {}):
            return [f"content type {media!r} is not documented for {response.status_code}"]
        return []

    def _resolved(self, value: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in value:
            node: Any = self.document
            for part in value["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            value = node
        return value


def _describe(error: Exception) -> str:
    """The validator's message, or the schema errors behind it (openapi-core keeps them in ``__cause__``)."""
    cause: BaseException | None = error
    while cause is not None:
        if details := getattr(cause, "schema_errors", None):
            name = type(error).__name__
            kind = str(error) if "Parameter" in name else "request body" if "RequestBody" in name else "body"
            return f"{kind}: " + "; ".join(f"{'/'.join(map(str, e.path)) or '.'}: {e.message}" for e in details)
        cause = cause.__cause__
    return str(error)


@cache
def published_contract() -> Contract:
    """The gateway's committed document, the one it serves at /schema/openapi.json."""
    return Contract(json.loads(load_committed_document()))


class ContractClient(httpx.Client):
    """An ``httpx.Client`` of the gateway whose every exchange is checked against the published document."""

    def __init__(self, contract: Contract | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.contract = contract or published_contract()
        self._invalid_on_purpose = False

    @contextmanager
    def invalid_request(self) -> Iterator[None]:
        """Requests sent inside break the document on purpose: they must, and their answers are still checked."""
        self._invalid_on_purpose = True
        try:
            yield
        finally:
            self._invalid_on_purpose = False

    def send(self, request: httpx.Request, *, stream: bool = False, **kwargs: Any) -> httpx.Response:
        if self._invalid_on_purpose:
            if not self.contract.request_errors(request):
                raise ContractViolation(
                    f"{request.method} {request.url} is marked invalid_request() but the document allows it"
                )
        else:
            self.contract.check_request(request)
        response = super().send(request, stream=stream, **kwargs)
        try:
            self.contract.check_response(request, response, streamed=stream)
        except ContractViolation:
            response.close()
            raise
        return response
