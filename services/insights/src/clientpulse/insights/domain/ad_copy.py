"""Creative insights: deterministic facts about a client's ad copy, tied to the numbers of the ads that carry it.

Pure functions. The ads come from results-ingest's ad table for the two halves of the period (so fatigue, a
click-through rate falling from the first half to the second, can be seen); every ratio is derived from
sums (an ad's ROAS is its revenue ÷ its spend over the period). Amounts of different currencies are never
added or compared: spend shares and the grouped figures are per currency; ROAS and CTR are ratios and rank
across currencies. Headlines, primary texts and ad names are text written by people (untrusted): they are
data here, never a source of numbers or instructions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Fields of the facts that hold text written by people.
UNTRUSTED_AD_FIELDS = frozenset({"ad_name", "headlines", "bodies", "headline", "body", "word"})
RATIO_PLACES = Decimal("0.01")
CTR_PLACES = Decimal("0.0001")


class CreativeRules(BaseModel):
    """The thresholds of the creative facts (each fact names the rule that produced it)."""

    model_config = ConfigDict(frozen=True)

    min_spend_share: Decimal = Field(
        default=Decimal("0.05"), description="an ad judged has ≥ this share of its currency's ad spend"
    )
    min_impressions: int = Field(default=1000, description="an ad judged has at least these impressions")
    ranked: int = Field(default=3, description="ads named as best or worst per ratio")
    short_text_chars: int = Field(default=125, description="a primary text up to this length is short")
    fatigue_ctr_drop: Decimal = Field(
        default=Decimal("0.30"), description="a CTR fall (second half vs first) this large is fatigue"
    )
    fatigue_min_half_impressions: int = Field(
        default=500, description="impressions a half needs for its CTR to be given (and fatigue judged)"
    )


DEFAULT_RULES = CreativeRules()


class AdResult(BaseModel):
    """One ad over a range as results-ingest's ad table reports it (other fields are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    connection_id: str
    platform: str
    campaign_id: str
    ad_id: str
    ad_name: str | None = None
    headlines: list[str] = Field(default_factory=list)
    bodies: list[str] = Field(default_factory=list)
    currency: str
    spend_minor: int
    impressions: int
    clicks: int
    conversions: Decimal
    revenue_minor: int


class AdFacts(BaseModel):
    """One ad of the period: its copy (untrusted), sums and ratios of sums, and its copy's length."""

    model_config = ConfigDict(frozen=True)

    ad_id: str
    connection_id: str
    platform: str
    campaign_id: str
    ad_name: str | None
    headlines: list[str]
    bodies: list[str]
    currency: str
    spend_minor: int
    revenue_minor: int
    impressions: int
    clicks: int
    conversions: Decimal
    roas: Decimal | None
    ctr: Decimal | None = Field(description="clicks ÷ impressions")
    spend_share: Decimal = Field(description="share of its currency's ad spend in the period")
    ctr_first_half: Decimal | None
    ctr_second_half: Decimal | None
    headline_chars: int | None = Field(description="length of its first headline")
    body_chars: int | None = Field(description="length of its first primary text")
    judged: bool = Field(description="enough spend and impressions to be ranked")


FactKind = Literal["best_roas", "worst_roas", "best_ctr", "worst_ctr", "copy_length", "headline_pattern", "fatigue"]


class CreativeFact(BaseModel):
    """Something the ads' numbers show about their copy, the rule that found it and the ads it rests on."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: FactKind
    rule: str
    ad_ids: list[str]
    figures: dict[str, Decimal] = Field(description="the numbers the fact rests on, by name")
    word: str | None = Field(default=None, description="a headline word the fact is about (copied from ads)")
    text: str = Field(description="the fact in words, written by the analyzer")


# A fact before it is numbered: kind, rule, ad ids, figures, text (and, for a headline pattern, the word).
_Found = tuple["FactKind", str, list[str], dict[str, Decimal], str]


@dataclass(frozen=True, slots=True)
class _Half:
    impressions: int
    clicks: int


def _ratio(numerator: int | Decimal, denominator: int | Decimal, places: Decimal = RATIO_PLACES) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, ROUND_HALF_UP)


def merge_halves(first: Sequence[AdResult], second: Sequence[AdResult]) -> list[tuple[AdResult, _Half, _Half]]:
    """Each ad's period (the sums of both halves, the copy of the later half) with each half's clicks."""
    by_key: dict[tuple[str, str], list[AdResult | None]] = {}
    for index, half in enumerate((first, second)):
        for ad in half:
            by_key.setdefault((ad.connection_id, ad.ad_id), [None, None])[index] = ad
    merged = []
    for a, b in by_key.values():
        latest = b or a
        assert latest is not None
        halves = [_Half(x.impressions, x.clicks) if x else _Half(0, 0) for x in (a, b)]
        parts = [x for x in (a, b) if x is not None]
        whole = latest.model_copy(
            update={
                "spend_minor": sum(x.spend_minor for x in parts),
                "impressions": sum(x.impressions for x in parts),
                "clicks": sum(x.clicks for x in parts),
                "conversions": sum((x.conversions for x in parts), start=Decimal(0)),
                "revenue_minor": sum(x.revenue_minor for x in parts),
            }
        )
        merged.append((whole, halves[0], halves[1]))
    merged.sort(key=lambda m: (-m[0].spend_minor, m[0].platform, m[0].ad_id))
    return merged


def _half_ctr(half: _Half, rules: CreativeRules) -> Decimal | None:
    if half.impressions < rules.fatigue_min_half_impressions:
        return None
    return _ratio(half.clicks, half.impressions, CTR_PLACES)


def ad_facts(merged: Sequence[tuple[AdResult, _Half, _Half]], rules: CreativeRules = DEFAULT_RULES) -> list[AdFacts]:
    """Each ad's facts; ``judged`` when it has enough of its currency's spend and enough impressions."""
    spend_by_currency: dict[str, int] = {}
    for ad, _, _ in merged:
        spend_by_currency[ad.currency] = spend_by_currency.get(ad.currency, 0) + ad.spend_minor
    facts = []
    for ad, first, second in merged:
        share = _ratio(ad.spend_minor, spend_by_currency[ad.currency], CTR_PLACES) or Decimal(0)
        facts.append(
            AdFacts(
                ad_id=ad.ad_id, connection_id=ad.connection_id, platform=ad.platform, campaign_id=ad.campaign_id,
                ad_name=ad.ad_name, headlines=list(ad.headlines), bodies=list(ad.bodies), currency=ad.currency,
                spend_minor=ad.spend_minor, revenue_minor=ad.revenue_minor, impressions=ad.impressions,
                clicks=ad.clicks, conversions=ad.conversions, roas=_ratio(ad.revenue_minor, ad.spend_minor),
                ctr=_ratio(ad.clicks, ad.impressions, CTR_PLACES), spend_share=share,
                ctr_first_half=_half_ctr(first, rules), ctr_second_half=_half_ctr(second, rules),
                headline_chars=len(ad.headlines[0]) if ad.headlines else None,
                body_chars=len(ad.bodies[0]) if ad.bodies else None,
                judged=share >= rules.min_spend_share and ad.impressions >= rules.min_impressions,
            )
        )  # fmt: skip
    return facts


_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)


def headline_words(ad: AdFacts) -> set[str]:
    """The words of four letters or more in an ad's headlines, lower-cased."""
    return {w.lower() for headline in ad.headlines for w in _WORD.findall(headline)}


def _group_figures(ads: Iterable[AdFacts]) -> dict[str, Decimal]:
    """ROAS and CTR of a group of ads, from the group's sums (one currency: spend and revenue add up)."""
    ads = list(ads)
    spend, revenue = sum(a.spend_minor for a in ads), sum(a.revenue_minor for a in ads)
    clicks, impressions = sum(a.clicks for a in ads), sum(a.impressions for a in ads)
    figures = {"ads": Decimal(len(ads))}
    if (roas := _ratio(revenue, spend)) is not None:
        figures["roas"] = roas
    if (ctr := _ratio(clicks, impressions, CTR_PLACES)) is not None:
        figures["ctr"] = ctr
    return figures


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(RATIO_PLACES, ROUND_HALF_UP)}%"


def _ranked(ads: Sequence[AdFacts], rules: CreativeRules) -> list[tuple[FactKind, list[AdFacts]]]:
    """The best and worst judged ads by ROAS (ads with revenue tracked) and by CTR."""
    found: list[tuple[FactKind, list[AdFacts]]] = []
    judged = [a for a in ads if a.judged]
    for ratio in ("roas", "ctr"):
        with_ratio = [a for a in judged if getattr(a, ratio) is not None and (ratio != "roas" or a.revenue_minor)]
        if len(with_ratio) < 2:
            continue
        ordered = sorted(with_ratio, key=lambda a: (-getattr(a, ratio), a.ad_id))
        count = min(rules.ranked, len(ordered) // 2)
        found.append((f"best_{ratio}", ordered[:count]))  # type: ignore[arg-type]
        found.append((f"worst_{ratio}", ordered[::-1][:count]))  # type: ignore[arg-type]
    return found


def _ranked_fact(kind: FactKind, ads: list[AdFacts]) -> _Found:
    ratio = kind.split("_", 1)[1]
    label = "Best" if kind.startswith("best") else "Weakest"
    shown = [getattr(a, ratio) for a in ads]
    words = ", ".join(
        f"{a.ad_id} ({'ROAS ' + str(v) if ratio == 'roas' else 'CTR ' + _pct(v)})"
        for a, v in zip(ads, shown, strict=True)
    )
    figures = {f"{a.ad_id}_{ratio}": v for a, v in zip(ads, shown, strict=True)}
    return kind, f"{ratio}_rank", [a.ad_id for a in ads], figures, f"{label} ads by {ratio.upper()}: {words}."


def _copy_length(ads: Sequence[AdFacts], rules: CreativeRules) -> list[_Found]:
    """Per currency: short against long primary texts, each group's ROAS and CTR from its sums."""
    found: list[_Found] = []
    for currency in sorted({a.currency for a in ads}):
        judged = [a for a in ads if a.judged and a.currency == currency and a.body_chars is not None]
        short = [a for a in judged if (a.body_chars or 0) <= rules.short_text_chars]
        long = [a for a in judged if (a.body_chars or 0) > rules.short_text_chars]
        if not short or not long:
            continue
        s, lg = _group_figures(short), _group_figures(long)
        figures = {f"short_{k}": v for k, v in s.items()} | {f"long_{k}": v for k, v in lg.items()}
        figures["short_text_chars"] = Decimal(rules.short_text_chars)
        text = (
            f"{currency}: {len(short)} ad(s) with a primary text of at most {rules.short_text_chars} characters "
            f"(ROAS {s.get('roas', '–')}, CTR {_pct(s['ctr']) if 'ctr' in s else '–'}) against {len(long)} with a "
            f"longer one (ROAS {lg.get('roas', '–')}, CTR {_pct(lg['ctr']) if 'ctr' in lg else '–'})."
        )
        found.append(("copy_length", "primary_text_length", [a.ad_id for a in short + long], figures, text))
    return found


def _headline_patterns(best: list[AdFacts]) -> list[tuple[_Found, str]]:
    """Headline words shared by at least two of the best ads by ROAS, with the ROAS of the ads that carry them."""
    found: list[tuple[_Found, str]] = []
    counts: dict[str, list[AdFacts]] = {}
    for ad in best:
        for word in headline_words(ad):
            counts.setdefault(word, []).append(ad)
    for word, carriers in sorted(counts.items()):
        if len(carriers) < 2 or len({a.currency for a in carriers}) != 1:
            continue
        figures = _group_figures(carriers)
        ids = [a.ad_id for a in carriers]
        text = (
            f"{len(carriers)} of the best ads by ROAS share a headline word ({', '.join(ids)}); "
            f"together ROAS {figures.get('roas', '–')}."
        )
        found.append((("headline_pattern", "shared_headline_word", ids, figures, text), word))
    return found


def _fatigue(ads: Sequence[AdFacts], rules: CreativeRules) -> list[_Found]:
    """Judged ads whose CTR fell by the fatigue share or more from the first half of the period to the second."""
    found: list[_Found] = []
    for a in ads:
        first, second = a.ctr_first_half, a.ctr_second_half
        if not a.judged or not first or second is None:
            continue
        drop = ((first - second) / first).quantize(CTR_PLACES, ROUND_HALF_UP)
        if drop < rules.fatigue_ctr_drop:
            continue
        figures = {"ctr_first_half": first, "ctr_second_half": second, "ctr_drop": drop}
        text = (
            f"Ad {a.ad_id}: CTR fell from {_pct(first)} to {_pct(second)} between the halves of the period "
            f"({_pct(drop)} lower)."
        )
        found.append(("fatigue", "ctr_decay", [a.ad_id], figures, text))
    return found


def creative_facts(ads: Sequence[AdFacts], rules: CreativeRules = DEFAULT_RULES) -> list[CreativeFact]:
    """Every fact the ads' numbers show about their copy, numbered ``C1``… in a stable order."""
    ranked = _ranked(ads, rules)
    rows: list[tuple[_Found, str | None]] = [(_ranked_fact(kind, chosen), None) for kind, chosen in ranked]
    rows += [(row, None) for row in _copy_length(ads, rules)]
    best = next((chosen for kind, chosen in ranked if kind == "best_roas"), [])
    rows += list(_headline_patterns(best))
    rows += [(row, None) for row in _fatigue(ads, rules)]
    return [
        CreativeFact(id=f"C{i}", kind=kind, rule=rule, ad_ids=ids, figures=figures, text=text, word=word)
        for i, ((kind, rule, ids, figures, text), word) in enumerate(rows, start=1)
    ]
