"""One router per resource of the alerts API: doors (partner input, public), partners, devices, alerts.

A staff route names its role (``Admin``, ``Editor``, ``Viewer``) as its first dependency: the caller is
authenticated before anything else is resolved."""
