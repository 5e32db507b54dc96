-- The playbook's "Detect Non Standard Port Interactions" in Athena, as written.
-- evidence: crates/cli/tests/fixtures/playbook/vpcflow
SELECT destinationport, count(*) as total FROM vpc_flow_logs WHERE destinationport < 1024 AND action='ACCEPT' group by distinct destinationport ORDER by total ASC LIMIT 50
