"""The web console in Debian's Chromium against the whole running system: each role sees only what it may,
scoring changes the tier and the DM is told live, a backfill runs to its end, the campaign table sorts, a
question is answered, a company becomes a client, an API error reads as words, and axe-core finds no
serious violation. Each main page is saved as a screenshot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from browser_kit import ANSWER, screenshot, serious_violations
from harness import System, eventually

from clientpulse.shared.identity import Role

pytestmark = pytest.mark.e2e

EXEC = (Role.EXECUTIVE, "u-exec", None)
HEAD = (Role.HEAD, "u-head", "s-1")
DM = (Role.MANAGER, "u-42", "s-1")
LEAD = (Role.LEAD, "u-lead", "s-1")
EMPLOYEE = (Role.EMPLOYEE, "u-emp", "s-1")
PHONE = {"width": 390, "height": 844}


@dataclass
class World:
    client_id: str
    hidden_id: str
    prospect_id: str


def _convert(api: Any, name: str, dm: str, squad: str) -> str:
    company = api.post("/api/v1/companies", json={"name": name}).json()
    converted = api.post(
        f"/api/v1/companies/{company['id']}/convert", json={"status": "Active", "dm_id": dm, "squad_id": squad}
    )
    assert converted.status_code == 201, converted.text
    return str(company["id"])


@pytest.fixture(scope="module")
def world(console_system: System) -> World:
    """A client of squad s-1 with an ad account, a client of another squad, and a company not yet a client."""
    sandbox = console_system.stack.sandbox_url
    httpx.post(f"{sandbox}/_sandbox/accounts", json={"platform": "tiktok_ads", "account_id": "88001", "campaigns": 4})
    grant = httpx.post(f"{sandbox}/_sandbox/grants/tiktok_ads").json()
    with console_system.api(*EXEC) as executive:
        client_id = _convert(executive, "Aurora Apparel", "u-42", "s-1")
        hidden_id = _convert(executive, "Hidden Harbour", "u-99", "s-9")
        prospect = executive.post("/api/v1/companies", json={"name": "Prospect Pottery"}).json()
        assert eventually(lambda: executive.get(f"/api/v1/clients/{client_id}/connections").status_code == 200)
        connected = executive.post(
            f"/api/v1/clients/{client_id}/connections",
            json={"platform": "tiktok_ads", "account_id": "88001", "method": "token", **grant},
        )
        assert connected.status_code == 201, connected.text
        assert eventually(lambda: executive.get(f"/api/v1/clients/{client_id}/tiering").status_code == 200)
    return World(client_id, hidden_id, str(prospect["id"]))


def sign_in(browser: Any, system: System, who: tuple[Role, str, str | None], **context: Any) -> Any:
    """A fresh browser context signed in through the development sign-in; its page."""
    page = browser.new_context(viewport=context.pop("viewport", {"width": 1280, "height": 900}), **context).new_page()
    role, sub, squad = who
    page.goto(f"{system.web_url}/sign-in")
    page.get_by_label("Role").select_option(role.value)
    page.get_by_label("User id").fill(sub)
    page.get_by_label("Squad").fill(squad or "")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)
    return page


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.context.close()


def test_each_role_sees_only_what_it_may(console_system: System, world: World, browser: Any, pages: list[Any]) -> None:
    for who in (EXEC, HEAD):
        page = sign_in(browser, console_system, who)
        pages.append(page)
        assert page.url.endswith("/clients")
        rows = page.locator("#client-table tbody").inner_text()
        assert "Aurora Apparel" in rows and "Hidden Harbour" in rows
        assert page.locator("#attention-count").is_visible()
    page.get_by_label("Squad").fill("s-9")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(lambda url: "squad_id=s-9" in url)
    assert page.locator("#client-table tbody tr").all_inner_texts() == [
        row for row in page.locator("#client-table tbody tr").all_inner_texts() if "Hidden Harbour" in row
    ]
    assert page.locator("#client-table tbody tr").count() == 1
    dm = sign_in(browser, console_system, DM)
    pages.append(dm)
    assert "Aurora Apparel" in dm.locator("#client-table tbody").inner_text()
    assert "Hidden Harbour" not in dm.locator("#client-table tbody").inner_text()
    screenshot(dm, "clients")
    for who in (LEAD, EMPLOYEE):
        page = sign_in(browser, console_system, who)
        pages.append(page)
        assert page.url.endswith("/notifications")
        nav = page.get_by_role("navigation", name="Main")
        assert nav.get_by_role("link", name="Clients").count() == 0
        assert nav.get_by_role("link", name="Companies").count() == 0
        answer = page.goto(f"{console_system.web_url}/clients")
        assert answer is not None and answer.status == 403
        assert "no access to the clients module" in page.locator("main").inner_text()
    screenshot(page, "lead-refused")


def test_an_api_error_reads_as_its_problem_in_words(
    console_system: System, world: World, browser: Any, pages: list[Any]
) -> None:
    page = sign_in(browser, console_system, DM)
    pages.append(page)
    answer = page.goto(f"{console_system.web_url}/clients/{world.hidden_id}")
    assert answer is not None and answer.status == 404
    text = page.locator("main").inner_text()
    assert "Not found" in text or "not found" in text
    assert "Traceback" not in page.content()
    page.goto(f"{console_system.web_url}/clients/{world.client_id}/goals")
    page.get_by_label("Name").fill("Spring revenue")
    page.get_by_label("Target").fill("1000")
    page.get_by_label("From").fill("2026-06-30")
    page.get_by_label("To").fill("2026-04-01")
    page.get_by_role("button", name="Add goal").click()
    page.wait_for_url(lambda url: url.endswith(f"/clients/{world.client_id}/goals"))
    assert "period_end is before period_start" in page.locator("#refused").inner_text()
    screenshot(page, "client-goals-refused")
    page.reload()
    assert page.locator("#refused").count() == 0


def test_scoring_changes_the_tier_and_the_dm_is_told_live(
    console_system: System, world: World, browser: Any, pages: list[Any]
) -> None:
    dm = sign_in(browser, console_system, DM)
    pages.append(dm)
    dm.goto(f"{console_system.web_url}/notifications")
    unread_before = int(dm.locator("#unread-count").get_attribute("data-count") or "0")
    executive = sign_in(browser, console_system, EXEC)
    pages.append(executive)
    executive.goto(f"{console_system.web_url}/clients/{world.client_id}/tiering")
    assert "Not scored yet" in executive.locator("#effective-tier").inner_text()
    form = executive.locator("#score-form")
    for group in form.locator("fieldset").all():
        group.locator("input[value='5']").check()
    form.get_by_role("button", name="Score now").click()
    executive.wait_for_url(lambda url: "flash=Scored" in url)
    tier = executive.locator("#effective-tier .badge.tier").inner_text()
    assert tier in ("Platinum", "Core", "Standard", "Review")
    screenshot(executive, "client-tiering")
    assert executive.get_by_role("link", name="Check-ins").count() == (1 if tier == "Platinum" else 0)
    log_a_platinum_check_in(executive, console_system, world)
    live = dm.locator("#live-notifications li a")
    live.first.wait_for(timeout=20_000)
    assert f"/clients/{world.client_id}" in (live.first.get_attribute("href") or "")
    assert int(dm.locator("#unread-count").get_attribute("data-count") or "0") > unread_before
    screenshot(dm, "notifications-live")
    live.first.click()
    dm.wait_for_url(lambda url: f"/clients/{world.client_id}" in url)


def log_a_platinum_check_in(page: Any, system: System, world: World) -> None:
    """Override the client to Platinum: its Check-ins tab appears (only that tier asks for them), and a
    check-in logged there is listed."""
    override = page.locator("form[action$='/do/override']")
    override.get_by_label("Tier").select_option("Platinum")
    override.get_by_label("Reason (required)").fill("Flagship account for the spring launch")
    override.get_by_role("button", name="Override").click()
    page.wait_for_url(lambda url: "flash=" in url)
    tab = page.get_by_role("link", name="Check-ins")
    deadline = time.monotonic() + 20
    while tab.count() == 0 and time.monotonic() < deadline:  # the tier reaches the clients service by event
        page.wait_for_timeout(500)
        page.goto(f"{system.web_url}/clients/{world.client_id}/tiering")
    tab.click()
    form = page.locator("form[action$='/do/check-ins']")
    form.get_by_label("Held on").fill("2026-12-01")
    form.get_by_label("Notes").fill("Monthly check-in on the spring launch")
    form.get_by_role("button", name="Log check-in").click()
    page.wait_for_url(lambda url: "flash=Check-in" in url)
    assert "Monthly check-in on the spring launch" in page.locator("main").inner_text()
    screenshot(page, "client-check-ins")


def test_a_backfill_runs_to_its_end_and_the_campaign_table_sorts(
    console_system: System, world: World, browser: Any, pages: list[Any]
) -> None:
    page = sign_in(browser, console_system, DM)
    pages.append(page)
    page.goto(f"{console_system.web_url}/clients/{world.client_id}/results")
    page.get_by_label("Days").select_option("30")
    page.get_by_role("button", name="Run backfill").click()
    page.wait_for_url(lambda url: "backfill=" in url)
    page.wait_for_selector("#backfill[data-status='completed']", timeout=90_000)
    assert (
        page.locator(".backfill-count").inner_text().split(" of ")[0]
        == page.locator(".backfill-count").inner_text().split(" of ")[1]
    )
    page.goto(f"{console_system.web_url}/clients/{world.client_id}/results?period=month")
    table = page.locator("#campaign-table")
    assert table.locator("tbody tr").count() == 4
    table.get_by_role("link", name="ROAS").click()
    page.wait_for_url(lambda url: "sort=roas" in url)
    assert table.locator("th[aria-sort='descending']").inner_text().startswith("ROAS")
    descending = [float(v) for v in table.locator("tbody tr td:nth-child(6)").all_inner_texts()]
    assert descending == sorted(descending, reverse=True)
    table.get_by_role("link", name="ROAS").click()
    page.wait_for_url(lambda url: "order=asc" in url)
    ascending = [float(v) for v in table.locator("tbody tr td:nth-child(6)").all_inner_texts()]
    assert ascending == sorted(ascending) and sorted(ascending) == sorted(descending)
    assert page.locator("svg.spark").count() == 4
    screenshot(page, "client-results")


def test_a_question_is_answered(
    console_system: System, world: World, browser: Any, pages: list[Any], model: Any
) -> None:
    page = sign_in(browser, console_system, DM)
    pages.append(page)
    page.goto(f"{console_system.web_url}/clients/{world.client_id}/insights")
    page.get_by_label("Question about this client's results").fill("Where should the budget go?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_url(lambda url: "flash=Answered" in url)
    answers = page.locator(".answers").inner_text()
    assert "Where should the budget go?" in answers and ANSWER in answers
    assert model[1], "the model stand-in was never asked"
    screenshot(page, "client-insights")


def test_a_company_becomes_a_client(console_system: System, world: World, browser: Any, pages: list[Any]) -> None:
    page = sign_in(browser, console_system, EXEC)
    pages.append(page)
    page.goto(f"{console_system.web_url}/companies")
    page.get_by_label("Search companies").fill("Prospect Pottery")
    page.get_by_role("button", name="Search").click()
    screenshot(page, "companies")
    page.get_by_role("link", name="Prospect Pottery").click()
    page.get_by_label("DM").fill("u-42")
    page.get_by_label("Squad").fill("s-1")
    page.get_by_role("button", name="Convert to Client").click()
    page.wait_for_url(lambda url: f"/clients/{world.prospect_id}" in url)
    assert "Converted to a client" in page.locator(".flash").inner_text()
    screenshot(page, "client-overview")
    page.get_by_label("Change status").select_option("Dormant")
    page.get_by_label("Reason").fill("Paused for the winter")
    page.get_by_role("button", name="Change").click()
    page.wait_for_url(lambda url: "flash=Status+changed" in url)
    assert "Dormant" in page.locator(".client-head").inner_text()
    assert "Dormant" in page.locator(".feed").first.inner_text()


MAIN_PAGES = ("/clients", "/clients/{id}", "/clients/{id}/tiering", "/clients/{id}/health", "/clients/{id}/results",
              "/clients/{id}/insights", "/clients/{id}/connections", "/companies", "/notifications")  # fmt: skip


def test_main_pages_are_accessible_and_fit_a_phone(
    console_system: System, world: World, browser: Any, pages: list[Any]
) -> None:
    desktop = sign_in(browser, console_system, EXEC)
    phone = sign_in(browser, console_system, EXEC, viewport=PHONE)
    pages.extend([desktop, phone])
    found: dict[str, list[str]] = {}
    for path in MAIN_PAGES:
        url = console_system.web_url + path.format(id=world.client_id)
        desktop.goto(url)
        if violations := serious_violations(desktop):
            found[path] = violations
        phone.goto(url)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than a phone"
    screenshot(phone, "phone-notifications")
    signed_out = browser.new_context().new_page()
    pages.append(signed_out)
    signed_out.goto(f"{console_system.web_url}/sign-in")
    if violations := serious_violations(signed_out):
        found["/sign-in"] = violations
    assert not found, found
