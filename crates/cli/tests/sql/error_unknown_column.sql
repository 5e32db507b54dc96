-- A misspelled column is reported at its position, with the columns it could be.
SELECT sourceadress, count(*) FROM vpc_flow_logs GROUP BY 1
