"""The status page's file upload: a CSV or XML file of orders, imported exactly like
``dynaccount-agent files import`` (same importer, same journal), behind the one same-origin check."""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from agent.files.read import Refused
from agent.journal import Journal, OrderFacts
from agent.journal.files import NAMESPACE, FileJournal
from agent.keys import SERVICES
from agent.web.api import same_origin


async def order_facts(journal: Journal, resource_id: str) -> OrderFacts | None:
    """The facts of ``file:<source>:<number>``'s order (None: no such file order)."""
    source, _, number = resource_id.partition(":")
    stored = await FileJournal(journal.db).order(source, number)
    return await journal.order_facts(stored.id, namespace=NAMESPACE) if stored is not None else None


async def card(request: web.Request) -> dict[str, Any] | None:
    """What the upload form shows: the mappings and the latest imports (None: no worker, no uploads)."""
    services = request.app.get(SERVICES)
    if services is None or services.files is None or not services.files.config.mappings:
        return None
    importer = services.files
    recent = await importer.processor.files.recent_files(5)
    return {"mappings": sorted(importer.config.mappings), "default": importer.config.default_mapping,
            "max_bytes": importer.config.max_bytes,
            "recent": [{"id": f.id, "name": f.name, "uploads": f.uploads, "summary": f.summary.get("summary", "")}
                       for f in recent]}  # fmt: skip


async def _read_form(request: web.Request, limit: int) -> tuple[str, bytes, dict[str, str]]:
    """(file name, bytes, other fields), reading at most ``limit`` + 1 bytes of the file."""
    name, data, fields = "", b"", {}
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "file":
            name = part.filename or "upload"
            chunks, size = [], 0
            while chunk := await part.read_chunk(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise Refused(f"{name}: larger than files.max_bytes ({limit} bytes)")
                chunks.append(chunk)
            data = b"".join(chunks)
        elif part.name:
            fields[part.name] = await part.text()
    return name, data, fields


async def _upload(request: web.Request) -> web.Response:
    from agent.web.page import _render  # the page's renderer and headers (CSP, no-store)

    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")  # a web page must not drive the agent
    services = request.app.get(SERVICES)
    if services is None or services.files is None:
        raise web.HTTPServiceUnavailable(text="file imports need the worker (not in intake-only mode)")
    try:
        name, data, fields = await _read_form(request, services.files.config.max_bytes)
        if not name:
            raise Refused("choose a CSV or XML file")
        report = await services.files.run(data, name, fields.get("mapping") or None,
                                          dry_run=fields.get("dry_run") == "1")  # fmt: skip
    except Refused as exc:
        return _render("files_result.html", refused=str(exc), report=None)
    if report.keys:
        services.worker.wake()
    return _render("files_result.html", refused=None, report=report, errors=sorted(report.errors, key=lambda e: e.line))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/files/upload", _upload)
