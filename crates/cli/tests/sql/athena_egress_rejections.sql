-- The playbook's "Detect Egress Traffic Rejection" in Athena, as written (LIKE on a column).
-- evidence: crates/cli/tests/fixtures/playbook/vpcflow
SELECT sourceaddress, destinationaddress, count(*) count, action FROM vpc_flow_logs WHERE action = 'REJECT' AND sourceaddress LIKE '10.0.%' GROUP BY sourceaddress, destinationaddress, action ORDER BY count desc LIMIT 25
