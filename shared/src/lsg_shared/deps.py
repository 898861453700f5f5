"""FastAPI dependency aliases every service's routes use, defined once.

``Admin``, ``Editor`` and ``Viewer`` authenticate the caller (bearer token or OIDC) and require the role;
``RuntimeDep`` is the running service (pool, broker, unit of work); ``Offset`` and ``Limit`` are the paging
parameters, bounded so no value reaches PostgreSQL that its ``bigint`` cannot hold.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from lsg_shared.auth import Principal, require
from lsg_shared.inputs import MAX_LIMIT, MAX_OFFSET
from lsg_shared.runtime import Runtime, runtime

Admin = Annotated[Principal, Depends(require("admin"))]
Editor = Annotated[Principal, Depends(require("editor"))]
Viewer = Annotated[Principal, Depends(require("viewer"))]
RuntimeDep = Annotated[Runtime, Depends(runtime)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip (paging).")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]

__all__ = ["Admin", "Editor", "Limit", "Offset", "RuntimeDep", "Viewer"]
