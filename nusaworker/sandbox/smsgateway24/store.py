"""What the SmsGateway24 emulation knows, kept in each account's ``other["smsgateway24"]``.

Keeping it in the account means ``reset`` restores it like every other account value: the
login (``email``/``password``), the phones (``devices``, in the document's own shape), the
tokens handed out (token → expiry on the ``time.monotonic()`` clock), the messages queued on
the phones, and tags/contacts/newsletters. The parts a fresh account does not have yet are
filled in on first use. Every function here is called under ``SandboxState.lock``.

A message's life: it waits in its phone's queue (one message per ``delaybetweeneachsms``
seconds, the phone's own pace), is ``2 sending`` from acceptance, and one status step after its
turn it ends ``7 delivered`` — or, for a share of them (the sandbox's ``fail_rate``, by a hash
of the id), ``8 failed``: the document names no failure code, so 8 is the sandbox's own.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from ..accounts import Account
from ..messages import ends_badly
from ..state import SandboxState

PROVIDER = "smsgateway24"
SENDING, DELIVERED, FAILED = 2, 7, 8
TITLES = {SENDING: "sending", DELIVERED: "delivered", FAILED: "failed"}
TOKEN_TTL_S = 24 * 3600.0  # the document states none; a day, unless told otherwise
SAMPLE_ACCOUNT = "dev"  # the account the document's sample token belongs to
# The document's own sample tokens (the bulk sample's ``datajson``, twice, one cut short).
SAMPLE_TOKENS = frozenset({"df427bfcf113c9a21c67718035076b5b", "df427bfcf113c9a21c6771803501"})
ID_BASE = 62_000_000  # ids of the size the document shows (sms_id 62807347)


def _sim(slot: int, number: str, iccid: str) -> dict[str, str]:
    return {
        "Slot": str(slot),
        "IccId": iccid,
        "Number": number,
        "Roaming": "0",
        "CountryIso": "id",
        "CarrierName": "Sandbox Telecom",
    }


def _stamp(date: str) -> dict[str, Any]:
    return {"date": f"{date}.000000", "timezone_type": 3, "timezone": "UTC"}


def device(
    ident: int,
    title: str,
    sims: list[dict[str, str]],
    *,
    each_sms: float | None = None,
    request: float | None = 1,
    subscription: bool = True,
) -> dict[str, Any]:
    """One phone in the shape of the document's device list."""
    return {
        "id": ident,
        "title": title,
        "number": None,
        "imei": f"35824005{ident:07d}",
        "created": _stamp("2024-01-15 09:00:00"),
        "createdhumanformat": "15.01.2024 09:00:00",
        "lastseen": _stamp("2026-01-01 00:00:00"),
        "lastseenhumanformat": "01.01.2026 00:00:00",
        "serialnumber": f"SANDBOX{ident}",
        "siminfo": sims,
        "appversion": "12.1.21",
        "isappversionactual": True,
        "delaybetweeneachsms": each_sms,
        "delaybetweenrequest": request,
        "subscription": subscription,
    }


def default_devices(account: str) -> list[dict[str, Any]]:
    """The phones of an account: the document's own for the sample account, else two."""
    if account == SAMPLE_ACCOUNT:
        return copy.deepcopy(SAMPLE_DEVICES)
    base = 3000 + 10 * (sum(account.encode()) % 500)
    return [
        device(
            base + 1,
            "Sandbox Phone A",
            [
                _sim(0, "+6281100000101", "8962100000000000101"),
                _sim(1, "+6281100000102", "8962100000000000102"),
            ],
        ),
        device(base + 2, "Sandbox Phone B", [_sim(0, "+6281100000201", "8962100000000000201")]),
    ]


# The document's device list answer, verbatim, plus device 260 its send samples use.
SAMPLE_DEVICES: list[dict[str, Any]] = [
    device(
        260,
        "Sample_device_260",
        [
            _sim(0, "+4915752982212", "8949226170000000260"),
            _sim(1, "+4915752982213", "8949226170000000261"),
        ],
    ),
    {
        "id": 1576, "title": "AOSP_on_IA_Emulator", "number": None, "imei": "358240051111110",
        "created": _stamp("2020-03-28 20:10:29"), "createdhumanformat": "28.03.2020 20:10:29",
        "lastseen": _stamp("2020-04-23 17:02:21"), "lastseenhumanformat": "23.04.2020 17:02:21",
        "serialnumber": "EMULATOR30X0X5X0",
        "siminfo": [{"Slot": "0", "IccId": "89014103211118510720", "Number": " 15555215554",
                     "Roaming": "0", "CountryIso": "us", "CarrierName": "Android (T-Mobile)"}],
        "appversion": "12.1.21", "isappversionactual": False, "delaybetweeneachsms": None,
        "delaybetweenrequest": 1, "subscription": True,
    },
    {
        "id": 1297, "title": "Android_SDK_built_for_x86", "number": None, "imei": "null",
        "created": _stamp("2020-01-20 14:01:05"), "createdhumanformat": "20.01.2020 14:01:05",
        "lastseen": _stamp("2020-04-20 20:51:34"), "lastseenhumanformat": "20.04.2020 20:51:34",
        "serialnumber": "unknown",
        "siminfo": [{"Slot": "0", "IccId": "8949226172233934327", "Number": "+4915752982212",
                     "Roaming": "1", "CountryIso": "de", "CarrierName": "Drillisch (o2)"}],
        "appversion": "12.1.21", "isappversionactual": False, "delaybetweeneachsms": 5,
        "delaybetweenrequest": 10, "subscription": False,
    },
]  # fmt: skip


def section(account: Account) -> dict[str, Any]:
    """The account's SmsGateway24 data, with whatever a fresh account lacks filled in."""
    data = account.other.setdefault(PROVIDER, {})
    if "devices" not in data:
        data["devices"] = default_devices(account.name)
    for key in ("tokens", "messages", "tags", "contacts", "pakets", "next_free"):
        data.setdefault(key, {})
    data.setdefault("token_ttl_s", TOKEN_TTL_S)
    return data


def by_login(state: SandboxState, email: str | None, password: str | None) -> Account | None:
    """The account whose SmsGateway24 e-mail (any case) and password match."""
    if not email or password is None:
        return None
    for account in state.accounts.values():
        data = account.other.get(PROVIDER) or {}
        if (
            str(data.get("email", "")).lower() == email.strip().lower()
            and data.get("password") == password
        ):
            return account
    return None


def by_token(state: SandboxState, token: str | None) -> Account | None:
    """The account a token was handed to (expired or not); the sample tokens are ``dev``'s."""
    if not token:
        return None
    if token in SAMPLE_TOKENS:
        return state.accounts.get(SAMPLE_ACCOUNT)
    for account in state.accounts.values():
        data = account.other.get(PROVIDER)
        if data and token in data.get("tokens", {}):
            return account
    return None


def token_state(account: Account, token: str, now: float) -> str:
    """``"valid"``, ``"expired"`` or ``"unknown"`` for ``token`` of ``account``."""
    if account.name == SAMPLE_ACCOUNT and token in SAMPLE_TOKENS:
        return "valid"  # the document's samples must keep working
    expiry = section(account)["tokens"].get(token)
    if expiry is None:
        return "unknown"
    return "valid" if now < expiry else "expired"


def issue_token(state: SandboxState, account: Account) -> str:
    """A new 32-hex-digit token for ``account``, valid for its ``token_ttl_s``."""
    data = section(account)
    token = f"{state.rng.getrandbits(128):032x}"
    data["tokens"][token] = time.monotonic() + float(data["token_ttl_s"])
    return token


def expire_tokens(account: Account) -> int:
    """Make every token of ``account`` expired now; returns how many there were."""
    tokens = section(account)["tokens"]
    past = time.monotonic() - 1.0
    for token in tokens:
        tokens[token] = past
    return len(tokens)


def new_id(state: SandboxState) -> int:
    """A fresh id (messages, tags, contacts, newsletters), unique within the sandbox."""
    return ID_BASE + int(state.new_ref_no()[-10:])


def find_device(account: Account, device_id: int) -> dict[str, Any] | None:
    """The account's phone with ``device_id``."""
    return next((d for d in section(account)["devices"] if int(d["id"]) == device_id), None)


def slots(phone: dict[str, Any]) -> set[int]:
    """The SIM slots a phone reported."""
    return {int(s["Slot"]) for s in phone.get("siminfo") or [] if str(s.get("Slot", "")).isdigit()}


def queue_message(
    state: SandboxState, account: Account, phone: dict[str, Any], fields: dict[str, Any]
) -> dict[str, Any]:
    """Record an accepted message in its phone's queue; returns the record."""
    data = section(account)
    now = time.monotonic()
    ident = new_id(state)
    key = str(phone["id"])
    turn = max(now, float(data["next_free"].get(key, 0.0)))
    data["next_free"][key] = turn + float(phone.get("delaybetweeneachsms") or 0.0)
    fails, _ = ends_badly(str(ident), state.fail_rate)
    record = {
        "id": ident,
        "created": now,
        "created_wall": time.time(),
        "turn": turn,
        "step_s": state.status_step_s,
        "final": FAILED if fails else DELIVERED,
        "forced": None,
        **fields,
    }
    data["messages"][str(ident)] = record
    return record


def status_of(record: dict[str, Any], now: float) -> tuple[int, str]:
    """``(status, title)`` of a message at monotonic time ``now``."""
    if record.get("forced") is not None:
        code, title = record["forced"]
        return int(code), str(title)
    code = SENDING if now < record["turn"] + record["step_s"] else int(record["final"])
    return code, TITLES[code]


def find_message(state: SandboxState, sms_id: int) -> tuple[Account, dict[str, Any]] | None:
    """The message with ``sms_id`` and its account, whoever it belongs to."""
    for account in state.accounts.values():
        data = account.other.get(PROVIDER)
        record = (data or {}).get("messages", {}).get(str(sms_id))
        if record is not None:
            return account, record
    return None
