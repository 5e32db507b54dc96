# The playbook's "Detect Egress Traffic Rejection": strcontains is 1 or 0, true when not 0.
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
filter action='REJECT' and strcontains(srcAddr, "10.0.") | stats count(*) by srcAddr, dstAddr, action | display srcAddr, dstAddr, action | limit 25
