-- The playbook's "Detect Scanning/Recon" in Athena, as written (an alias named count).
-- evidence: crates/cli/tests/fixtures/playbook/vpcflow
SELECT sourceaddress, destinationaddress, count(*) count, action FROM vpc_flow_logs WHERE action = 'REJECT' GROUP BY sourceaddress, destinationaddress, action ORDER BY count desc LIMIT 25
