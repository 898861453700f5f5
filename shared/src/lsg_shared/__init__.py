"""LSG Events shared plumbing. The event contracts live in the `lsg-events` package (``lsg_events``)."""

import sys as _sys

import lsg_events as _events
import lsg_events.alerts
import lsg_events.base
import lsg_events.envelope
import lsg_events.examples
import lsg_events.geography
import lsg_events.i18n
import lsg_events.reporting
import lsg_events.surveys
import lsg_events.topics
import lsg_events.training

# Transitional aliases: code written against ``lsg_events`` keeps importing the same module objects.
for _name in ("alerts", "base", "envelope", "examples", "reporting", "surveys", "training"):
    _sys.modules.setdefault(f"lsg_events.{_name}", _sys.modules[f"lsg_events.{_name}"])
_sys.modules.setdefault("lsg_events", _events)
for _name in ("geography", "i18n", "topics"):
    _sys.modules.setdefault(f"lsg_shared.{_name}", _sys.modules[f"lsg_events.{_name}"])
