"""Campaigns: many recipients from a file, a backend or a schedule.

This package holds, so far, the campaign *input* layer — pure, with no Redis, Celery or HTTP::

    CSV / JSONL file, iterable ─▶ RowReader ─▶ AcceptedRow(row, destination, text, fields)
                                          └──▶ RowError(row, problem, reason)

Modules, one concept each: :mod:`.sources` (reading CSV, JSONL and iterables, streamed),
:mod:`.phones` (destinations to E.164 digits with ``phonenumbers``), :mod:`.templating` (the
per-row text), :mod:`.rows` (the reader that joins them, duplicates, counts), :mod:`.errors`.
The reference is ``docs/campaigns.md``.
"""

from nusaworker.campaigns.api import Campaigns, ReportRow
from nusaworker.campaigns.errors import (
    CampaignError,
    CampaignInputError,
    CampaignRefused,
    UnknownCampaign,
)
from nusaworker.campaigns.phones import InvalidPhone, PhoneNormaliser, PhoneProblem
from nusaworker.campaigns.recurring import (
    RecurringBook,
    RecurringCampaign,
    RecurringNameTaken,
    RunStarted,
)
from nusaworker.campaigns.rows import (
    DESTINATION_COLUMNS,
    AcceptedRow,
    RowCounts,
    RowError,
    RowProblem,
    RowReader,
    RowResult,
)
from nusaworker.campaigns.spec import CampaignSpec, CampaignState
from nusaworker.campaigns.store import CampaignInfo
from nusaworker.campaigns.templating import Template
from nusaworker.campaigns.window import SendingWindow

__all__ = [
    "DESTINATION_COLUMNS",
    "AcceptedRow",
    "CampaignError",
    "CampaignInfo",
    "CampaignInputError",
    "CampaignRefused",
    "CampaignSpec",
    "CampaignState",
    "Campaigns",
    "InvalidPhone",
    "PhoneNormaliser",
    "PhoneProblem",
    "RecurringBook",
    "RecurringCampaign",
    "RecurringNameTaken",
    "ReportRow",
    "RowCounts",
    "RowError",
    "RowProblem",
    "RowReader",
    "RowResult",
    "RunStarted",
    "SendingWindow",
    "Template",
    "UnknownCampaign",
]
