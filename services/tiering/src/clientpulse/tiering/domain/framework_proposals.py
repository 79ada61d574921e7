"""Proposing new weights or revenue bands, seeing what they would do, and publishing them as the next
framework version (docs/domain-rules.md, "Tier scoring").

A proposal is checked and kept; its what-if (how many Active scored clients would move from which
effective tier to which, and which ones) is computed set-based against the stored scores each time it
is read, so nothing of the framework changes until it is published. Publishing makes it the next
version: Score Now uses it at once, the next recalculation rescores everyone by it, and the versions
before it stay readable so old receipts still explain themselves.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import pairwise

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.shared.contracts import new_event_id
from clientpulse.shared.errors import Conflict, NotFound, Unprocessable
from clientpulse.shared.identity import Identity
from clientpulse.tiering.db.models import FrameworkProposal, FrameworkVersion
from clientpulse.tiering.db.repositories.frameworks import FrameworkRepository
from clientpulse.tiering.domain.framework import TRACKS, Framework, framework_of

HUNDREDTH = Decimal("0.01")


def weight_problems(weights: dict[str, dict[str, Decimal]]) -> list[str]:
    """What is wrong with proposed weights: every track, each of its dimensions (the money one included),
    each weight above 0 in whole hundredths, summing to 1 per track."""
    problems = []
    unknown = sorted(set(weights) - {t.value for t in TRACKS})
    if unknown:
        problems.append(f"unknown tracks: {', '.join(unknown)}")
    for track, dimensions in TRACKS.items():
        given = weights.get(track.value)
        if given is None:
            problems.append(f"weights of {track.value} are missing")
            continue
        expected = {d.key for d in dimensions}
        if set(given) != expected:
            problems.append(f"{track.value} needs exactly the dimensions {', '.join(sorted(expected))}")
            continue
        for key, weight in sorted(given.items()):
            if not Decimal(0) < weight <= 1 or weight.quantize(HUNDREDTH) != weight:
                problems.append(f"{track.value}.{key} must be above 0 and at most 1 in hundredths, got {weight}")
        if sum(given.values(), Decimal(0)) != 1:
            problems.append(f"the weights of {track.value} sum to {sum(given.values(), Decimal(0))}, not 1")
    return problems


def floor_problems(floors: list[Decimal]) -> list[str]:
    """What is wrong with proposed revenue band floors: four (bands 5, 4, 3, 2), positive, in hundredths,
    each below the one before."""
    if len(floors) != 4:
        return [f"give four revenue band floors (bands 5, 4, 3 and 2), got {len(floors)}"]
    problems = [f"band floor {f} must be above 0 in hundredths" for f in floors if f <= 0 or f.quantize(HUNDREDTH) != f]
    if any(high <= low for high, low in pairwise(floors)):
        problems.append("each band floor must be below the one before (band 5's first)")
    return problems


async def propose(
    session: AsyncSession,
    identity: Identity,
    *,
    weights: dict[str, dict[str, Decimal]] | None,
    floors: list[Decimal] | None,
    note: str | None,
    now: datetime,
) -> FrameworkProposal:
    """Keep a checked proposal; what it leaves out stays as the version in force has it (422 otherwise)."""
    if weights is None and floors is None:
        raise Unprocessable("propose weights, revenue_band_floors or both")
    in_force = await FrameworkRepository(session).in_force()
    weights = weights if weights is not None else _weights_of(in_force)
    floors = floors if floors is not None else list(in_force.band_floors())
    problems = weight_problems(weights) + floor_problems(floors)
    if problems:
        raise Unprocessable("; ".join(problems))
    proposal = FrameworkProposal(
        id=new_event_id(),
        based_on_version=in_force.version,
        weights={track: {key: str(w) for key, w in given.items()} for track, given in weights.items()},
        band_floors=[str(f) for f in floors],
        note=note,
        proposed_by=identity.sub,
        proposed_at=now,
        published_version=None,
        published_at=None,
    )
    FrameworkRepository(session).add(proposal)
    return proposal


def _weights_of(framework: Framework) -> dict[str, dict[str, Decimal]]:
    return {track.value: {d.key: d.weight for d in dims} for track, dims in framework.tracks.items()}


def proposed_framework(proposal: FrameworkProposal) -> Framework:
    """The framework a proposal would be, numbered as the version after the one it was based on."""
    return framework_of(proposal.based_on_version + 1, proposal.weights, proposal.band_floors)


async def find_proposal(session: AsyncSession, proposal_id: str, *, for_update: bool = False) -> FrameworkProposal:
    """A proposal, or 404."""
    proposal = await FrameworkRepository(session).proposal(proposal_id, for_update=for_update)
    if proposal is None:
        raise NotFound(f"framework proposal {proposal_id} does not exist")
    return proposal


async def publish(session: AsyncSession, identity: Identity, proposal_id: str, *, now: datetime) -> FrameworkVersion:
    """Make a proposal the next framework version; 409 when it was published already or the framework
    changed since it was proposed (its what-if no longer says what publishing it would do)."""
    proposal = await find_proposal(session, proposal_id, for_update=True)
    if proposal.published_version is not None:
        raise Conflict(f"proposal {proposal_id} was already published as version {proposal.published_version}")
    frameworks = FrameworkRepository(session)
    in_force = await frameworks.in_force()
    if in_force.version != proposal.based_on_version:
        raise Conflict(
            f"proposal {proposal_id} was based on version {proposal.based_on_version}, but version "
            f"{in_force.version} is in force now; propose it again to see what it would do"
        )
    version = FrameworkVersion(
        version=in_force.version + 1,
        weights=proposal.weights,
        band_floors=proposal.band_floors,
        proposal_id=proposal.id,
        published_by=identity.sub,
        published_at=now,
    )
    frameworks.add(version)
    proposal.published_version, proposal.published_at = version.version, now
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("another proposal was published at the same moment; propose again") from exc
    return version
