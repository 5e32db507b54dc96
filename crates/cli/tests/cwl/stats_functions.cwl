# stats: count, count_distinct, sum, avg, min, max, earliest, latest, pct, by bin.
# evidence: crates/cli/tests/fixtures/playbook/vpcflow
stats count(*) as flows, count_distinct(srcAddr) as sources, sum(bytes) as bytes,
      avg(packets) as avg_packets, min(dstPort) as low, max(dstPort) as high,
      earliest(srcAddr) as first_source, latest(dstAddr) as last_target, pct(bytes, 50) as median
  by action
| sort action
