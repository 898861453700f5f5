-- Issue 29: one rate limit per partner across every replica of the alerts service (it was a token bucket in each
-- replica's memory, so N replicas admitted N times the rate). One row per partner holds the shared bucket: its
-- tokens as of `updated_at`, refilled from the database's clock (one clock for every replica, whatever theirs say).
-- Replicas take tokens in small leases with one atomic upsert (application/rate_limit.py), so the row is touched
-- about once per lease, not once per request. UNLOGGED: a crash empties it, which only refills every bucket.
CREATE UNLOGGED TABLE partner_rate_buckets (
    partner_id  text             PRIMARY KEY,
    tokens      double precision NOT NULL,
    granted     integer          NOT NULL DEFAULT 0,   -- tokens the last lease took (what the upsert returns)
    updated_at  timestamptz      NOT NULL
);
