# parse with a glob over the record text, then dedup on the parsed field (first in sort order).
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
# log-group: vpcflow
parse @message "* * * * * * *" as version, account, eni, src, dst, sport, rest
| filter dst like "10.0." and ispresent(src)
| sort sport asc
| dedup src
| display src, dst, sport
