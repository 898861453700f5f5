"""What tests, benches and the demo share, and no service ships: the programme-year generator and its oracle,
the test tokens, Kafka helpers and the partner toolkit used by tests.

- ``lsg_testkit.programme``: ``generate`` a programme year (events of every stream plus the ``Truth`` they express).
- ``lsg_testkit.alerts``: CAP documents and heartbeats with test defaults, a settlement (building and signing
  themselves are the client package's, ``lsg_events.partner``).
- ``lsg_testkit.tokens``: ``grant``/``api_tokens`` (the ``LSG_API_TOKENS`` value) and ``bearer`` (the header).
- ``lsg_testkit.kafka``: ``skip_to_end`` (commit a consumer group at a topic's end).
"""
