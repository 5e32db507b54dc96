-- Presto's GROUP BY DISTINCT (Athena writes it) groups as GROUP BY; ORDER BY an alias.
-- evidence: crates/cli/tests/fixtures/playbook/vpcflow
SELECT action, protocol, count(*) AS flows, sum(numbytes) AS bytes
FROM vpc_flow_logs WHERE logstatus = 'OK'
GROUP BY DISTINCT action, protocol ORDER BY flows DESC, protocol
