#!/usr/bin/env python3
"""Generate a large, deterministic CloudTrail JSON-lines data set for benchmarks.

Every generated event is a real CloudTrail event from the corpus (same keys, same nesting, same
value types) with the fields that identify one occurrence re-drawn, so that filters and group-bys
see realistic cardinality:

  eventTime                 spread over 30 days ending at --end (time grows through the files,
                            as CloudTrail delivery lays them out), +-5 min of jitter
  eventID                   new UUID
  requestID                 new value of the same shape (UUID, or 16 upper-case characters for S3)
  sourceIPAddress           IP addresses only (AWS service names such as "s3.amazonaws.com" are
                            kept): a user's usual 1 to 3 addresses, sometimes any of 20,000
  userIdentity              IAMUser: userName, arn and accessKeyId from a pool of users;
                            AssumedRole: the session name in arn and principalId;
                            sessionContext.attributes.creationDate a little before eventTime
  recipientAccountId        one of 40 accounts, replaced everywhere the original id appears
                            in the event (ARNs, resources, S3 keys)

Sources (read-only):
  <corpus>/cloudtrail-stratus/docs/detonation-logs/*.json      JSON arrays of events
  <corpus>/cloudtrail-s3-ransomware/**/*.json.gz               {"Records": [...]}, a sample of
                                                                --s3-files of the 3,871 files

Mix: --denied-share of the events (default 5 %) are events whose errorCode is "AccessDenied"
(the raw corpus has a third, because the ransomware lab is mostly failed S3 log deliveries); the
rest is half AWS-service events, half events by a person or role (IAMUser, AssumedRole, Root,
FederatedUser).

Output: <out>/ct-NNN.jsonl, one compact JSON object per line, about --file-mb MiB each, until
--total-mb MiB have been written, and <out>.manifest.json beside the folder (not in it, so that a
reader of the folder sees only CloudTrail). The output is the same byte for byte for the same
arguments and corpus.
"""

import argparse
import datetime as dt
import glob
import gzip
import json
import os
import random
import re
import shutil
import sys
import time

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
IP_RE = re.compile(r"\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]+")
ACCT_RE = re.compile(r"\d{12}")
PLACEHOLDER_RE = re.compile(r"@@([A-Z]+)@@")
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

FIRST = ("alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert "
         "sybil trent victor walter yusuf zoe amir bea chen dana eli fatima gus hana igor jonas "
         "kiran lena marco noor oscar priya quinn rosa sam tariq uma vera wes xin yara").split()
LAST = ("smith jones garcia muller rossi kim nguyen silva khan cohen novak berg moreau tanaka "
        "larsen ivanova costa dubois fischer haddad").split()
SERVICE_USERS = ("ci-deploy terraform backup-agent jenkins github-actions datadog-integration "
                 "splunk-forwarder packer ansible s3-sync").split()


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default=os.environ.get("SPOOR_CORPUS",
                   os.path.normpath(os.path.join(here, "..", "..", "shared", "corpus"))),
                   help="the shared corpus folder (default ../shared/corpus from the repo root, "
                        "or $SPOOR_CORPUS)")
    p.add_argument("--out", default="/tmp/spoor-bench/cloudtrail")
    p.add_argument("--total-mb", type=float, default=1024.0, help="MiB to write (default 1024)")
    p.add_argument("--file-mb", type=float, default=128.0, help="MiB per file (default 128)")
    p.add_argument("--s3-files", type=int, default=400,
                   help="how many of the gzipped ransomware-lab files to sample (default 400)")
    p.add_argument("--denied-share", type=float, default=0.05)
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--accounts", type=int, default=40)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--end", default="2023-08-10T00:00:00Z", help="end of the time span (UTC)")
    p.add_argument("--seed", type=int, default=504)
    return p.parse_args()


def load_events(corpus, s3_files, rng):
    events = []
    stratus = sorted(glob.glob(os.path.join(
        corpus, "cloudtrail-stratus", "docs", "detonation-logs", "*.json")))
    for path in stratus:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        events.extend(data if isinstance(data, list) else data.get("Records", []))
    n_stratus = len(events)
    s3 = sorted(glob.glob(os.path.join(corpus, "cloudtrail-s3-ransomware", "**", "*.json.gz"),
                          recursive=True))
    picked = sorted(rng.sample(s3, min(s3_files, len(s3))))
    for path in picked:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            events.extend(json.load(f).get("Records", []))
    if not events:
        sys.exit(f"gen_cloudtrail: no CloudTrail events found under {corpus}")
    print(f"read {n_stratus} events from {len(stratus)} Stratus detonation logs and "
          f"{len(events) - n_stratus} from {len(picked)} of {len(s3)} ransomware-lab files",
          file=sys.stderr)
    return events


def rid_kind(value):
    if not isinstance(value, str):
        return None
    if UUID_RE.fullmatch(value):
        return "uuid"
    if re.fullmatch(r"[0-9A-Z]+", value):
        return "upper%d" % len(value)
    return None


class Template:
    """An event serialized once, with @@NAME@@ placeholders for the re-drawn fields."""

    def __init__(self, event):
        e = json.loads(json.dumps(event))  # deep copy
        self.kind = None
        e["eventTime"] = "@@TIME@@"
        if "eventID" in e:
            e["eventID"] = "@@EID@@"
        self.rid = rid_kind(e.get("requestID"))
        if self.rid:
            e["requestID"] = "@@RID@@"
        ip = e.get("sourceIPAddress")
        self.has_ip = isinstance(ip, str) and IP_RE.fullmatch(ip) is not None
        if self.has_ip:
            e["sourceIPAddress"] = "@@IP@@"
        ui = e.get("userIdentity") or {}
        self.utype = ui.get("type")
        if self.utype == "IAMUser":
            ui["userName"] = "@@USER@@"
            ui["arn"] = "arn:aws:iam::@@ACCT@@:user/@@USER@@"
            if "accessKeyId" in ui:
                ui["accessKeyId"] = "@@AKID@@"
        elif self.utype == "AssumedRole":
            arn = ui.get("arn", "")
            if arn.count("/") >= 2:
                ui["arn"] = arn.rsplit("/", 1)[0] + "/@@USER@@"
            pid = ui.get("principalId", "")
            if ":" in pid:
                ui["principalId"] = pid.split(":", 1)[0] + ":@@USER@@"
            if "accessKeyId" in ui:
                ui["accessKeyId"] = "@@AKID@@"
        attrs = (ui.get("sessionContext") or {}).get("attributes") or {}
        if "creationDate" in attrs:
            attrs["creationDate"] = "@@CDATE@@"
        self.denied = e.get("errorCode") == "AccessDenied"
        self.human = self.utype in ("IAMUser", "AssumedRole", "Root", "FederatedUser")
        text = json.dumps(e, separators=(",", ":"), ensure_ascii=False)
        acct = e.get("recipientAccountId")
        if isinstance(acct, str) and ACCT_RE.fullmatch(acct):
            text = text.replace(acct, "@@ACCT@@")
        pieces = PLACEHOLDER_RE.split(text)
        # pieces alternate literal, name, literal, name, ..., literal
        self.literals = pieces[0::2]
        self.names = pieces[1::2]
        self.size = len(text.encode("utf-8"))


def main():
    a = parse_args()
    rng = random.Random(a.seed)
    events = load_events(a.corpus, a.s3_files, rng)
    templates = [Template(e) for e in events]
    denied = [t for t in templates if t.denied]
    service = [t for t in templates if not t.denied and not t.human]
    human = [t for t in templates if not t.denied and t.human]
    print(f"templates: {len(denied)} AccessDenied, {len(service)} service, {len(human)} human",
          file=sys.stderr)

    # Pools.
    def rand_ip():
        while True:
            first = rng.randint(1, 223)
            if first not in (10, 127, 169, 172, 192):
                return "%d.%d.%d.%d" % (first, rng.randint(0, 255), rng.randint(0, 255),
                                        rng.randint(1, 254))

    ip_pool = [rand_ip() for _ in range(20000)]
    accounts = ["%012d" % rng.randrange(10**11, 10**12) for _ in range(a.accounts)]
    users = []
    seen = set()
    for i in range(a.users):
        if i < len(SERVICE_USERS):
            name = SERVICE_USERS[i]
        else:
            name = "%s.%s" % (rng.choice(FIRST), rng.choice(LAST))
            if name in seen:
                name += str(i)
        seen.add(name)
        users.append({
            "name": name,
            "akid": rng.choice(["AKIA", "ASIA"]) + "".join(rng.choice(UPPER) for _ in range(16)),
            "ips": [rng.choice(ip_pool) for _ in range(rng.randint(1, 3))],
            "acct": accounts[min(int(rng.random() ** 2 * len(accounts)), len(accounts) - 1)],
        })

    def skewed(seq):  # a few values very common, a long tail
        return seq[min(int(rng.random() ** 3 * len(seq)), len(seq) - 1)]

    end = dt.datetime.strptime(a.end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    end_s = int(end.timestamp())
    span = a.days * 86400
    start_s = end_s - span

    total = int(a.total_mb * 1024 * 1024)
    per_file = int(a.file_mb * 1024 * 1024)

    out = a.out.rstrip("/")
    tmp = out + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)

    def iso(ts):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))

    def uuid():
        h = "%032x" % rng.getrandbits(128)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    written = 0
    count = 0
    nfile = 0
    denied_count = 0
    t0 = time.time()
    while written < total:
        path = os.path.join(tmp, "ct-%03d.jsonl" % nfile)
        buf = []
        fbytes = 0
        while fbytes < per_file and written + fbytes < total:
            r = rng.random()
            if r < a.denied_share:
                t = rng.choice(denied)
                denied_count += 1
            elif r < a.denied_share + (1 - a.denied_share) / 2:
                t = rng.choice(service)
            else:
                t = rng.choice(human)
            user = skewed(users)
            ts = start_s + (written + fbytes) * span // total + rng.randint(-300, 300)
            ts = max(start_s, min(end_s - 1, ts))
            vals = {}
            for name in t.names:
                if name in vals:
                    continue
                if name == "TIME":
                    v = iso(ts)
                elif name == "CDATE":
                    v = iso(ts - rng.randint(0, 12 * 3600))
                elif name == "EID":
                    v = uuid()
                elif name == "RID":
                    v = uuid() if t.rid == "uuid" else "".join(
                        rng.choice(UPPER) for _ in range(int(t.rid[5:])))
                elif name == "IP":
                    v = rng.choice(user["ips"]) if (t.human and rng.random() < 0.9) \
                        else rng.choice(ip_pool)
                elif name == "USER":
                    v = user["name"]
                elif name == "AKID":
                    v = user["akid"]
                elif name == "ACCT":
                    v = user["acct"] if t.human else skewed(accounts)
                else:
                    v = "@@%s@@" % name
                vals[name] = v
            parts = [t.literals[0]]
            for name, lit in zip(t.names, t.literals[1:]):
                parts.append(vals[name])
                parts.append(lit)
            line = "".join(parts) + "\n"
            buf.append(line)
            fbytes += len(line.encode("utf-8"))
            count += 1
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(buf))
        written += fbytes
        nfile += 1
        print(f"  {path}: {fbytes / 2**20:.1f} MiB", file=sys.stderr)

    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    manifest = {
        "generator": "bench/gen_cloudtrail.py",
        "args": vars(a),
        "files": nfile,
        "bytes": written,
        "events": count,
        "access_denied_events": denied_count,
        "time_range": [iso(start_s), iso(end_s)],
    }
    with open(out + ".manifest.json", "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {count:,} events, {written:,} bytes ({written / 2**20:.1f} MiB, "
          f"{written / 1e9:.2f} GB) in {nfile} files to {out} in {time.time() - t0:.0f} s; "
          f"{denied_count:,} have errorCode AccessDenied")


if __name__ == "__main__":
    main()
