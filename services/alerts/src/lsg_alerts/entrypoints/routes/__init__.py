"""One router per resource of the alerts API: doors (partner input, public), partners, devices, alerts."""
