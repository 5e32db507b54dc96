#!/usr/bin/env python3
"""The benchmark query in DuckDB: AccessDenied events per eventSource, printed as `source,count`.

  duckdb_cloudtrail.py [--auto] [--threads N] DIR

Without --auto the two columns are declared (read_json with columns=...); with --auto DuckDB infers
the schema of the whole record (read_json_auto), as a user who does not know CloudTrail would.
"""

import argparse
import os
import sys

import duckdb

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--auto", action="store_true")
p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
a = p.parse_args()

glob = os.path.join(a.dir, "*.jsonl").replace("'", "''")
if a.auto:
    source = f"read_json_auto('{glob}')"
else:
    source = (f"read_json('{glob}', format='newline_delimited', "
              "columns={eventSource: 'VARCHAR', errorCode: 'VARCHAR'})")
sql = (f"SELECT eventSource, count(*) FROM {source} "
       "WHERE errorCode = 'AccessDenied' GROUP BY 1")

con = duckdb.connect()
con.execute(f"SET threads = {a.threads}")
con.execute("SET enable_progress_bar = false")
out = sys.stdout
for source_name, n in con.execute(sql).fetchall():
    out.write(f"{source_name},{n}\n")
