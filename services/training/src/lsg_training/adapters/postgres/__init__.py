"""PostgreSQL access for the training service (asyncpg), one module per aggregate. Every function takes the
caller's connection, so the business write and its outbox rows share one transaction. Use cases import this
package (``from lsg_training.adapters import postgres as repo``) and reach every statement through it."""

from lsg_training.adapters.postgres.activities import *  # noqa: F403
from lsg_training.adapters.postgres.attendance import *  # noqa: F403
from lsg_training.adapters.postgres.participants import *  # noqa: F403
from lsg_training.adapters.postgres.places import *  # noqa: F403
from lsg_training.adapters.postgres.privacy import *  # noqa: F403
from lsg_training.adapters.postgres.programmes import *  # noqa: F403
