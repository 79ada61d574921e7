"""The methods the published OpenAPI document declares on each path, read from the document itself.

The gateway answers any other method on a documented path with 405 and an ``Allow`` header, before
it looks at the bearer token: which methods a path has is part of the public document, not a secret,
and a caller without a token learns nothing the document does not already say. ``OPTIONS`` lists the
same methods. A path the document does not know is left to the routing table (404 or the service).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clientpulse.gateway.openapi import HTTP_METHODS

_PLACEHOLDER = re.compile(r"\{[^/{}]+\}")


@dataclass(frozen=True, slots=True)
class DeclaredPath:
    """One path template of the document and the methods it declares (upper case, ``OPTIONS`` included)."""

    template: str
    methods: tuple[str, ...]
    placeholders: int
    regex: re.Pattern[str]

    @property
    def allow(self) -> str:
        """The ``Allow`` header value."""
        return ", ".join(self.methods)


def _declared_path(template: str, item: Mapping[str, Any]) -> DeclaredPath:
    regex, position = [], 0
    placeholders = list(_PLACEHOLDER.finditer(template))
    for placeholder in placeholders:
        regex.append(re.escape(template[position : placeholder.start()]))
        regex.append("[^/]+")
        position = placeholder.end()
    regex.append(re.escape(template[position:]))
    methods = [method.upper() for method in HTTP_METHODS if method != "options" and method in item]
    return DeclaredPath(template, (*methods, "OPTIONS"), len(placeholders), re.compile("".join(regex) + r"\Z"))


class DeclaredMethods:
    """Every path of the document with its methods; a concrete path wins over a templated one."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        paths = document.get("paths", {})
        # OpenAPI: "/me/notifications/read-all" is matched before "/me/notifications/{notification_id}".
        self.paths = sorted(
            (_declared_path(template, item) for template, item in paths.items()), key=lambda p: p.placeholders
        )

    def for_path(self, path: str) -> DeclaredPath | None:
        """The document's path that a decoded request path is an instance of, or None."""
        return next((declared for declared in self.paths if declared.regex.match(path)), None)
