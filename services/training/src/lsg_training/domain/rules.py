"""The programme's rules, in plain Python: when a module is attended and when a programme is completed.

Everything here is recomputed from the attendance records (never patched incrementally), so attendance that
arrives out of order, twice, or corrected later always yields the same answer as the same facts in order.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator


class CompletionRule(BaseModel):
    """When a participant has completed a programme.

    Default: every module of the programme attended. ``required_modules`` narrows "every" to a list;
    ``min_modules`` asks for at least that many attended modules in all (alone: any that many modules).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    required_modules: list[str] | None = Field(
        None, description="Module codes that must all be attended; null means every module of the programme"
    )
    min_modules: int | None = Field(None, ge=1, description="At least this many modules attended in all")

    @model_validator(mode="after")
    def _not_contradictory(self) -> CompletionRule:
        if self.required_modules is not None and len(set(self.required_modules)) != len(self.required_modules):
            raise ValueError("required_modules lists a module twice")
        return self

    def unknown_modules(self, module_codes: Iterable[str]) -> list[str]:
        known = set(module_codes)
        return [m for m in (self.required_modules or []) if m not in known]

    def is_met(self, all_modules: Iterable[str], attended: Iterable[str]) -> bool:
        modules = list(all_modules)
        done = set(attended)
        if not modules:
            return False  # a programme with no modules cannot be completed
        if self.required_modules is not None:
            required = self.required_modules
        else:  # no list: every module, unless a minimum count alone is the rule
            required = modules if self.min_modules is None else []
        if any(m not in done for m in required):
            return False
        if not done & set(modules):
            return False  # nothing attended completes nothing (a rule that asks for nothing is refused at the door)
        return self.min_modules is None or len(done & set(modules)) >= self.min_modules


@dataclass(frozen=True, slots=True)
class SessionInfo:
    session_id: str
    module_code: str
    held_on: date


@dataclass(frozen=True, slots=True)
class ModuleAttendance:
    """A module the participant attended: the session that completed it and its date."""

    module_code: str
    last_session_id: str
    attended_on: date


def attended_modules(sessions: Iterable[SessionInfo], present_at: Iterable[str]) -> dict[str, ModuleAttendance]:
    """Modules attended: those with at least one session, where the participant was present at all of them."""
    present = set(present_at)
    by_module: dict[str, list[SessionInfo]] = {}
    for s in sessions:
        by_module.setdefault(s.module_code, []).append(s)
    out: dict[str, ModuleAttendance] = {}
    for code, module_sessions in by_module.items():
        if module_sessions and all(s.session_id in present for s in module_sessions):
            last = max(module_sessions, key=lambda s: (s.held_on, s.session_id))
            out[code] = ModuleAttendance(code, last.session_id, last.held_on)
    return out


@dataclass(frozen=True, slots=True)
class ModuleChange:
    """What a recomputation says must be told about one module: attended now (True) or withdrawn (False)."""

    module_code: str
    attended: bool
    revision: int
    attendance: ModuleAttendance | None


def module_changes(
    previous: Mapping[str, tuple[bool, int]], current: Mapping[str, ModuleAttendance]
) -> list[ModuleChange]:
    """Compare the last told state per module (attended?, revision) with the recomputed one.

    A module newly attended is told (revision + 1); a module told as attended that no longer is gets a withdrawal
    (revision + 1); anything else (a duplicate, a correction that changes nothing) tells nothing.
    """
    changes: list[ModuleChange] = []
    for code in sorted(set(previous) | set(current)):
        was, revision = previous.get(code, (False, 0))
        now = code in current
        if now and not was:
            changes.append(ModuleChange(code, True, revision + 1, current[code]))
        elif was and not now:
            changes.append(ModuleChange(code, False, revision + 1, None))
    return changes


def pseudonym(key: bytes, participant_id: str) -> str:
    """The participant's key in events: a keyed hash (HMAC-SHA-256) of the internal id, never the name.

    Without the service's secret nobody can link a key back to a person or test a guessed identity.
    """
    digest = hmac.new(key, f"lsg-training-participant:{participant_id}".encode(), hashlib.sha256).hexdigest()
    return f"p_{digest[:32]}"
