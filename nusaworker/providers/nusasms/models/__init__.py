"""Request and response models of the NusaSMS APIs, one module per API.

``common`` (base configurations, number checks, the JSON envelope) · ``wa`` (JSON API v1.0:
account, balance, WhatsApp, phone check) · ``official`` (WhatsApp Official) · ``sms`` (SMS v3,
and the reader of its XML/JSON answers). The public models are re-exported by
:mod:`nusaworker.providers.nusasms` and :mod:`nusaworker.providers`.
"""
