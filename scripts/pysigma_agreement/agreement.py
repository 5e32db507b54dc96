#!/usr/bin/env python3
"""Do spoor's Sigma exports find the same events as pySigma's conversions?

For every SigmaHQ rule that has an evtx regression test (corpus `sigma/regression_data`), in
KQL and in SPL:

  pySigma  KQL: kusto backend, no pipeline (a bare predicate over Sigma's field names), wrapped
                in the first target of spoor's crates/sigma/mappings/logsources.yml (its table,
                `where` conditions and field names), or in its `fallback` target when the first
                does not plan (e.g. a Security rule on a field SecurityEvent has no column for).
           SPL: splunk backend with the `splunk_windows` pipeline, after the Splunk source of the
                table the KQL side runs on (Sysmon, SecurityEvent); rules on other tables have
                "no SPL source".
  spoor    `spoor convert --from sigma --to kql|spl -f RULE`.

Every query runs with `spoor query --lang kql|spl --format json` on the rule's evtx; rows are
keyed by (Computer, Channel, EventRecordID) and the two sides' key sets compared. A rule whose
sets differ is a failure (exit status 1) unless known_pysigma_defects.yml lists it. As a
reference, spoor's own Sigma front-end (`spoor query --lang sigma`) runs on the same evtx.

Needs pySigma (see README.md for the pinned venv); pass `--python VENV` to run in that venv.
Exit status: 0 no unexpected difference, 1 rows differ outside the allowlist, 2 setup error.
"""

import argparse
import collections
import concurrent.futures
import csv
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LOGSOURCES = REPO / "crates/sigma/mappings/logsources.yml"
ALLOWLIST = HERE / "known_pysigma_defects.yml"
RULE_DIRS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder", "deprecated"]
PINNED = {"sigma-cli": "3.1.0", "pySigma": "1.5.1", "pySigma-backend-kusto": "1.0.1", "pysigma-backend-splunk": "2.1.0"}

# The Splunk source of each spoor table that spoor's SPL front-end reads Windows events from
# (crates/spl/src/sourcetypes.rs).
SPL_SOURCES = {
    "Sysmon": 'sourcetype="XmlWinEventLog" source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"',
    "SecurityEvent": 'sourcetype="XmlWinEventLog" source="XmlWinEventLog:Security"',
}
LANGS = ("kql", "spl")
TIMEOUT = 300


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--python", help="a Python interpreter, or a venv folder, with pySigma installed (the script re-runs itself with it); "
                   "default $PYSIGMA_PYTHON, else the interpreter running it")
    p.add_argument("--spoor", help="the spoor binary (default target/release/spoor if present, else target/debug/spoor, "
                   "under $CARGO_TARGET_DIR or /work/target)")
    p.add_argument("--corpus", help="the corpus root holding sigma/ (default $SPOOR_CORPUS, else ../shared/corpus from the repo root)")
    p.add_argument("--out", help="folder for the detail (default: a new temporary folder); never inside the corpus")
    p.add_argument("--sample", type=int, help="only the first N rules of the sample (sorted by rule path)")
    p.add_argument("--rules-filter", help="only rules whose path or id contains this substring")
    p.add_argument("--jobs", type=int, default=2, help="spoor processes at a time (default 2)")
    p.add_argument("--allowlist", default=str(ALLOWLIST), help="known pySigma defects (default: %(default)s)")
    p.add_argument("--no-reference", action="store_true", help="skip the reference run of spoor's own Sigma front-end")
    return p.parse_args()


# ----------------------------------------------------------------------------------------------
# Setup


def die(msg):
    """A setup error: exit status 2 (1 means rows differ)."""
    print(msg, file=sys.stderr)
    sys.exit(2)


def ensure_python(args):
    """Re-run this script with the interpreter that has pySigma, when one is named."""
    want = args.python or os.environ.get("PYSIGMA_PYTHON")
    if want and not os.environ.get("_AGREEMENT_REEXEC"):
        py = Path(want)
        if py.is_dir():
            py = py / "bin" / "python"
        if not py.exists():
            die(f"error: --python {want}: no interpreter at {py}")
        os.environ["_AGREEMENT_REEXEC"] = "1"
        os.execv(str(py), [str(py), str(Path(__file__).resolve())] + sys.argv[1:])
    try:
        import sigma  # noqa: F401
        import yaml  # noqa: F401
    except ImportError as e:
        die(f"error: {e}: run with --python VENV, a venv made as README.md says:\n"
                 "  python3 -m venv V && V/bin/pip install " + " ".join(f"{k}=={v}" for k, v in PINNED.items()))


def versions():
    from importlib import metadata
    out = {}
    for name in PINNED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def default_spoor():
    target = Path(os.environ.get("CARGO_TARGET_DIR") or "/work/target")
    if not target.is_absolute():
        target = REPO / target
    release, debug = target / "release/spoor", target / "debug/spoor"
    return release if release.exists() else debug


def raise_stack_limit():
    """spoor's parser recurses on long `or` chains: a rule with 1,090 terms overflows a debug
    build's 8 MiB main stack. Children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    for want in (resource.RLIM_INFINITY, hard, 1 << 30):
        try:
            resource.setrlimit(resource.RLIMIT_STACK, (want, hard))
            return resource.getrlimit(resource.RLIMIT_STACK)[0]
        except (ValueError, OSError):
            continue
    return soft


# ----------------------------------------------------------------------------------------------
# The sample: rules with an evtx regression test


def rule_id_of(path):
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    m = re.search(r"^id:\s*['\"]?([0-9a-fA-F-]{36})", text, re.M)
    return m.group(1).lower() if m else None


def load_sample(sigma_root):
    import yaml
    by_id = None
    sample = {}
    for info in sorted((sigma_root / "regression_data").rglob("info.yml")):
        y = yaml.safe_load(info.read_text()) or {}
        evtx = [sigma_root / t["path"] for t in y.get("regression_tests_info") or [] if t.get("type") == "evtx"]
        evtx = [e for e in evtx if e.exists()]
        if not evtx:
            continue
        # regression_data/<rules dir>/<path>/<rule name>/info.yml mirrors <rules dir>/<path>/<rule name>.yml
        rel = info.parent.relative_to(sigma_root / "regression_data")
        guess = sigma_root / rel.parent / (rel.name + ".yml")
        for m in y.get("rule_metadata") or []:
            rid = str(m["id"]).lower()
            rule = guess if rule_id_of(guess) == rid else None
            if rule is None:
                if by_id is None:
                    by_id = {}
                    for d in RULE_DIRS:
                        for f in (sigma_root / d).rglob("*.yml"):
                            by_id.setdefault(rule_id_of(f), f)
                rule = by_id.get(rid)
            if rule is None:
                print(f"warning: no rule file for {rid} ({info})", file=sys.stderr)
                continue
            s = sample.setdefault(rid, dict(id=rid, title=m.get("title", ""), rule=rule, evtx=[]))
            s["evtx"] += [e for e in evtx if e not in s["evtx"]]
    return sorted(sample.values(), key=lambda s: str(s["rule"]))


# ----------------------------------------------------------------------------------------------
# pySigma


def pysigma_convert(rules):
    """{rule id: {"kql": text | Exception, "spl": text | Exception}}, in this process."""
    from sigma.collection import SigmaCollection
    from sigma.plugins import InstalledSigmaPlugins

    plugins = InstalledSigmaPlugins.autodiscover()
    resolver = plugins.get_pipeline_resolver()
    targets = {"kql": ("kusto", []), "spl": ("splunk", ["splunk_windows"])}
    out = {}
    for r in rules:
        out[r["id"]] = {}
        for lang, (be, pipes) in targets.items():
            try:
                pipeline = resolver.resolve(pipes) if pipes else None
                backend = plugins.backends[be](processing_pipeline=pipeline, collect_errors=True)
                coll = SigmaCollection.load_ruleset([str(r["rule"])], collect_errors=True)
                errors = [e for rule in coll for e in rule.errors]
                if errors:
                    raise errors[0]
                qs = backend.convert(coll, "default")
                errors = [e for rule in coll for e in rule.errors] + [e for _, e in backend.errors]
                if errors:
                    raise errors[0]
                qs = qs if isinstance(qs, list) else [qs]
                if len(qs) != 1:
                    raise RuntimeError(f"pySigma produced {len(qs)} queries for the rule, not one")
                out[r["id"]][lang] = str(qs[0]).strip()
            except Exception as e:  # pySigma raises many kinds: each is a reported failure
                out[r["id"]][lang] = e
    return out


def one_line(e):
    s = f"{type(e).__name__}: {e}" if isinstance(e, Exception) else str(e)
    return " ".join(s.split())[:300]


# ----------------------------------------------------------------------------------------------
# spoor's log-source mapping, to put pySigma's bare KQL predicate on a table


def kql_lit(v):
    return str(v) if isinstance(v, int) else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def mapping_entry(mappings, logsource):
    """The entry naming the most keys that all match the rule's log source (ignoring case)."""
    ls = {k: str(v).lower() for k, v in (logsource or {}).items() if k in ("product", "category", "service")}
    best = None
    for e in mappings:
        keys = {k: str(v).lower() for k, v in e["logsource"].items()}
        if all(ls.get(k) == v for k, v in keys.items()) and (best is None or len(keys) > len(best[0])):
            best = (keys, e)
    return best[1] if best else None


def wrap_kql(target, pred):
    """`<table> | where <target conditions> | where <pred>`, as /work/pysigma/wrap_none.py did:
    WindowsEvent keeps its fields in the EventData bag, unpacked first; `fields` renames Sigma's
    names (an `extend` on WindowsEvent, a rename in the predicate on other tables)."""
    q = target["table"]
    for col, vals in (target.get("where") or {}).items():
        q += f"\n| where {col} in ({', '.join(kql_lit(v) for v in vals)})"
    if target["table"] == "WindowsEvent":
        q += "\n| evaluate bag_unpack(EventData)"
    for sig, col in (target.get("fields") or {}).items():
        if re.search(r"\b%s\b" % re.escape(sig), pred):
            if target["table"] == "WindowsEvent":
                q += f"\n| extend {sig} = ['{col}']"
            else:
                pred = re.sub(r"\b%s\b" % re.escape(sig), col, pred)
    return q + "\n| where " + pred + "\n"


# ----------------------------------------------------------------------------------------------
# Running spoor


class Spoor:
    def __init__(self, path):
        self.path = str(path)
        self.calls = []  # (seconds, command line), for the slowest calls in the summary

    def run(self, args, timeout=TIMEOUT):
        """(status, stdout, stderr); status is the exit code, "crash" or "timeout"."""
        t = time.time()
        try:
            p = subprocess.run([self.path] + args, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout", "", f"timed out after {timeout} s"
        except OSError as e:
            return "crash", "", f"cannot run {self.path}: {e}"
        finally:
            self.calls.append((time.time() - t, " ".join(args)))
        if p.returncode < 0 or "overflowed its stack" in p.stderr:
            first = first_line(p.stderr) or f"killed by signal {-p.returncode}"
            return "crash", p.stdout, f"spoor crashed: {first}"
        return p.returncode, p.stdout, p.stderr

    def query(self, lang, qfile, evtx):
        st, out, err = self.run(["query", "-q", "--lang", lang, "--format", "json", "-f", str(qfile)] + [str(e) for e in evtx])
        if st != 0:
            return None, f"spoor query failed ({st}): {first_line(err)}" if st != "crash" else err
        try:
            return row_keys(out), None
        except ValueError as e:
            return None, f"spoor query output is not JSON lines: {e}"


def first_line(text):
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line[:300]
    return ""


def row_keys(stdout):
    """The rows' event ids: (Computer, Channel, EventRecordID), read from the columns or, for SPL,
    from _raw. A row without an EventRecordID is keyed by its whole content."""
    keys = set()
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        o = json.loads(line)
        raw = o.get("_raw")
        if isinstance(raw, str) and raw.startswith("{"):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = None
        raw = raw if isinstance(raw, dict) else {}

        def get(*names):
            for d in (o, raw):
                for n in names:
                    if d.get(n) not in (None, ""):
                        return d[n]
            return None

        rec = get("EventRecordID", "EventRecordId", "RecordNumber")
        if rec is None:
            keys.add(("row", json.dumps(o, sort_keys=True)[:500], ""))
            continue
        computer = get("Computer") or o.get("host") or ""
        channel = get("Channel") or ""
        keys.add((str(computer).lower(), str(channel), str(rec)))
    return keys


def compare(a, b):
    """Same rows? When one side's rows name no Channel, Channel is left out of both keys."""
    if any(k[1] == "" for k in a | b):
        a = {(k[0], "", k[2]) for k in a}
        b = {(k[0], "", k[2]) for k in b}
    return a == b, a, b


def fmt_keys(keys):
    return sorted("|".join(k) for k in keys)


# ----------------------------------------------------------------------------------------------
# One rule


def run_rule(r, conv, entry, spoor, qdir, reference):
    rid = r["id"]
    d = qdir / rid
    d.mkdir(parents=True, exist_ok=True)
    res = dict(id=rid, title=r["title"], rule=str(r["rule"]), evtx=[str(e) for e in r["evtx"]], table=None, langs={})

    # Which table: the mapping's first target, or its fallback when the first does not plan.
    kql_pred = conv["kql"]
    table = None
    if entry is None:
        table_err = f"spoor's logsources.yml maps no table for {r['logsource']}"
    else:
        candidates = [entry["targets"][0]] + [t for t in entry["targets"][1:] if t.get("fallback")]
        table_err = None
        pys_kql = None
        for i, t in enumerate(candidates):
            table = t["table"]
            if isinstance(kql_pred, Exception):
                break
            pys_kql = wrap_kql(t, kql_pred)
            if i + 1 < len(candidates):
                f = d / "pysigma.check.kql"
                f.write_text(pys_kql)
                st, _, err = spoor.run(["check", "--lang", "kql", "-f", str(f)])
                f.unlink()
                if st != 0:
                    res.setdefault("notes", []).append(f"{table} does not plan ({first_line(err)}); using fallback {candidates[i + 1]['table']}")
                    continue
            break
    res["table"] = table

    for lang in LANGS:
        L = dict(pysigma=dict(), spoor=dict())
        res["langs"][lang] = L
        # pySigma's query
        p = L["pysigma"]
        if isinstance(conv[lang], Exception):
            p["error"] = "pySigma conversion failed: " + one_line(conv[lang])
            p["stage"] = "convert"
        elif table_err:
            p["error"], p["stage"] = table_err, "table"
        elif lang == "kql":
            p["query"] = pys_kql
        elif table not in SPL_SOURCES:
            p["error"], p["stage"] = f"no SPL source: spoor's SPL reads no table {table}", "no-spl-source"
        else:
            p["query"] = SPL_SOURCES[table] + " " + conv[lang] + "\n"
        if "query" in p:
            p["converted"] = True
            f = d / f"pysigma.{lang}"
            f.write_text(p["query"])
            p["file"] = str(f)
            keys, err = spoor.query(lang, f, r["evtx"])
            if err:
                p["error"], p["stage"] = err, "query"
            else:
                p["keys"] = keys
        elif p.get("stage") != "convert":
            p["converted"] = True

        # spoor's export
        s = L["spoor"]
        st, out, err = spoor.run(["convert", "--from", "sigma", "--to", lang, "-f", str(r["rule"])])
        if st != 0 or not out.strip():
            why = first_line(err) or (f"exit {st}, no output" if st != 0 else "empty output")
            s["error"], s["stage"] = f"spoor export failed: {why}", "export"
        else:
            s["query"] = out if out.endswith("\n") else out + "\n"
            f = d / f"spoor.{lang}"
            f.write_text(s["query"])
            s["file"] = str(f)
            keys, err = spoor.query(lang, f, r["evtx"])
            if err:
                s["error"], s["stage"] = err, "query"
            else:
                s["keys"] = keys

    if reference:
        st, out, err = spoor.run(["query", "-q", "--lang", "sigma", "--format", "json", "-f", str(r["rule"])] + res["evtx"])
        if st == 0:
            res["reference"] = dict(keys=row_keys(out))
        else:
            res["reference"] = dict(error=err if st == "crash" else f"spoor query --lang sigma failed ({st}): {first_line(err)}")
    return res


# ----------------------------------------------------------------------------------------------
# Report


def load_allowlist(path):
    import yaml
    if not path or not Path(path).exists():
        return {}
    y = yaml.safe_load(Path(path).read_text()) or {}
    allowed = {}
    for d in y.get("defects") or []:
        for rid in d.get("rules") or []:
            for lang in d.get("languages") or LANGS:
                allowed[(str(rid).lower(), lang)] = d
    return allowed


def normalise(reason):
    s = re.sub(r"`[^`]*`", "`…`", reason)
    s = re.sub(r'"[^"]*"', '"…"', s)
    s = re.sub(r"'[^']*'", "'…'", s)
    s = re.sub(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b", "<id>", s)
    return s[:160]


def report(results, allowed, out, meta):
    lines = []
    w = lines.append
    stats = {}
    failures = []
    diffs = []
    for lang in LANGS:
        c = collections.Counter()
        for r in results:
            L = r["langs"][lang]
            p, s = L["pysigma"], L["spoor"]
            c["rules"] += 1
            c["pysigma converted"] += bool(p.get("converted"))
            c["no SPL source"] += p.get("stage") == "no-spl-source"
            c["pysigma ran"] += "keys" in p
            c["pysigma found rows"] += bool(p.get("keys"))
            c["spoor exported"] += "query" in s
            c["spoor ran"] += "keys" in s
            c["spoor found rows"] += bool(s.get("keys"))
            for side, x in (("pySigma", p), ("spoor", s)):
                if "error" in x:
                    failures.append(dict(rule_id=r["id"], language=lang, side=side, stage=x["stage"], reason=x["error"]))
            ref = r.get("reference", {})
            if "keys" in p and "keys" in ref:
                c["pysigma vs spoor sigma: both ran"] += 1
                c["pysigma vs spoor sigma: same rows"] += compare(p["keys"], ref["keys"])[0]
            if "keys" in p and "keys" in s:
                c["both ran"] += 1
                same, a, b = compare(p["keys"], s["keys"])
                known = allowed.get((r["id"], lang))
                if same:
                    c["same rows"] += 1
                    if known:
                        c["allowlisted but same rows"] += 1
                        r.setdefault("allowlisted_same", []).append(lang)
                else:
                    kind = "allowlisted" if known else "unexpected"
                    c[f"different rows ({kind})"] += 1
                    diffs.append(dict(rule_id=r["id"], title=r["title"], language=lang, kind=kind,
                                      reason=(known or {}).get("reason", ""), pysigma=fmt_keys(a), spoor=fmt_keys(b),
                                      pysigma_query=p["file"], spoor_query=s["file"]))
        stats[lang] = c

    # Summary table
    rows = [
        ("rules in the sample", "rules"),
        ("pySigma converted", "pysigma converted"),
        ("  of which no SPL source (table)", "no SPL source"),
        ("pySigma query ran on the evtx", "pysigma ran"),
        ("  with ≥1 row", "pysigma found rows"),
        ("spoor exported", "spoor exported"),
        ("spoor query ran on the evtx", "spoor ran"),
        ("  with ≥1 row", "spoor found rows"),
        ("both ran", "both ran"),
        ("same rows", "same rows"),
        ("different rows (unexpected)", "different rows (unexpected)"),
        ("different rows (allowlisted)", "different rows (allowlisted)"),
        ("allowlisted, yet same rows", "allowlisted but same rows"),
    ]
    if any(stats[l]["pysigma vs spoor sigma: both ran"] for l in LANGS):
        rows += [("reference: pySigma & spoor --lang sigma ran", "pysigma vs spoor sigma: both ran"),
                 ("reference:   same rows", "pysigma vs spoor sigma: same rows")]
    width = max(len(a) for a, _ in rows)
    w(f"{'':{width}}  {'KQL':>5}  {'SPL':>5}")
    for label, key in rows:
        w(f"{label:{width}}  {stats['kql'][key]:>5}  {stats['spl'][key]:>5}")

    w("")
    w("Failures (side, language, stage: reason × rules, e.g.):")
    groups = collections.defaultdict(list)
    for f in failures:
        groups[(f["side"], f["language"], f["stage"], normalise(f["reason"]))].append(f["rule_id"])
    for (side, lang, stage, reason), ids in sorted(groups.items(), key=lambda x: (x[0][0], x[0][1], -len(x[1]))):
        w(f"  {side:7} {lang} {stage:13} {len(ids):4} × {reason}   e.g. {', '.join(i[:8] for i in ids[:3])}")
    if not failures:
        w("  none")

    w("")
    unexpected = [d for d in diffs if d["kind"] == "unexpected"]
    for kind, title in (("unexpected", "Different rows, not allowlisted"), ("allowlisted", "Different rows, allowlisted as known pySigma defects")):
        ds = [d for d in diffs if d["kind"] == kind]
        w(f"{title}: {len(ds)}")
        for d in ds:
            w(f"  {d['language']} {d['rule_id']} {d['title']}" + (f"  [{d['reason']}]" if d["reason"] else ""))
            w(f"      pySigma {len(d['pysigma'])}: {' '.join(d['pysigma'][:6])}{' …' if len(d['pysigma']) > 6 else ''}")
            w(f"      spoor   {len(d['spoor'])}: {' '.join(d['spoor'][:6])}{' …' if len(d['spoor']) > 6 else ''}")
    same_allowed = sorted({(r["id"], l) for r in results for l in r.get("allowlisted_same", [])})
    unused = sorted({k for k in allowed if k[0] in {r["id"] for r in results}} - {(d["rule_id"], d["language"]) for d in diffs} - set(same_allowed))
    if same_allowed:
        w(f"Allowlisted, yet the same rows: {len(same_allowed)}: " + ", ".join(f"{l} {i[:8]}" for i, l in same_allowed))
    if unused:
        w(f"Allowlisted, not compared (a side failed or did not run): {len(unused)}: " + ", ".join(f"{l} {i[:8]}" for i, l in unused))

    # pySigma vs the reference, for the record
    refdiff = []
    for r in results:
        ref = r.get("reference", {})
        for lang in LANGS:
            p = r["langs"][lang]["pysigma"]
            if "keys" in p and "keys" in ref and not compare(p["keys"], ref["keys"])[0]:
                same, a, b = compare(p["keys"], ref["keys"])
                refdiff.append((lang, r["id"], r["title"], fmt_keys(a), fmt_keys(b)))
    if refdiff:
        w("")
        w(f"Reference (informational): pySigma's rows differ from spoor --lang sigma's: {len(refdiff)}")
        for lang, rid, title, a, b in refdiff:
            w(f"  {lang} {rid} {title}: pySigma {len(a)}, spoor sigma {len(b)}"
              f" (only pySigma: {' '.join(sorted(set(a) - set(b))[:3])}; only spoor sigma: {' '.join(sorted(set(b) - set(a))[:3])})")

    w("")
    w(meta)
    w(f"Detail: {out}")
    compared = {l: stats[l]["both ran"] for l in LANGS}
    w(f"compared: {compared['kql']} KQL, {compared['spl']} SPL; {len(unexpected)} unexpected difference(s): "
      + ("FAIL" if unexpected else "ok" if any(compared.values()) else "ok, but nothing was compared"))
    text = "\n".join(lines) + "\n"

    # Detail files
    (out / "summary.txt").write_text(text)
    with open(out / "failures.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=["rule_id", "language", "side", "stage", "reason"])
        wr.writeheader()
        wr.writerows(failures)
    with open(out / "differences.json", "w") as f:
        json.dump(diffs, f, indent=1)
    with open(out / "results.jsonl", "w") as f:
        for r in results:
            r = json.loads(json.dumps(r, default=lambda o: fmt_keys(o) if isinstance(o, set) else str(o)))
            f.write(json.dumps(r) + "\n")
    return text, len(unexpected)


# ----------------------------------------------------------------------------------------------


def main():
    args = parse_args()
    ensure_python(args)
    import yaml

    corpus = Path(args.corpus or os.environ.get("SPOOR_CORPUS") or REPO / "../shared/corpus").resolve()
    sigma_root = corpus / "sigma"
    if not (sigma_root / "regression_data").is_dir():
        die(f"error: no {sigma_root}/regression_data (set SPOOR_CORPUS to the corpus root)")
    spoor_path = Path(args.spoor) if args.spoor else default_spoor()
    if not spoor_path.exists():
        die(f"error: no spoor binary at {spoor_path} (use --spoor)")
    out = Path(args.out).resolve() if args.out else Path(tempfile.mkdtemp(prefix="pysigma-agreement-"))
    if out == corpus or corpus in out.parents:
        die(f"error: --out {out} is inside the corpus {corpus}")
    out.mkdir(parents=True, exist_ok=True)
    qdir = out / "queries"

    stack = raise_stack_limit()
    t0 = time.time()
    built = spoor_path.stat().st_mtime
    vers = versions()
    off = {k: v for k, v in vers.items() if v != PINNED[k]}
    if off:
        print(f"warning: not the pinned versions: {off} (pinned {PINNED})", file=sys.stderr)

    rules = load_sample(sigma_root)
    if args.rules_filter:
        rules = [r for r in rules if args.rules_filter.lower() in str(r["rule"].relative_to(sigma_root)).lower() or args.rules_filter.lower() in r["id"]]
    if args.sample:
        rules = rules[: args.sample]
    if not rules:
        die("error: no rule in the sample")
    for r in rules:
        r["logsource"] = (yaml.safe_load(r["rule"].read_text()) or {}).get("logsource") or {}
    print(f"{len(rules)} rules with an evtx regression test; converting with pySigma…", file=sys.stderr)
    conv = pysigma_convert(rules)
    t1 = time.time()

    mappings = yaml.safe_load(LOGSOURCES.read_text())["logsources"]
    allowed = load_allowlist(args.allowlist)
    spoor = Spoor(spoor_path)
    st, out_v, _ = spoor.run(["--version"])
    spoor_version = out_v.strip() if st == 0 else "?"
    print(f"running {spoor_path} ({spoor_version}) with {args.jobs} job(s)…", file=sys.stderr)
    results = [None] * len(rules)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futs = {ex.submit(run_rule, r, conv[r["id"]], mapping_entry(mappings, r["logsource"]), spoor, qdir, not args.no_reference): i
                for i, r in enumerate(rules)}
        for n, fut in enumerate(concurrent.futures.as_completed(futs), 1):
            results[futs[fut]] = fut.result()
            if n % 25 == 0 or n == len(rules):
                print(f"  {n}/{len(rules)} rules ({time.time() - t1:.0f} s)", file=sys.stderr)

    mtime = time.strftime("%Y-%m-%d %H:%M", time.localtime(built))
    if spoor_path.stat().st_mtime != built:
        mtime += ", REBUILT DURING THE RUN: the results may mix two builds"
    meta = (f"pySigma: {', '.join(f'{k} {v}' for k, v in vers.items())}\n"
            f"spoor: {spoor_path} ({spoor_version}, built {mtime}); stack limit "
            f"{'unlimited' if stack == resource.RLIM_INFINITY else stack}\n"
            f"corpus: {sigma_root}\n"
            f"time: pySigma {t1 - t0:.0f} s, spoor {time.time() - t1:.0f} s ({len(spoor.calls)} spoor runs, "
            f"{sum(c[0] for c in spoor.calls):.0f} s in all); slowest: "
            + "; ".join(f"{sec:.1f} s {cmd[:90]}" for sec, cmd in sorted(spoor.calls, reverse=True)[:3]))
    (out / "versions.json").write_text(json.dumps(dict(pysigma=vers, spoor=str(spoor_path), spoor_version=spoor_version,
                                                       spoor_built=mtime, corpus=str(sigma_root)), indent=1) + "\n")
    text, unexpected = report(results, allowed, out, meta)
    print(text, end="")
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
