"""The unified results view: every account metric of a client for a period, by category, with its
unit, how it aggregates, its delta against the previous period, and the blended view across platforms.

How each kind of metric is read over a period (docs/domain-rules.md, "Results"):

- a *sum* adds up the period's days;
- a *level* (active subscriptions, loyalty members) is the value at the period's end: each
  connection's latest stored day in the period, added over connections, never a sum of days;
- a *window-unique* count (GA4 users) is the platform's own figure for exactly that window, stored
  for the standard windows; any other range has none, and says why;
- a *ratio* is derived from the period's sums (``catalogue.DERIVED_METRICS``), never averaged;
- *blended* figures (MER, blended cost per order) put store revenue and store orders against the
  spend of every ad platform, with amounts of different currencies converted day by day at the
  dated rate in force (``clientpulse.shared.money``); without a rate the figure is withheld, named.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from clientpulse.results_ingest.db.repositories.account_metrics import AccountMetricRepository
from clientpulse.results_ingest.db.repositories.metric_windows import MetricWindowRepository
from clientpulse.results_ingest.domain.aggregation import Delta, period_delta, ratio
from clientpulse.results_ingest.domain.catalogue import (
    BLENDED_ORDERS,
    BLENDED_REVENUE,
    BLENDED_SPEND,
    CATALOGUE,
    DERIVED_METRICS,
    Aggregation,
    Category,
    DerivedMetric,
    Unit,
)
from clientpulse.results_ingest.domain.periods import DateRange
from clientpulse.results_ingest.domain.records import CONVERSION_SCALE
from clientpulse.results_ingest.domain.windows import TRAILING_REACH_DAYS, is_standard_reach_window
from clientpulse.shared.money import MissingRate, RateTable

RATIO = "ratio"
Key = tuple[str, str | None]  # (metric key, currency): counts carry no currency


@dataclass(frozen=True, slots=True)
class MetricLine:
    """One metric over the current and the previous period."""

    category: str
    metric: str
    unit: str
    aggregation: str  # sum, level, window_unique or ratio
    currency: str | None
    current: Decimal | None
    previous: Decimal | None
    delta: Delta
    note: str | None = None  # why a value is missing, when it is


@dataclass(slots=True)
class PeriodFigures:
    """What one period's stored numbers say, in real units (ten-thousandths scaled back)."""

    sums: dict[Key, Decimal] = field(default_factory=dict)
    # Counts by the currency of the accounts that counted them (orders of a USD shop go with its USD sales).
    counts_by_currency: dict[Key, Decimal] = field(default_factory=dict)
    levels: dict[Key, Decimal] = field(default_factory=dict)
    levels_before: dict[Key, Decimal] = field(default_factory=dict)  # at the end of the day before the start
    windows: dict[str, Decimal] = field(default_factory=dict)

    def stored(self) -> dict[Key, Decimal]:
        """Sums, levels and window counts together."""
        return {**self.sums, **self.levels, **{(k, None): v for k, v in self.windows.items()}}


def real_value(metric: str, raw: int) -> Decimal:
    """A stored integer in the metric's real units (ten-thousandths scaled back)."""
    return Decimal(raw) / CONVERSION_SCALE if metric.endswith("_e4") else Decimal(raw)


def public_name(metric: str) -> str:
    """The name a stored metric is shown by (scaled counts lose their ``_e4``)."""
    return metric.removesuffix("_e4")


def _keys(aggregation: Aggregation) -> list[str]:
    return [m.key for m in CATALOGUE.values() if m.aggregation is aggregation]


async def read_period(session: AsyncSession, client_id: str, window: DateRange) -> PeriodFigures:
    """The client's sums, levels and window counts for one period."""
    repository = AccountMetricRepository(session)
    levels = _keys(Aggregation.LEVEL)
    day_before = window.start - timedelta(days=1)
    figures = PeriodFigures()
    for _c, key, cur, account_currency, raw in await repository.sums(
        client_id, window.start, window.end, _keys(Aggregation.SUM)
    ):
        value = real_value(key, raw)
        figures.sums[(key, cur)] = figures.sums.get((key, cur), Decimal(0)) + value
        if cur is None:
            counted = (key, account_currency)
            figures.counts_by_currency[counted] = figures.counts_by_currency.get(counted, Decimal(0)) + value
    for _c, key, cur, level in await repository.levels(client_id, window.start, window.end, levels):
        figures.levels[(key, cur)] = real_value(key, level)
    for _c, key, cur, level in await repository.levels(client_id, None, day_before, levels):
        figures.levels_before[(key, cur)] = real_value(key, level)
    for _c, key, count in await MetricWindowRepository(session).account_figures(client_id, window.start, window.end):
        figures.windows[key] = Decimal(count)
    return figures


def stored_lines(
    now: PeriodFigures, before: PeriodFigures, window_keys: set[str], window: DateRange
) -> list[MetricLine]:
    """A line per stored metric and currency; a window count the client has, but not for this range, says why."""
    current, previous = now.stored(), before.stored()
    keys = set(current) | set(previous) | {(k, None) for k in window_keys}
    lines = []
    for key, currency in sorted(keys, key=lambda k: (CATALOGUE[k[0]].category.value, k[0], k[1] or "")):
        spec = CATALOGUE[key]
        cur, prev = current.get((key, currency)), previous.get((key, currency))
        note = None
        if spec.aggregation is Aggregation.WINDOW_UNIQUE and cur is None:
            note = window_note(window)
        elif spec.aggregation is not Aggregation.WINDOW_UNIQUE:
            cur, prev = cur or Decimal(0), prev or Decimal(0)
        lines.append(
            MetricLine(
                spec.category.value,
                public_name(key),
                spec.unit.value,
                spec.aggregation.value,
                currency,
                cur,
                prev,
                period_delta(cur, prev),
                note,
            )
        )
    return lines


def window_note(window: DateRange) -> str:
    """Why a count of people has no value for a range."""
    if not is_standard_reach_window(window):
        lengths = ", ".join(str(n) for n in TRAILING_REACH_DAYS)
        return (
            "people are counted by the platform for a whole window and cannot be added up over days; they are "
            f"stored for the last {lengths} days and for whole weeks, months and quarters, and this range is none "
            "of them"
        )
    return "the platform's count for this range has not been read yet; the next sync stores it"


def _total(figures: PeriodFigures, keys: tuple[str, ...], currency: str | None) -> Decimal:
    """The sum of ``keys`` in a period: money in ``currency``, counts of the accounts of that currency
    (every count when the ratio involves no money); a level is read at the end of the day before."""
    total = Decimal(0)
    for key in keys:
        spec = CATALOGUE[key]
        if spec.aggregation is Aggregation.LEVEL:
            total += sum((v for (k, _cur), v in figures.levels_before.items() if k == key), Decimal(0))
        elif spec.is_money or currency is not None:
            source = figures.sums if spec.is_money else figures.counts_by_currency
            total += source.get((key, currency), Decimal(0))
        else:
            total += sum((v for (k, _cur), v in figures.sums.items() if k == key), Decimal(0))
    return total


def derive(metric: DerivedMetric, figures: PeriodFigures, currency: str | None) -> Decimal | None:
    """One derived ratio over a period, from the period's sums (``None`` with nothing to divide by)."""
    numerator = _total(figures, metric.numerator, currency) - _total(figures, metric.subtract, currency)
    return ratio(numerator, _total(figures, metric.denominator, currency))


def _derived_note(metric: DerivedMetric, figures: PeriodFigures) -> str | None:
    levels = [k for k in metric.denominator if CATALOGUE[k].aggregation is Aggregation.LEVEL]
    if levels and not any(k in levels for k, _cur in figures.levels_before):
        return f"no {', '.join(levels)} stored for the day before the period began (a longer backfill gives it)"
    return None


def derived_lines(now: PeriodFigures, before: PeriodFigures) -> list[MetricLine]:
    """The ratios whose inputs the client has, per currency where money is involved."""
    present = {k for k, _ in (*now.stored(), *before.stored(), *now.levels_before, *before.levels_before)}
    amounts = (*now.sums, *before.sums)
    lines = []
    for metric in DERIVED_METRICS:
        if not set(metric.numerator) & present:
            continue
        money = [k for k in metric.operands if CATALOGUE[k].is_money]
        currencies = sorted({cur for k, cur in amounts if k in money and cur}) if money else [None]
        for currency in currencies:
            cur, prev = derive(metric, now, currency), derive(metric, before, currency)
            lines.append(
                MetricLine(
                    metric.category.value,
                    metric.key,
                    metric.unit.value,
                    RATIO,
                    currency,
                    cur,
                    prev,
                    period_delta(cur, prev),
                    _derived_note(metric, now) if cur is None else None,
                )
            )
    return lines


@dataclass(frozen=True, slots=True)
class Blended:
    """Store revenue, ad spend and store orders of one period in one currency (or why they cannot be)."""

    currency: str | None
    revenue: Decimal
    spend: Decimal
    orders: Decimal
    missing_rate: str | None = None


def blend(rows: list[tuple[date, str, str | None, int]], rates: RateTable) -> Blended:
    """Add each day's revenue and spend in one currency: as they are when every amount shares one,
    else converted into the base currency at the rate in force on the day."""
    currencies = {cur for _d, key, cur, _v in rows if cur and CATALOGUE[key].is_money}
    single = next(iter(currencies)) if len(currencies) == 1 else None
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for day, key, cur, value in rows:
        if not CATALOGUE[key].is_money or cur is None or single is not None:
            totals[key] += Decimal(value)
            continue
        try:
            totals[key] += rates.to_base_minor(value, cur, day)
        except MissingRate as exc:
            return Blended(rates.base_currency, Decimal(0), Decimal(0), Decimal(0), str(exc))
    currency = single or (rates.base_currency if currencies else None)
    return Blended(currency, totals[BLENDED_REVENUE], totals[BLENDED_SPEND], totals[BLENDED_ORDERS])


async def _blended_period(session: AsyncSession, client_id: str, window: DateRange, rates: RateTable) -> Blended:
    keys = [BLENDED_REVENUE, BLENDED_SPEND, BLENDED_ORDERS]
    rows = await AccountMetricRepository(session).daily_sums(client_id, window.start, window.end, keys)
    return blend(rows, rates)


def blended_lines(now: Blended, before: Blended, has_store: bool, has_ads: bool) -> list[MetricLine]:
    """MER and blended cost per order, when the client has both a store and ad platforms."""
    if not (has_store and has_ads):
        return []
    note = now.missing_rate or before.missing_rate
    if note:
        note = f"{note}: amounts in different currencies are only added at a dated rate"

    def line(key: str, unit: Unit, cur: Decimal | None, prev: Decimal | None, currency: str | None) -> MetricLine:
        if note:
            cur = prev = None
        return MetricLine(
            Category.BLENDED.value, key, unit.value, RATIO, currency, cur, prev, period_delta(cur, prev), note
        )

    return [
        line("mer", Unit.RATIO, ratio(now.revenue, now.spend), ratio(before.revenue, before.spend), None),
        line(
            "blended_cost_per_order_minor",
            Unit.MONEY_MINOR,
            ratio(now.spend, now.orders),
            ratio(before.spend, before.orders),
            now.currency or before.currency,
        ),
    ]


async def account_metrics(
    session: AsyncSession, client_id: str, current: DateRange, previous: DateRange, rates: RateTable
) -> tuple[list[MetricLine], bool]:
    """Every metric of the client for the period against the previous one, and whether the period still
    holds days the platforms may restate."""
    now, before = await read_period(session, client_id, current), await read_period(session, client_id, previous)
    window_keys = set(await MetricWindowRepository(session).keys_for(client_id))
    lines = stored_lines(now, before, window_keys, current)
    lines += derived_lines(now, before)
    present = {k for k, _ in (*now.stored(), *before.stored())}
    lines += blended_lines(
        await _blended_period(session, client_id, current, rates),
        await _blended_period(session, client_id, previous, rates),
        has_store=BLENDED_REVENUE in present,
        has_ads=BLENDED_SPEND in present,
    )
    unfinal = await AccountMetricRepository(session).has_unfinal_days(client_id, current.start, current.end)
    return lines, unfinal
