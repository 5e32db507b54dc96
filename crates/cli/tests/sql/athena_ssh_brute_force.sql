-- The playbook's "Detect SSH Brute Force" in Athena, as written (Presto's GROUP BY DISTINCT).
-- evidence: crates/cli/tests/fixtures/playbook/vpcflow
SELECT sourceaddress, count(*) as total FROM vpc_flow_logs WHERE (destinationport = 22) group by distinct sourceaddress ORDER by total desc
