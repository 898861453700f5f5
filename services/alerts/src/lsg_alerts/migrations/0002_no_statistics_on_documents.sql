-- The stored CAP document and the place (both jsonb, ~0.5 KB each) are read back whole and never filtered,
-- joined or sorted on (area filters use the country / municipality / territory / settlement columns).
-- Their statistics were three quarters of an ANALYZE of alerts (665 ms -> 160 ms for 13 000 alerts), which
-- autovacuum runs in the middle of an alert burst: it showed as a 0.3-0.7 s spike in the 200 alerts/s
-- benchmark's latency (docs/benchmarks.md).
ALTER TABLE alerts
    ALTER COLUMN cap SET STATISTICS 0,
    ALTER COLUMN place SET STATISTICS 0;
