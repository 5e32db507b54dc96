-- LIKE on columns and patterns, GROUP BY 1, UNION ALL in a subquery that has no alias.
-- evidence: crates/cli/tests/fixtures/playbook/vpcflow
SELECT addr, sum(n) AS flows FROM (
  SELECT sourceaddress AS addr, count(*) AS n FROM vpc_flow_logs WHERE sourceaddress LIKE '203.0.113.%' GROUP BY 1
  UNION ALL
  SELECT destinationaddress AS addr, count(*) AS n FROM vpc_flow_logs WHERE destinationaddress LIKE sourceaddress GROUP BY 1
) GROUP BY addr ORDER BY flows DESC, addr
