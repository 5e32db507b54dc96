# The playbook's "Detect Scanning/Recon" in Logs Insights: display keeps two of the stats fields.
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
filter action='REJECT' | stats count(*) by srcAddr, dstAddr | display srcAddr, dstAddr | limit 25
