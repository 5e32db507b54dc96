# in [...] compares numbers with numbers; not like on a regex.
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
filter dstPort in [22, 3389, 445] and srcAddr not like /^10\./
| stats count(*) as n by dstPort
| sort dstPort
