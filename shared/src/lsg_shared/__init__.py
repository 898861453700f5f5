"""LSG Events shared plumbing. The event contracts live in the `lsg-events` package (``lsg_events``)."""
