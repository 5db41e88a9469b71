"""The client's address, for login limits and throttles. One rule, as DRF's NUM_PROXIES has it:

- no trusted proxy (``DEMUR_NUM_PROXIES=0``, the default): the peer's address, REMOTE_ADDR.
  X-Forwarded-For comes from the client then, who can write anything in it.
- ``n`` trusted proxies in front: the n-th address from the right of X-Forwarded-For, the one
  the outermost trusted proxy saw (each proxy appends the address it was called from; whatever
  the client sent stands further left and is not believed).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str:
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies: int = settings.DEMUR_NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies == 0 or not forwarded:
        return remote
    addresses = [address.strip() for address in str(forwarded).split(",")]
    return addresses[-min(proxies, len(addresses))] or remote
