# The playbook's "Detect Non Standard Port Interactions" in Logs Insights, as written.
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
filter dstPort < 1024 and action='ACCEPT' | stats count(*) as total by dstPort | sort total desc | limit 50
