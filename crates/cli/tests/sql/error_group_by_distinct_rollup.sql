-- Trino's GROUP BY DISTINCT removes duplicate grouping sets; spoor would not, so it refuses.
SELECT action, protocol, count(*) FROM vpc_flow_logs GROUP BY DISTINCT ROLLUP (action, protocol)
