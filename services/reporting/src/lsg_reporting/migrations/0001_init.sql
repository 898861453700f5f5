-- The reporting service's own schema starts here (shared inbox/outbox tables come from lsg_shared).
SELECT 1;
