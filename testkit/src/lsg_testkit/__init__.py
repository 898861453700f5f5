"""What tests, benches and the demo share, and no service ships: the programme-year generator and its oracle,
the test tokens, Kafka helpers and the partner toolkit used by tests."""
