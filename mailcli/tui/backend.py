"""The TUI's one door to mailcli: a thin proxy over :class:`mailcli.service.Service`.

Every call the TUI makes goes through here, and each one is forwarded to the Service
method of the same name. The proxy adds only what the TUI needs on top:

- ``page(...)``: one page of envelopes in a given sort order. "date desc" is the
  Service's ``list_envelopes``; the other orders use the one marked ADAPTER below until
  ``Service.list_envelopes`` accepts ``order`` (then it is used automatically);
- ``read(id)``: ``show`` with every header (for the "headers on demand" key);
- ``supports(name)``: whether the Service offers a method (compose, fetch, ...), so a
  missing feature becomes a notification instead of an AttributeError.
"""
from __future__ import annotations

import inspect
import logging
from typing import Any

from mailcli.model import Envelope

logger = logging.getLogger(__name__)

ORDERS = ("date desc", "date asc", "id desc", "id asc")


class Backend:
    """Proxy over a Service: forwards attribute access, adds paging and capability checks."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self._order_ok: bool | None = None

    # ------------------------------------------------------------------ forwarding
    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["service"], name)

    def supports(self, name: str) -> bool:
        """True if the Service provides `name` (e.g. fetch, send)."""
        return hasattr(self.service, name)

    @property
    def config(self) -> Any:
        return self.service.config

    @property
    def account_names(self) -> list[str]:
        return list(self.service.config.accounts)

    def read(self, id: int) -> Any:
        """show() for the reader: marks it seen, every header available for "H"."""
        return self.service.show(id, mark_seen=True, all_headers=True)

    # ------------------------------------------------------------------ paging
    def page(self, account: str | None, folder: str | None, offset: int, limit: int,
             order: str = "date desc", unread: bool = False) -> list[Envelope]:
        """One page of a folder's envelopes in `order` (one of ORDERS)."""
        if hasattr(self.service, "list_envelopes"):
            if order == "date desc" or self._service_takes_order():
                kwargs: dict[str, Any] = {}
                if order != "date desc":
                    kwargs["order"] = order
                return list(self.service.list_envelopes(account=account, folder=folder,
                                                        unread=unread, limit=limit,
                                                        offset=offset, **kwargs))
        # ADAPTER (reported): Service.list_envelopes has no `order` yet; the other sort
        # orders read the same paged store query the Service itself uses.
        page: list[Envelope] = self.service.store.list_envelopes(account, folder, unread, limit,
                                                                 offset, order)
        return page

    def _service_takes_order(self) -> bool:
        if self._order_ok is None:
            try:
                params = inspect.signature(self.service.list_envelopes).parameters
                self._order_ok = "order" in params or any(
                    p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
            except (TypeError, ValueError):
                self._order_ok = False
        return self._order_ok
