"""Root pytest configuration: the real-infrastructure fixtures every test folder may use."""

pytest_plugins = ["lsg_local.pytest_plugin"]
