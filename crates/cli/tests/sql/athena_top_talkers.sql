-- The playbook's "Identify Top Internal Talkers" in Athena, as written: a subquery without an
-- alias, GROUP BY 1, UNION ALL. The NODATA record's null address is a group, as in Athena.
-- evidence: crates/cli/tests/fixtures/playbook/vpcflow
SELECT ip, sum(bytes) as total_bytes FROM (SELECT destinationaddress as ip,sum(numbytes) as bytes FROM vpc_flow_logs GROUP BY 1 UNION ALL SELECT sourceaddress as ip,sum(numbytes) as bytes FROM vpc_flow_logs GROUP BY 1) GROUP BY ip ORDER BY total_bytes DESC LIMIT 10
