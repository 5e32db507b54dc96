# Flow records under Logs Insights' names: filter on a number, stats with aliases, sort, limit.
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
filter dstPort >= 1024 and action = "REJECT" | stats count(*) as attempts, sum(bytes) as bytes by srcAddr as source, dstPort | sort attempts desc, dstPort | limit 5
