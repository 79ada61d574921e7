"""The registry the engine reads platforms from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from clientpulse.results_ingest.platforms.spec import PlatformSpec


class UnknownPlatform(LookupError):
    """No platform with this key is registered."""


class PlatformRegistry:
    """Platforms by key, in registration order."""

    def __init__(self, specs: Iterable[PlatformSpec[Any]] = ()) -> None:
        self._specs: dict[str, PlatformSpec[Any]] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: PlatformSpec[Any]) -> None:
        """Add a platform (its key must be new)."""
        if spec.key in self._specs:
            raise ValueError(f"platform {spec.key} is registered already")
        self._specs[spec.key] = spec

    def unregister(self, key: str) -> None:
        """Remove a platform (tests that register one of their own)."""
        self._specs.pop(key, None)

    def get(self, key: str) -> PlatformSpec[Any]:
        """The platform with this key; ``UnknownPlatform`` names the known ones."""
        try:
            return self._specs[key]
        except KeyError:
            raise UnknownPlatform(f"no platform {key!r}; known: {', '.join(self._specs)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._specs

    def __iter__(self) -> Iterator[PlatformSpec[Any]]:
        return iter(list(self._specs.values()))

    def keys(self) -> list[str]:
        """Every registered platform's key."""
        return list(self._specs)
