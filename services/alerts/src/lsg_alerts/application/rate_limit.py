"""One rate limit per partner across every replica of the alerts service (issue 29).

The bucket lives in PostgreSQL (``adapters/postgres/rate_limit.py``: refilled from the database's clock, taken
atomically), so N replicas together admit a partner's configured rate, not N times it. To keep the alert path
cheap a replica takes tokens in small leases (about 0.1 s of the rate, at most a tenth of the burst) and spends
them from memory: the database is asked about once per lease, not once per request. A refusal is remembered
until the bucket is due to hold a token again, so a flood past the limit is answered from memory too.

What a lease costs in precision: a replica can hold at most one lease of unspent tokens, and a lease not spent
within ``LEASE_TTL_S`` is dropped (never hoarded), so all replicas together admit at most ``replicas x lease``
more or fewer than the bucket allows. The alert itself is stored in the same database, so a bucket that cannot
be reached changes nothing: that request could not have been stored either (the door answers 503).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lsg_alerts.adapters.postgres import rate_limit as db
from lsg_shared.uow import UnitOfWork

LEASE_S = 0.1  # a lease is about this much of the partner's rate...
LEASE_TTL_S = 1.0  # ...and is dropped when not spent within this long


@dataclass
class _Lease:
    tokens: int = 0
    expires: float = 0.0
    refused_until: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class SharedRateLimit:
    rate_per_s: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _leases: dict[str, _Lease] = field(default_factory=dict)

    @property
    def lease_size(self) -> int:
        return max(1, min(math.ceil(self.rate_per_s * LEASE_S), self.burst // 10))

    def _local(self, lease: _Lease) -> float | None:
        """0.0 when a leased token was spent, the wait while a refusal holds, None when the database decides."""
        now = self.clock()
        if lease.tokens > 0 and now < lease.expires:
            lease.tokens -= 1
            return 0.0
        if now < lease.refused_until:
            return lease.refused_until - now
        return None

    async def take(self, uow: UnitOfWork, partner_id: str) -> float:
        """0.0 when the partner's request may pass; else the seconds until its bucket holds a token again.
        Raises what the database raises when it cannot be reached (the caller answers 503)."""
        lease = self._leases.get(partner_id)
        if lease is None:
            if len(self._leases) >= 10_000:
                self._leases.clear()  # bounded: partner ids are checked (signature) before they get here
            lease = self._leases[partner_id] = _Lease()
        answer = self._local(lease)
        if answer is not None:
            return answer
        async with lease.lock:  # one lease request per partner at a time; the others use what it brings
            answer = self._local(lease)
            if answer is not None:
                return answer
            async with uow.read() as conn:
                granted, left = await db.take_tokens(conn, partner_id, self.rate_per_s, self.burst, self.lease_size)
            now = self.clock()
            if granted == 0:
                wait = max(0.001, (1.0 - left) / self.rate_per_s)
                lease.tokens, lease.refused_until = 0, now + wait
                return wait
            lease.tokens, lease.expires = granted - 1, now + LEASE_TTL_S
            return 0.0
