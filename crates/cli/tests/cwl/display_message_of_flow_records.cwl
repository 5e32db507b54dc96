# Records of the flow log group as their text lines, with their stream and group.
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
# log-group: vpcflow
filter srcAddr = "203.0.113.99" | display @message, @logStream, @log | limit 3
