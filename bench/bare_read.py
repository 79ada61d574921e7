"""The baseline of ``bench/read_path.py``: a bare Litestar app reading one client row (joined with its
company) with the same engine and driver as the clients service, served by uvicorn as the services are.

usage: python bench/bare_read.py DATABASE_URL PORT
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from litestar import Litestar, get
from sqlalchemy import text

from clientpulse.shared.db import Database

READ = text("SELECT * FROM clients c JOIN companies co ON co.id = c.id WHERE c.id = :id")


def create_app(url: str) -> Litestar:
    database = Database(url)

    @get("/api/v1/clients/{client_id:str}")
    async def read(client_id: str) -> dict[str, Any]:
        async with database.sessions() as session:
            row = (await session.execute(READ, {"id": client_id})).mappings().first()
        return dict(row) if row is not None else {}

    return Litestar([read], on_shutdown=[database.dispose], logging_config=None, debug=False)


if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_config=None, access_log=False)
