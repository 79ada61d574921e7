"""Pure rules of framework proposals, versioned bands and imported invoice rows, table-tested with their
boundaries."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from clientpulse.tiering.domain.framework import BUILT_IN, bands_from_floors, framework_of, revenue_band_score
from clientpulse.tiering.domain.framework_proposals import floor_problems, weight_problems
from clientpulse.tiering.domain.invoice_import import RowProblem, check_row, differing_field
from clientpulse.tiering.domain.ledger import ledger_row
from clientpulse.tiering.domain.recalculation import band_of_minor

D = Decimal
MANAGED = {"revenue": D("0.35"), "profitability": D("0.25"), "strategic_value": D("0.20"),
           "relationship_quality": D("0.20")}  # fmt: skip
SAAS = {"arr": D("0.40"), "product_adoption": D("0.20"), "growth_trajectory": D("0.20"),
        "relationship_quality": D("0.20")}  # fmt: skip


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        ({"managed_delivery": MANAGED, "product_saas": SAAS}, None),
        ({"managed_delivery": {**MANAGED, "revenue": D("0.30")}, "product_saas": SAAS}, "sum to 0.95, not 1"),
        (
            {"managed_delivery": {**MANAGED, "revenue": D("0.355"), "profitability": D("0.245")}, "product_saas": SAAS},
            "in hundredths",
        ),
        (
            {"managed_delivery": {**MANAGED, "revenue": D("0"), "profitability": D("0.60")}, "product_saas": SAAS},
            "above 0",
        ),
        ({"managed_delivery": MANAGED}, "weights of product_saas are missing"),
        ({"managed_delivery": {"revenue": D("1")}, "product_saas": SAAS}, "needs exactly the dimensions"),
        ({"managed_delivery": MANAGED, "product_saas": SAAS, "gold": {}}, "unknown tracks: gold"),
    ],
)
def test_weights_must_cover_every_dimension_in_hundredths_summing_to_one(weights, problem) -> None:
    problems = weight_problems(weights)
    assert (problems == []) if problem is None else any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("floors", "ok"),
    [
        ([D(300000), D(150000), D(75000), D(30000)], True),
        ([D(300000), D(300000), D(75000), D(30000)], False),  # equal floors: a band would be empty
        ([D(30000), D(75000), D(150000), D(300000)], False),
        ([D(300000), D(150000), D(75000)], False),
        ([D(300000), D(150000), D(75000), D(0)], False),
        ([D(300000), D(150000), D(75000), D("0.001")], False),
    ],
)
def test_band_floors_are_four_decreasing_positive_hundredths(floors, ok) -> None:
    assert (floor_problems(floors) == []) is ok


def test_a_version_bands_revenue_by_its_own_floors_and_keeps_the_rule_of_the_top_band() -> None:
    version = framework_of(2, {"managed_delivery": {k: str(v) for k, v in MANAGED.items()},
                               "product_saas": {k: str(v) for k, v in SAAS.items()}},
                           ["100000", "50000", "25000", "10000"])  # fmt: skip
    assert version.revenue_bands == bands_from_floors((D(100000), D(50000), D(25000), D(10000)))
    assert [revenue_band_score(D(r), version.revenue_bands) for r in (100001, 100000, 25000, 9999)] == [5, 4, 3, 1]
    assert BUILT_IN.band_floors() == (D(300000), D(150000), D(75000), D(30000))
    floors_minor = (30_000_000, 15_000_000, 7_500_000, 3_000_000)
    assert [band_of_minor(m, floors_minor) for m in (30_000_001, 30_000_000, 7_500_000, 2_999_999, -5)] == [
        5, 4, 3, 1, 1,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (
            {"invoice_id": "i", "client_id": "c", "issued_on": "2026-02-30", "amount": "1", "currency": "EUR"},
            "issued_on",
            "valid date",
        ),
        (
            {"invoice_id": "i", "client_id": "c", "issued_on": "2026-02-01", "amount": "1.005", "currency": "EUR"},
            "amount",
            "more than 2 decimals",
        ),
        (
            {"invoice_id": "i", "client_id": "c", "issued_on": "2026-02-01", "amount": "1", "currency": "XAU"},
            "currency",
            "no minor unit",
        ),
        (
            {"invoice_id": "i", "client_id": "c", "issued_on": "2026-02-01", "currency": "EUR"},
            "row",
            "exactly one of amount",
        ),
        (
            {
                "invoice_id": "i",
                "client_id": "c",
                "issued_on": "2026-02-01",
                "amount": "1",
                "currency": "EUR",
                "colour": "red",
            },
            "colour",
            "Extra inputs",
        ),
    ],
)
def test_a_bad_row_names_its_field_and_what_is_wrong(raw, field, reason) -> None:
    with pytest.raises(RowProblem) as problem:
        check_row(raw)
    assert problem.value.field == field
    assert reason in problem.value.reason


def test_a_row_becomes_the_ledger_row_the_consumer_would_keep() -> None:
    now = datetime.now(UTC)
    credit = check_row({"invoice_id": "i", "client_id": "c", "issued_on": "2026-02-01", "amount": "12.50",
                        "currency": "eur", "is_credit_note": "yes"})  # fmt: skip
    row = ledger_row(credit, event_id="e", recorded_at=now)
    assert (row["amount_minor"], row["currency"], row["is_credit_note"]) == (-1250, "EUR", True)
    yen = ledger_row(check_row({"invoice_id": "j", "client_id": "c", "issued_on": "2026-02-01", "amount_minor": "-500",
                                "currency": "JPY"}), event_id="e", recorded_at=now)  # fmt: skip
    assert (yen["amount_minor"], yen["is_credit_note"]) == (-500, True)
    assert differing_field(row, row | {"recorded_at": "later", "event_id": "other"}) is None
    assert differing_field(row, row | {"amount_minor": -1}) == "amount_minor"
