"""Tags, contacts and newsletters (``savetag``, ``savecontact``, ``savepaket``).

Not used for sending one message, but documented (with their answers), so the sandbox keeps
them: ids are handed out and what was saved is kept on the account.
"""

from __future__ import annotations

from ..router import Ctx
from ..wire import Request, Response, json_response
from . import store
from .endpoints import Refusal, authorize, handle, integer, params


def savetag(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """A tag (``title``) → ``tag_id``."""
    given = params(req)

    def work() -> Response:
        with ctx.state.lock:
            account = authorize(ctx.state, req, given.get("token"), {})
            title = (given.get("title") or "").strip()
            if not title:
                raise Refusal("title is required")
            ident = store.new_id(ctx.state)
            store.section(account)["tags"][str(ident)] = {"title": title}
        return json_response(200, {"error": 0, "tag_id": ident, "message": "OK"})

    return handle(work)


def savecontact(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """A contact (``phone``, ``ctag_id`` — or ``tag_id`` — and ``fullname``) → ``contact_id``."""
    given = params(req)

    def work() -> Response:
        with ctx.state.lock:
            account = authorize(ctx.state, req, given.get("token"), {})
            phone = (given.get("phone") or "").strip()
            if not phone:
                raise Refusal("phone is required")
            tag = integer(given, "ctag_id") or integer(given, "tag_id")
            if tag is None:
                raise Refusal("ctag_id is required")
            if str(tag) not in store.section(account)["tags"]:
                raise Refusal(f"Tag {tag} not found")
            ident = store.new_id(ctx.state)
            contact = {"phone": phone, "tag_id": tag, "fullname": given.get("fullname")}
            store.section(account)["contacts"][str(ident)] = contact
        return json_response(200, {"error": 0, "contact_id": ident, "message": "ok"})

    return handle(work)


def savepaket(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """A newsletter to tagged contacts → ``paket_id`` (the phone starts it, not the API)."""
    given = params(req)

    def work() -> Response:
        with ctx.state.lock:
            account = authorize(ctx.state, req, given.get("token"), {})
            for name in ("title", "body", "tags"):
                if not (given.get(name) or "").strip():
                    raise Refusal(f"{name} is required")
            device_id = integer(given, "device_id", required=True)
            assert device_id is not None
            if store.find_device(account, device_id) is None:
                raise Refusal(f"Device {device_id} not found")
            ident = store.new_id(ctx.state)
            store.section(account)["pakets"][str(ident)] = {
                "title": given["title"],
                "device_id": device_id,
                "tags": given["tags"],
            }
        return json_response(200, {"error": 0, "paket_id": ident, "message": "ok"})

    return handle(work)
