# The playbook's "Detect SSH Brute Force" in Logs Insights, as written.
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
filter dstPort=22 | stats count(*) as total by srcAddr as source | sort total desc | limit 10
