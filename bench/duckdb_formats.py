#!/usr/bin/env python3
"""The decode benchmark's reference: the same count-by query as spoor's, in DuckDB, for one format.

  duckdb_formats.py FORMAT FILE [--threads N]

Prints `key<TAB>count` lines (NULL as an empty key). JSON formats are read with read_json and the
columns the query needs declared; text formats with read_csv: Zeek's TSV natively, syslog and
access logs one line per row, the key cut out with a regular expression (DuckDB has no parser for
them; the regular expression does what spoor's line parser does for that one field).
"""

import argparse
import os
import sys

import duckdb

QUERIES = {
    "k8s-audit": "SELECT verb, count(*) FROM read_json('{f}', format='newline_delimited', "
                 "columns={{verb: 'VARCHAR'}}) GROUP BY 1",
    "suricata-eve": "SELECT alert.signature, count(*) FROM read_json('{f}', format='newline_delimited', "
                    "columns={{alert: 'STRUCT(signature VARCHAR)'}}) GROUP BY 1",
    "azure-signin": "SELECT properties.userPrincipalName, count(*) FROM read_json('{f}', "
                    "format='newline_delimited', columns={{category: 'VARCHAR', "
                    "properties: 'STRUCT(userPrincipalName VARCHAR)'}}) "
                    "WHERE category = 'SignInLogs' GROUP BY 1",
    "syslog": "SELECT regexp_extract(line, '^[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]{{8}} [^ ]+ ([^\\[: ]+)', 1), "
              "count(*) FROM read_csv('{f}', columns={{line: 'VARCHAR'}}, header=false, "
              "delim='\x01', quote='', escape='') GROUP BY 1",
    "access-log": "SELECT CAST(regexp_extract(line, '\" ([0-9][0-9][0-9]) ', 1) AS INTEGER), count(*) "
                  "FROM read_csv('{f}', columns={{line: 'VARCHAR'}}, header=false, delim='\x01', "
                  "quote='', escape='') GROUP BY 1",
    "zeek-conn": "SELECT proto, count(*) FROM read_csv('{f}', delim='\t', header=false, skip=8, auto_detect=false, "
                 "quote='', escape='', columns={{" + ", ".join(
                     f"c{i}: 'VARCHAR'" if i != 6 else "proto: 'VARCHAR'" for i in range(21)) + "}}) GROUP BY 1",
}

p = argparse.ArgumentParser()
p.add_argument("format", choices=sorted(QUERIES))
p.add_argument("file")
p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
a = p.parse_args()

con = duckdb.connect()
con.execute(f"SET threads = {a.threads}")
con.execute("SET enable_progress_bar = false")
sql = QUERIES[a.format].format(f=a.file.replace("'", "''"))
out = sys.stdout
for key, n in con.execute(sql).fetchall():
    out.write(f"{'' if key is None else key}\t{n}\n")
