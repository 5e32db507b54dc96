#!/usr/bin/env python3
"""Generates VPC flow log files (default format v2, with the header line AWS writes) for the
language benchmark: ordinary traffic, SSH attempts from a few scanners, rejected probes."""
import argparse
import os
import random

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--total-mb", type=int, default=128)
p.add_argument("--file-mb", type=int, default=32)
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
rng = random.Random(7)
header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
scanners = [f"203.0.113.{i}" for i in range(1, 40)]
inside = [f"10.0.{i}.{j}" for i in range(4) for j in range(1, 60)]
outside = [f"198.51.100.{i}" for i in range(1, 250)]
t = 1691571600
written, n = 0, 0
while written < a.total_mb << 20:
    path = os.path.join(a.out, f"111122223333_vpcflowlogs_us-east-1_fl-{n:04d}.log")
    size = 0
    with open(path, "w") as f:
        f.write(header)
        lines = []
        while size < a.file_mb << 20:
            r = rng.random()
            if r < 0.05:
                src, dst, dport, act = rng.choice(scanners), rng.choice(inside), 22, "REJECT"
            elif r < 0.15:
                src, dst, dport, act = rng.choice(outside), rng.choice(inside), rng.randrange(1, 65535), "REJECT"
            else:
                src, dst, dport, act = rng.choice(inside), rng.choice(outside), rng.choice([443, 80, 53, 123, 8443]), "ACCEPT"
            t += rng.randrange(0, 3)
            line = f"2 111122223333 eni-{rng.randrange(16**8):08x} {src} {dst} {rng.randrange(1024, 65535)} {dport} 6 {rng.randrange(1, 40)} {rng.randrange(40, 90000)} {t} {t + 60} {act} OK\n"
            lines.append(line)
            size += len(line)
        f.writelines(lines)
    written += size
    n += 1
print(f"{n} files, {written} bytes in {a.out}")
