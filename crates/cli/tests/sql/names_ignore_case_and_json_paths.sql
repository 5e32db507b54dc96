-- Athena ignores the case of names, and reads struct fields with dots: the cloudtrail table's
-- camelCase columns and JSON objects answer to Athena's lower-case spelling.
SELECT eventname,
       useridentity.sessioncontext.sessionissuer.username AS username,
       useridentity.type AS identity_type,
       count(*) AS calls
FROM "default".CLOUDTRAIL ct
WHERE ct.eventsource = 'iam.amazonaws.com' OR eventname = 'ListBuckets'
GROUP BY 1, 2, 3
