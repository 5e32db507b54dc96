-- now() is the pinned time (the latest event for a hunt, --now for a query), not the clock:
-- old evidence gives the same rows whenever the query runs.
-- now: 2023-08-09T10:00:00Z
SELECT eventName, eventTime FROM cloudtrail
WHERE eventTime > now() - INTERVAL '45' MINUTE AND eventTime <= now()
