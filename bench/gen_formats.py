#!/usr/bin/env python3
"""Generates benchmark data for the decode benchmark of several log formats (formats_bench.sh).

One file per format under OUT/<format>/, about --mb MB each, the same bytes for the same seed:

  k8s-audit     Kubernetes audit events (JSON lines), replayed from the corpus's Falco traces
  suricata-eve  Suricata eve events (JSON lines), replayed from the corpus's alert samples
  azure-signin  Azure Monitor diagnostic records (PT1H.json lines): 90 % SignInLogs, 10 % AuditLogs
  syslog        auth.log lines: sshd failures and logins, sudo, cron, systemd
  access-log    Apache/nginx combined access log lines
  zeek-conn     a Zeek conn.log in TSV with its #fields/#types header

Replayed events keep their keys, nesting and value types; the fields that identify one
occurrence (ids, times, addresses) are drawn anew. The corpus is read from ../shared/corpus beside
the repository, or --corpus / $SPOOR_CORPUS.
"""

import argparse
import datetime as dt
import json
import os
import random
import uuid
from pathlib import Path

FORMATS = ["k8s-audit", "suricata-eve", "azure-signin", "syslog", "access-log", "zeek-conn"]
START = dt.datetime(2023, 7, 11, tzinfo=dt.timezone.utc)
SPAN_S = 30 * 86400


def corpus_dir(arg):
    if arg:
        return Path(arg)
    if os.environ.get("SPOOR_CORPUS"):
        return Path(os.environ["SPOOR_CORPUS"])
    return Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def ip(rng):
    return f"{rng.choice([10, 172, 192, 45, 81, 185, 203])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def when(rng, i, n):
    # Times grow through the file, with jitter, as logs are written.
    s = SPAN_S * i / max(n, 1) + rng.random()
    return START + dt.timedelta(seconds=s)


def iso(t, digits=6):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}"[:digits] + "Z"


def write_until(path, target, line_of):
    n = 0
    size = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        while size < target:
            line = line_of(n) + "\n"
            out.write(line)
            size += len(line.encode("utf-8"))
            n += 1
    return n, size


def k8s(rng, corpus, path, target):
    base = corpus / "k8s-audit-falco" / "test" / "trace_files" / "k8s_audit"
    templates = []
    for f in sorted(base.glob("*.json")):
        for line in f.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                ev = json.loads(line)
                if "auditID" in ev and "verb" in ev:
                    templates.append(ev)
    if not templates:
        raise SystemExit(f"no Kubernetes audit events in {base}")
    expected = target // 900

    def line_of(i):
        ev = json.loads(json.dumps(rng.choice(templates)))
        t = when(rng, i, expected)
        ev["auditID"] = str(uuid.UUID(int=rng.getrandbits(128)))
        ev["requestReceivedTimestamp"] = iso(t)
        ev["stageTimestamp"] = iso(t + dt.timedelta(milliseconds=rng.randrange(1, 50)))
        ev["sourceIPs"] = [ip(rng)]
        return json.dumps(ev, separators=(",", ":"))

    return write_until(path, target, line_of)


def suricata(rng, corpus, path, target):
    templates = []
    for f in sorted((corpus / "suricata" / "samples").glob("*/alerts-only.json")):
        templates.extend(json.loads(f.read_text(encoding="utf-8")))
    if not templates:
        raise SystemExit("no Suricata samples in the corpus")
    expected = target // 700

    def line_of(i):
        ev = json.loads(json.dumps(rng.choice(templates)))
        t = when(rng, i, expected)
        ev["timestamp"] = t.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
        ev["flow_id"] = rng.getrandbits(50)
        ev["src_ip"] = ip(rng)
        ev["src_port"] = rng.randrange(1024, 65536)
        return json.dumps(ev, separators=(",", ":"))

    return write_until(path, target, line_of)


def azure(rng, _corpus, path, target):
    users = [f"user{n}@contoso.com" for n in range(2000)]
    apps = ["Azure Portal", "Microsoft Teams", "Office 365 Exchange Online", "Azure CLI"]
    countries = ["US", "GB", "DE", "NG", "BR", "IN", "JP"]
    expected = target // 1100

    def line_of(i):
        t = when(rng, i, expected)
        if rng.random() < 0.1:
            rec = {
                "time": iso(t, 7),
                "resourceId": "/tenants/00000000-0000-0000-0000-000000000001/providers/Microsoft.aadiam",
                "operationName": "Add member to role",
                "category": "AuditLogs",
                "tenantId": "00000000-0000-0000-0000-000000000001",
                "resultSignature": "None",
                "properties": {
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "category": "RoleManagement",
                    "activityDisplayName": "Add member to role",
                    "result": "success",
                    "initiatedBy": {"user": {"userPrincipalName": rng.choice(users)}},
                    "targetResources": [{"userPrincipalName": rng.choice(users), "type": "User"}],
                },
            }
        else:
            code = rng.choice([0, 0, 0, 0, 50126, 50053, 50074])
            addr = ip(rng)
            rec = {
                "time": iso(t, 7),
                "resourceId": "/tenants/00000000-0000-0000-0000-000000000001/providers/Microsoft.aadiam",
                "operationName": "Sign-in activity",
                "operationVersion": "1.0",
                "category": "SignInLogs",
                "tenantId": "00000000-0000-0000-0000-000000000001",
                "resultType": str(code),
                "resultSignature": "None",
                "durationMs": 0,
                "callerIpAddress": addr,
                "correlationId": str(uuid.UUID(int=rng.getrandbits(128))),
                "identity": "Someone",
                "Level": 4,
                "location": rng.choice(countries),
                "properties": {
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "createdDateTime": iso(t, 7),
                    "userPrincipalName": rng.choice(users),
                    "appDisplayName": rng.choice(apps),
                    "ipAddress": addr,
                    "clientAppUsed": "Browser",
                    "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    "status": {"errorCode": code, "failureReason": "Other." if code else None},
                    "deviceDetail": {"operatingSystem": "Windows 10", "browser": "Edge 118.0.0"},
                    "location": {"city": "Lagos", "countryOrRegion": rng.choice(countries)},
                    "isInteractive": True,
                    "riskLevelAggregated": "none",
                },
            }
        return json.dumps(rec, separators=(",", ":"))

    return write_until(path, target, line_of)


def syslog(rng, _corpus, path, target):
    hosts = [f"web{n:02d}" for n in range(20)]
    users = ["root", "admin", "ubuntu", "deploy", "oracle", "test", "git"]
    expected = target // 110

    def line_of(i):
        t = when(rng, i, expected)
        stamp = t.strftime("%b ") + f"{t.day:2d}" + t.strftime(" %H:%M:%S")
        host = rng.choice(hosts)
        pid = rng.randrange(300, 40000)
        r = rng.random()
        if r < 0.5:
            msg = f"sshd[{pid}]: Failed password for {'invalid user ' if rng.random() < 0.3 else ''}{rng.choice(users)} from {ip(rng)} port {rng.randrange(1024, 65536)} ssh2"
        elif r < 0.65:
            msg = f"sshd[{pid}]: Accepted publickey for {rng.choice(users)} from {ip(rng)} port {rng.randrange(1024, 65536)} ssh2: RSA SHA256:abcdef"
        elif r < 0.75:
            msg = f"sudo: {rng.choice(users)} : TTY=pts/0 ; PWD=/home/{rng.choice(users)} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"
        elif r < 0.9:
            msg = f"CRON[{pid}]: pam_unix(cron:session): session opened for user root by (uid=0)"
        else:
            msg = f"systemd[1]: Started Session {rng.randrange(1, 9999)} of user {rng.choice(users)}."
        return f"{stamp} {host} {msg}"

    return write_until(path, target, line_of)


def access(rng, _corpus, path, target):
    paths = ["/", "/index.html", "/login", "/api/v1/items?id=42", "/wp-login.php", "/.env",
             "/admin/config.php", "/static/app.js", "/images/logo.png", "/cgi-bin/test.cgi"]
    agents = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0 Safari/537.36",
              "curl/8.4.0", "sqlmap/1.7.2#stable (https://sqlmap.org)", "Nmap Scripting Engine",
              "python-requests/2.31.0"]
    statuses = [200, 200, 200, 200, 304, 404, 404, 403, 500, 301]
    expected = target // 200

    def line_of(i):
        t = when(rng, i, expected)
        stamp = t.strftime("%d/%b/%Y:%H:%M:%S +0000")
        method = "POST" if rng.random() < 0.1 else "GET"
        return (f'{ip(rng)} - - [{stamp}] "{method} {rng.choice(paths)} HTTP/1.1" '
                f'{rng.choice(statuses)} {rng.randrange(0, 50000)} "-" "{rng.choice(agents)}"')

    return write_until(path, target, line_of)


ZEEK_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
               "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
               "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
               "tunnel_parents"]
ZEEK_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count",
              "count", "string", "bool", "bool", "count", "string", "count", "count", "count", "count",
              "set[string]"]


def zeek(rng, _corpus, path, target):
    header = "\n".join([
        "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
        "#path\tconn", "#open\t2023-07-11-00-00-00",
        "#fields\t" + "\t".join(ZEEK_FIELDS), "#types\t" + "\t".join(ZEEK_TYPES),
    ])
    expected = target // 170
    services = ["dns", "http", "ssl", "-", "-", "ssh"]

    def line_of(i):
        if i == 0:
            return header
        t = when(rng, i, expected)
        proto = rng.choice(["tcp", "tcp", "tcp", "udp", "icmp"])
        return "\t".join([
            f"{t.timestamp():.6f}", f"C{rng.getrandbits(60):x}", ip(rng), str(rng.randrange(1024, 65536)),
            ip(rng), str(rng.choice([53, 80, 443, 22, 445, 3389])), proto, rng.choice(services),
            f"{rng.random() * 10:.6f}", str(rng.randrange(0, 100000)), str(rng.randrange(0, 100000)),
            rng.choice(["SF", "S0", "REJ", "RSTO", "OTH"]), "T", "F", "0", "ShADadFf",
            str(rng.randrange(1, 200)), str(rng.randrange(40, 200000)), str(rng.randrange(1, 200)),
            str(rng.randrange(40, 200000)), "(empty)",
        ])

    return write_until(path, target, line_of)


GENERATORS = {
    "k8s-audit": (k8s, "audit.log"),
    "suricata-eve": (suricata, "eve.json"),
    "azure-signin": (azure, "PT1H.json"),
    "syslog": (syslog, "auth.log"),
    "access-log": (access, "access.log"),
    "zeek-conn": (zeek, "conn.log"),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="/tmp/spoor-bench/formats", help="output folder (one subfolder per format)")
    p.add_argument("--mb", type=int, default=128, help="size of each format's file in MB (10^6 bytes)")
    p.add_argument("--seed", type=int, default=4, help="random seed")
    p.add_argument("--corpus", help="the shared corpus folder")
    p.add_argument("--only", nargs="*", choices=FORMATS, help="generate only these formats")
    args = p.parse_args()
    corpus = corpus_dir(args.corpus)
    for name in args.only or FORMATS:
        gen, file_name = GENERATORS[name]
        folder = Path(args.out) / name
        folder.mkdir(parents=True, exist_ok=True)
        rng = random.Random(f"{args.seed}-{name}")
        n, size = gen(rng, corpus, folder / file_name, args.mb * 1_000_000)
        print(f"{name}: {n} lines, {size} bytes in {folder / file_name}")


if __name__ == "__main__":
    main()
