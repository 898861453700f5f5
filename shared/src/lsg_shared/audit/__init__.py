"""The audit log: who (subject) did what, when, from where, in each service's own database.

Two kinds of rows land in ``lsg_audit_log`` (shared migration ``0002_audit_log``):

* ``request``: one per HTTP request that may change something (every method but GET, HEAD and OPTIONS, and
  reads of the audit log itself), written by :class:`AuditMiddleware` *including refusals* (401, 403, 413,
  422, 429...). It records the subject and how it authenticated (OIDC, static token, partner signature,
  anonymous, or ``invalid`` for a credential that was refused), its roles and scope, the action as method and
  route template (``POST /v1/partners/{partner_id}/secrets``), the path parameters (ids), the status code,
  the client address (``X-Forwarded-For`` only from ``LSG_TRUSTED_PROXIES``), the request and trace ids and
  the user agent. Never a body, a header other than those, or the query string: so never a secret, a token
  or a survey answer.
* ``request`` rows also record what arrives on a partner's Kafka door (:func:`delivery`, added by the consumer
  to the same buffer): the partner as subject (``partner`` when its signature verified, ``invalid`` for the
  one a refused record claimed), the action ``KAFKA <topic> <kind>``, the topic, partition, offset and outcome
  or refusal reason, and the status the HTTP door would have answered.
* ``change``: a domain change a route records with :func:`change` *in the same transaction* as the change
  (partner created, secret rotated: which secret ids, never the secret), so it is committed if and only if
  the change is.

Request rows are not written on the request's path: :meth:`AuditWriter.add` appends a tuple to an in-memory
buffer, and a background task writes the buffer in one batched statement every ``LSG_AUDIT_FLUSH_INTERVAL_S``
(0.5 s) or as soon as ``LSG_AUDIT_BATCH_SIZE`` (500) rows wait, and once more at shutdown. A crash (SIGKILL,
OOM) loses at most the rows of the last interval; while PostgreSQL is unreachable rows wait in memory up to
``LSG_AUDIT_BUFFER_MAX`` and beyond that are counted in ``lsg_audit_rows_dropped_total``.

Export: ``GET /v1/audit`` (admin; JSON or CSV) and ``lsg-admin audit export``. Retention: rows older than
``LSG_AUDIT_RETENTION_DAYS`` (400) are pruned by every service every few hours; a writer given
``identity_retention_days`` also anonymises the user identity (subject, addresses, user agent) of older rows, and
``lsg-admin audit anonymise`` does the same from the operator's shell. A person's identities are erased on an
erasure request by :func:`erase_person` (docs/privacy.md).

The package, one job per module:

* :mod:`~lsg_shared.audit.model`: the columns of a row and the rules its values obey (storable text, ids only).
* :mod:`~lsg_shared.audit.context`: who made a request and from where, read from its ASGI scope.
* :mod:`~lsg_shared.audit.middleware`: :class:`AuditMiddleware`, one ``request`` row per audited request.
* :mod:`~lsg_shared.audit.record`: :func:`change` and :func:`delivery`, rows recorded by other code.
* :mod:`~lsg_shared.audit.writer`: :class:`AuditWriter`, the buffer, batched writes and retention.
* :mod:`~lsg_shared.audit.store`: every SQL statement on the table.
* :mod:`~lsg_shared.audit.erasure`: a person's identities erased on request.
* :mod:`~lsg_shared.audit.export`: CSV, for the route and ``lsg-admin`` alike.
* :mod:`~lsg_shared.audit.routes`: ``GET /v1/audit``.
"""

from __future__ import annotations

from lsg_shared.audit.context import client_address, identify_partner, parse_networks
from lsg_shared.audit.erasure import erase_person
from lsg_shared.audit.export import CSV_HEADER, csv_lines
from lsg_shared.audit.middleware import AUDITED_READS, SAFE_METHODS, AuditMiddleware
from lsg_shared.audit.model import AUDIT_PATH, COLUMNS, EXPORT_COLUMNS, FORBIDDEN_DETAIL_KEYS, clean, trace_id_of
from lsg_shared.audit.record import change, delivery
from lsg_shared.audit.routes import AuditEntry, AuditPage, export_audit, router
from lsg_shared.audit.store import IDENTITY_COLUMNS, INSERT, TABLE, anonymise, as_dict, prune, query
from lsg_shared.audit.writer import ROWS_DROPPED, ROWS_WRITTEN, AuditWriter

__all__ = [
    "AUDITED_READS",
    "AUDIT_PATH",
    "COLUMNS",
    "CSV_HEADER",
    "EXPORT_COLUMNS",
    "FORBIDDEN_DETAIL_KEYS",
    "IDENTITY_COLUMNS",
    "INSERT",
    "ROWS_DROPPED",
    "ROWS_WRITTEN",
    "SAFE_METHODS",
    "TABLE",
    "AuditEntry",
    "AuditMiddleware",
    "AuditPage",
    "AuditWriter",
    "anonymise",
    "as_dict",
    "change",
    "clean",
    "client_address",
    "csv_lines",
    "delivery",
    "erase_person",
    "export_audit",
    "identify_partner",
    "parse_networks",
    "prune",
    "query",
    "router",
    "trace_id_of",
]
