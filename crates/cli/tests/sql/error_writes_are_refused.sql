-- spoor never changes evidence: statements other than queries are refused at their first word.
DELETE FROM vpc_flow_logs WHERE action = 'REJECT'
