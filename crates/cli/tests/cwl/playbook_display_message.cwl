# "display @message" on the flow log group: the record as its text line.
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
# log-group: vpcflow
filter srcAddr = "203.0.113.99" | display @message, @logStream, @log | limit 3
