"""Gauges of the campaigns the dispatcher visits (scheduled, running, paused), read from Redis
at every scrape — their hashes already count rows and messages per state (``n:<state>``, kept
by the ledger's scripts), so a scrape is one HGETALL and one SCARD per campaign.

    nusaworker_campaign_info{campaign,name,channel,state}   1 per active campaign
    nusaworker_campaign_rows{campaign}                       rows accepted
    nusaworker_campaign_dispatched{campaign}                 rows made into messages so far
    nusaworker_campaign_queued{campaign}                     messages handed to the broker,
                                                             not claimed yet
    nusaworker_campaign_messages{campaign,state}             messages per ledger state

Progress is ``sum(messages{state!~"accepted|sending"}) / rows``. A campaign that ended drops
out (its report stays in ``nusaworker campaign``): the series stop, they are not zeroed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from nusaworker.campaigns.store import CampaignStore

__all__ = ["CampaignCollector"]


class CampaignCollector(Collector):
    """Reads the active campaigns' counts at each scrape."""

    def __init__(self, store: CampaignStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Any]:
        info = GaugeMetricFamily(
            "nusaworker_campaign_info",
            "An active campaign (scheduled, running or paused)",
            labels=["campaign", "name", "channel", "state"],
        )
        rows = GaugeMetricFamily(
            "nusaworker_campaign_rows", "Rows the campaign accepted", labels=["campaign"]
        )
        dispatched = GaugeMetricFamily(
            "nusaworker_campaign_dispatched",
            "Rows made into messages so far",
            labels=["campaign"],
        )
        queued = GaugeMetricFamily(
            "nusaworker_campaign_queued",
            "Messages handed to the broker and not claimed yet",
            labels=["campaign"],
        )
        messages = GaugeMetricFamily(
            "nusaworker_campaign_messages",
            "The campaign's messages per ledger state",
            labels=["campaign", "state"],
        )
        for campaign_id in self.store.active():
            found = self.store.load(campaign_id)
            if found is None:
                continue  # ended between the two reads
            info.add_metric(
                [campaign_id, found.spec.name, found.spec.channel, found.state.value], 1
            )
            rows.add_metric([campaign_id], found.rows)
            dispatched.add_metric([campaign_id], found.cursor)
            queued.add_metric([campaign_id], found.queued)
            for state, n in sorted(found.messages.items()):
                messages.add_metric([campaign_id, str(state)], n)
        yield from (info, rows, dispatched, queued, messages)
