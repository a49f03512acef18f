"""Prometheus metrics of the fleet: what each process counts, and what Redis tells at a scrape.

    instruments.py  the counters and histograms a process updates (sends, errors, retries,
                    gate waits, hits, callbacks) — declared once, here
    exposition.py   multiprocess mode (a directory per worker, cleaned at start, one file per
                    process), the registry a process serves, its HTTP endpoint and WSGI app
    fleet.py        gauges read from Redis at scrape time: queue depths with their priority
                    sub-lists, the ledger's per-state counts, each account's rate rule
    gate.py         a pacing gate that times every turn and counts every hit it lets out

Two kinds of figure, kept apart on purpose. What happens *in* a process (a send, a wait at the
gate) is counted there and summed over the worker's processes by the multiprocess collector —
correct under the threads pool and under prefork alike. What *is* (a queue's length, how many
records are sending, a campaign's progress, a balance) lives in Redis and is read by a custom
collector at every scrape: any process then shows the fleet's truth, and nothing has to be
kept in step. The credit gauges (:mod:`nusaworker.credit.metrics`) and the campaigns'
(:mod:`nusaworker.campaigns.metrics`) are of the second kind; the worker adds them to its
registry (:mod:`nusaworker.tasks.process`). docs/operations.md lists every family.
"""
