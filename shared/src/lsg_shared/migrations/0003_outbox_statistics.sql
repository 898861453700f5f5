-- No query filters, joins or sorts on an outbox row's payload or headers, so the planner needs no statistics
-- on them; computing them was most of an ANALYZE of lsg_outbox (177 ms -> 96 ms for 13 000 rows), which
-- autovacuum runs about a minute into any busy stretch, on the same cores as the service.
ALTER TABLE lsg_outbox
    ALTER COLUMN value SET STATISTICS 0,
    ALTER COLUMN headers SET STATISTICS 0;
