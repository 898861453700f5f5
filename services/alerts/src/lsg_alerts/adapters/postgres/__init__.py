"""Every SQL statement of the alerts service (asyncpg), one module per aggregate.

Every function takes the caller's connection (and so its transaction). The use cases import this package as
``db`` and call ``db.<statement>``: ``partners`` (partners, secrets, device grants), ``contacts`` (contacts, rotas,
overrides), ``notifications`` (pages, notifications, attempts), ``devices`` (devices, status history, heartbeats),
``alerts`` (CAP messages, alerts, their history), ``console`` (the operator console's reads),
and ``rows`` for what they share.
"""

from lsg_alerts.adapters.postgres.alerts import *  # noqa: F403
from lsg_alerts.adapters.postgres.console import *  # noqa: F403
from lsg_alerts.adapters.postgres.contacts import *  # noqa: F403
from lsg_alerts.adapters.postgres.devices import *  # noqa: F403
from lsg_alerts.adapters.postgres.notifications import *  # noqa: F403
from lsg_alerts.adapters.postgres.partners import *  # noqa: F403
from lsg_alerts.adapters.postgres.rows import Row as Row
from lsg_alerts.adapters.postgres.rows import place_columns as place_columns
