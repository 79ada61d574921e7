"""Companies: search, a company's page with "Convert to Client", and the prompts from won deals."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from clientpulse.web.gateway import Gateway
from clientpulse.web.layout import gather_sections, page
from clientpulse.web.session import require_user

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
STATUSES = ("Prospect", "Active", "Dormant", "Alumni")


def _optional(value: str | None) -> str | None:
    return (value or "").strip() or None


class CompanyPages(Controller):
    """``/companies``, ``/companies/{id}`` and the conversion prompts' forms."""

    path = "/companies"

    @get("/", name="companies")
    async def search(self, request: Request[Any, Any, Any], gateway: Gateway) -> Template:
        user = require_user(request)
        query = request.query_params.get("search", "")
        sections = await gather_sections(
            companies=gateway.get(
                "/companies", user.token, search=query, cursor=request.query_params.get("cursor"), limit=25
            ),
            prompts=gateway.get("/conversion-prompts", user.token, state="open", limit=50),
        )
        return await page(gateway, user, "companies.html", search=query, title="Companies", **sections)

    @get("/{company_id:str}", name="company")
    async def company(self, request: Request[Any, Any, Any], gateway: Gateway, company_id: str) -> Template:
        user = require_user(request)
        company = await gateway.get(f"/companies/{company_id}", user.token)
        return await page(
            gateway,
            user,
            "company.html",
            company=company,
            statuses=STATUSES,
            title=company["name"],
            flash=request.query_params.get("flash"),
        )

    @post("/{company_id:str}/convert", name="convert")
    async def convert(self, request: Request[Any, Any, Any], gateway: Gateway, company_id: str, data: Form) -> Redirect:
        user = require_user(request)
        body = {
            "status": data.get("status", "Prospect"),
            "dm_id": _optional(data.get("dm_id")),
            "squad_id": _optional(data.get("squad_id")),
        }
        client = await gateway.post(f"/companies/{company_id}/convert", user.token, body)
        return Redirect(f"/clients/{client['id']}?flash=Converted+to+a+client")

    @post("/prompts/{prompt_id:str}/accept", name="accept-prompt")
    async def accept(self, request: Request[Any, Any, Any], gateway: Gateway, prompt_id: str, data: Form) -> Redirect:
        user = require_user(request)
        body = {"dm_id": _optional(data.get("dm_id")), "squad_id": _optional(data.get("squad_id"))}
        client = await gateway.post(f"/conversion-prompts/{prompt_id}/accept", user.token, body)
        return Redirect(f"/clients/{client['id']}?flash=Converted+to+a+client")

    @post("/prompts/{prompt_id:str}/dismiss", name="dismiss-prompt")
    async def dismiss(self, request: Request[Any, Any, Any], gateway: Gateway, prompt_id: str, data: Form) -> Redirect:
        user = require_user(request)
        await gateway.post(
            f"/conversion-prompts/{prompt_id}/dismiss", user.token, {"note": _optional(data.get("note"))}
        )
        return Redirect("/companies")
