"""Meta's rate limits as the sandbox imitates them: business-use-case throttles that last until their
``estimated_time_to_regain_access``, the app-wide limit, and the usage headers a client can pause on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1]))
from sandbox_testkit import InProcessSandbox

INSIGHTS = "/meta/v25.0/act_{account}/insights"
DAY = {"level": "campaign", "time_increment": "1", "time_range": '{"since":"2026-08-01","until":"2026-08-02"}'}


async def insights(live: InProcessSandbox, account: str, token: str) -> httpx.Response:
    return await live.http.get(INSIGHTS.format(account=account), params={**DAY, "access_token": token})


async def campaigns(live: InProcessSandbox, account: str, token: str) -> httpx.Response:
    return await live.http.get(f"/meta/v25.0/act_{account}/campaigns", params={"access_token": token})


def regain_minutes(response: httpx.Response, account: str) -> int:
    return int(json.loads(response.headers["x-business-use-case-usage"])[account][0]["estimated_time_to_regain_access"])


async def test_none_placeholders_put_the_throttle_on_the_sixth_request(live: InProcessSandbox) -> None:
    token = await live.grant("meta_ads")
    await live.queue("meta_ads", "1001", "none", "none", "none", "none", "none", "throttle_wait:1")
    statuses = [(await insights(live, "1001", token)).status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 400]


async def test_throttle_wait_refuses_the_account_until_the_minutes_pass(live: InProcessSandbox) -> None:
    token = await live.grant("meta_ads")
    await live.queue("meta_ads", "1001", "throttle_wait:15")

    first = await insights(live, "1001", token)
    assert first.status_code == 400
    assert first.json()["error"]["code"] == 80000
    assert first.json()["error"]["error_subcode"] == 2446079
    assert regain_minutes(first, "1001") == 15

    live.clock.advance(minutes=4, seconds=30)
    again = await insights(live, "1001", token)  # nothing queued: the platform remembers
    assert again.json()["error"]["code"] == 80000
    assert regain_minutes(again, "1001") == 11  # 10.5 minutes left, rounded up
    assert (await insights(live, "1002", token)).status_code == 200  # only that account is throttled

    live.clock.advance(minutes=10, seconds=29)
    assert regain_minutes(await insights(live, "1001", token), "1001") == 1  # a second left still reads 1
    live.clock.advance(seconds=2)
    assert (await insights(live, "1001", token)).status_code == 200


async def test_throttle_17_with_minutes_is_remembered_and_without_answers_once(live: InProcessSandbox) -> None:
    token = await live.grant("meta_ads")
    await live.queue("meta_ads", "1001", "throttle_17:10")
    await live.queue("meta_ads", "1002", "throttle_17", "throttle")

    remembered = [await campaigns(live, "1001", token) for _ in range(2)]
    assert [(r.json()["error"]["code"], r.json()["error"]["error_subcode"]) for r in remembered] == [(17, 2446079)] * 2
    assert regain_minutes(remembered[1], "1001") == 10

    once = await campaigns(live, "1002", token)
    assert once.json()["error"]["code"] == 17
    assert regain_minutes(once, "1002") == 0
    plain = await campaigns(live, "1002", token)
    assert plain.json()["error"]["code"] == 80000
    assert regain_minutes(plain, "1002") == 0
    assert (await campaigns(live, "1002", token)).status_code == 200


async def test_app_limit_refuses_every_account_of_the_app_until_the_minutes_pass(live: InProcessSandbox) -> None:
    token = await live.grant("meta_ads")
    await live.queue("meta_ads", "1001", "app_limit:3")

    on_insights = await insights(live, "1001", token)
    assert on_insights.status_code == 400
    assert on_insights.json()["error"]["code"] == 4
    assert on_insights.json()["error"]["error_subcode"] == 1504022
    assert json.loads(on_insights.headers["x-app-usage"]) == {"call_count": 100, "total_cputime": 45, "total_time": 60}
    assert json.loads(on_insights.headers["x-fb-ads-insights-throttle"])["app_id_util_pct"] == 100

    elsewhere = await campaigns(live, "2002", token)  # another account, another edge: the whole app is limited
    assert elsewhere.json()["error"]["code"] == 4
    assert "error_subcode" not in elsewhere.json()["error"]
    assert json.loads(elsewhere.headers["x-app-usage"])["call_count"] == 100

    live.clock.advance(minutes=3, seconds=1)
    assert (await campaigns(live, "2002", token)).status_code == 200


async def test_answers_report_low_usage_until_a_test_sets_it(live: InProcessSandbox) -> None:
    token = await live.grant("meta_ads")
    quiet = await insights(live, "1001", token)
    assert json.loads(quiet.headers["x-app-usage"])["call_count"] < 10
    assert json.loads(quiet.headers["x-fb-ads-insights-throttle"])["app_id_util_pct"] < 10
    assert regain_minutes(quiet, "1001") == 0

    set_usage = {"call_count": 96, "total_cputime": 10, "total_time": 10, "app_id_util_pct": 96}
    assert (await live.http.post("/_sandbox/meta/app-usage", json=set_usage)).status_code == 200
    busy = await insights(live, "1001", token)
    assert busy.status_code == 200  # reported, not refused: a client can pause before the limit
    assert json.loads(busy.headers["x-app-usage"]) == {"call_count": 96, "total_cputime": 10, "total_time": 10}
    assert json.loads(busy.headers["x-fb-ads-insights-throttle"])["app_id_util_pct"] == 96
    assert json.loads((await campaigns(live, "1001", token)).headers["x-app-usage"])["call_count"] == 96


async def test_clearing_the_faults_forgets_throttles_and_usage(live: InProcessSandbox) -> None:
    token = await live.grant("meta_ads")
    await live.http.post("/_sandbox/meta/app-usage", json={"call_count": 99})
    await live.queue("meta_ads", "1001", "throttle_wait:60")
    await live.queue("meta_ads", "1002", "app_limit:60")
    await insights(live, "1001", token)
    await insights(live, "1002", token)

    assert (await live.http.delete("/_sandbox/faults")).status_code == 200
    answer = await insights(live, "1001", token)
    assert answer.status_code == 200
    assert json.loads(answer.headers["x-app-usage"])["call_count"] < 10


async def test_a_fault_the_platform_cannot_answer_is_a_400_naming_the_known_ones(live: InProcessSandbox) -> None:
    for platform, faults in [
        ("meta_ads", ["throttle_wait"]),  # needs minutes
        ("meta_ads", ["thrott"]),
        ("google_ads", ["app_limit:3"]),  # a Meta fault
        ("meta_ads", ["invalid_grant"]),  # a token fault on an account's queue
        ("snapchat_ads", ["none"]),
    ]:
        body = {"platform": platform, "account_id": "1001", "faults": faults}
        refused = await live.http.post("/_sandbox/faults", json=body)
        assert refused.status_code == 400, (platform, faults)
        assert "known" in refused.json()["error"] or "needs minutes" in refused.json()["error"]
    # Nothing of a refused batch is queued.
    await live.http.post("/_sandbox/faults", json={"platform": "meta_ads", "account_id": "1001", "faults": ["none"]})
    queued = await live.http.post("/_sandbox/faults", json={"platform": "meta_ads", "account_id": "1001"})
    assert queued.json() == {"queued": ["none"]}


async def test_the_fault_header_is_checked_too(live: InProcessSandbox) -> None:
    token = await live.grant("meta_ads")
    refused = await live.http.get(
        INSIGHTS.format(account="1001"), params={**DAY, "access_token": token}, headers={"X-Sandbox-Fault": "nope"}
    )
    assert refused.status_code == 400
    throttled = await live.http.get(
        INSIGHTS.format(account="1001"), params={**DAY, "access_token": token}, headers={"X-Sandbox-Fault": "throttle"}
    )
    assert throttled.json()["error"]["code"] == 80000
