#!/usr/bin/env python3
"""Turns one `make bench` run (target/bench/<stamp>/) into a markdown report: medians over
the interleaved rounds and the ratios the performance issue asks for. Stdlib only.

Usage: report.py RUN_DIR
"""
import glob
import json
import os
import platform
import re
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=2, unit=""):
    if v is None:
        return "n/a"
    return f"{v:.{digits}f}{unit}"


def ratio(a, b):
    return a / b if a is not None and b else None


def criterion():
    out = {}
    for path in glob.glob(os.path.join(ROOT, "target/criterion/**/new/estimates.json"), recursive=True):
        name = os.path.relpath(os.path.dirname(os.path.dirname(path)), os.path.join(ROOT, "target/criterion"))
        with open(path) as f:
            out[name] = json.load(f)["median"]["point_estimate"] / 1000.0  # ns -> us
    return out


def load_runs(run, who):
    runs = []
    for path in sorted(glob.glob(os.path.join(run, f"{who}-*.json"))):
        with open(path) as f:
            runs.append(json.load(f))
    return runs


def protected(runs, conc, client, key):
    values = []
    for r in runs:
        for level in r["protected"]:
            c = level.get(client)
            if c and c.get("concurrency") == conc:
                values.append(c.get(key))
    return median(values)


def wrk_file(path):
    text = open(path).read()
    m = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", text)
    p50 = None
    if m:
        p50 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    return p50, float(m.group(1)) if m else None


def floor_file(path):
    m = re.search(r"([\d.]+) calls/s\s+p50 ([\d.]+) ms", open(path).read())
    return (float(m.group(2)), float(m.group(1))) if m else (None, None)


def main():
    run = sys.argv[1]
    crit = criterion()
    peer = load_runs(run, "peer")
    wb = load_runs(run, "wristband")
    floors = [floor_file(p) for p in sorted(glob.glob(os.path.join(run, "floor-*.txt")))]
    noop1 = [wrk_file(p) for p in sorted(glob.glob(os.path.join(run, "noop-c1-*.txt")))]
    noop8 = [wrk_file(p) for p in sorted(glob.glob(os.path.join(run, "noop-c8-*.txt")))]
    floor_p50 = median([f[0] for f in floors])
    noop1_p50 = median([n[0] for n in noop1])
    noop8_p50 = median([n[0] for n in noop8])

    lines = []
    add = lines.append
    load = None
    if wb:
        load = wb[0].get("loadavg_before")
    add(f"Machine: {os.cpu_count()} cores, {platform.platform()}; {len(wb)} interleaved rounds; "
        f"run `{os.path.basename(run)}`; load average before: {load}")
    add("")
    add("| measurement | wristband | peer (Flask-JWT-Extended, gunicorn -w 5) | ratio |")
    add("|---|---:|---:|---:|")
    for conc in (1, 8):
        w = protected(wb, conc, "wrk", "rps")
        p = protected(peer, conc, "wrk", "rps")
        add(f"| /protected req/s, wrk c={conc} | {fmt(w, 0)} | {fmt(p, 0)} | {fmt(ratio(w, p), 1)}x |")
        w = protected(wb, conc, "wrk", "p50_ms")
        p = protected(peer, conc, "wrk", "p50_ms")
        add(f"| /protected p50 ms, wrk c={conc} | {fmt(w)} | {fmt(p)} | {fmt(ratio(w, p))} |")
    for conc in (1, 8):
        w = protected(wb, conc, "python", "p50_ms")
        p = protected(peer, conc, "python", "p50_ms")
        add(f"| /protected p50 ms, python client c={conc} | {fmt(w)} | {fmt(p)} | {fmt(ratio(w, p))} |")
    w = median([r["logins"]["p50_ms"] for r in wb])
    p = median([r["logins"]["p50_ms"] for r in peer])
    add(f"| login p50 ms (sequential) | {fmt(w, 1)} | {fmt(p, 1)} | {fmt(ratio(w, p))} |")
    w_login = w
    w = median([r["logout_pairs"]["pair"]["p50_ms"] for r in wb])
    p = median([r["logout_pairs"]["pair"]["p50_ms"] for r in peer])
    add(f"| logout + revoked /protected pair p50 ms | {fmt(w)} | {fmt(p)} | {fmt(ratio(w, p))} |")

    cold = None
    path = os.path.join(run, "coldstart-wristband.json")
    if os.path.exists(path):
        cold = json.load(open(path))["median_ms"]
    peer_cold = peer_imports = None
    path = os.path.join(run, "coldstart-peer.txt")
    if os.path.exists(path):
        text = open(path).read()
        m = re.search(r"median of \d+: ([\d.]+) ms", text)
        peer_cold = float(m.group(1)) if m else None
        m = re.search(r"import flask.*?median\s+([\d.]+) ms", text)
        peer_imports = float(m.group(1)) if m else None
    add(f"| cold start ms: launch -> first answer | {fmt(cold, 1)} | {fmt(peer_cold, 1)} | "
        f"1/{fmt(ratio(peer_cold, cold), 0)} |")
    add(f"| cold start ms vs the peer's Python imports alone | {fmt(cold, 1)} | {fmt(peer_imports, 1)} | "
        f"1/{fmt(ratio(peer_imports, cold), 0)} |")
    add("")

    add("| against the floor | value |")
    add("|---|---:|")
    add(f"| DynamoDB Local GetItem p50 ms, raw keep-alive (the floor) | {fmt(floor_p50, 3)} |")
    add(f"| emulator (noop function) p50 ms, wrk c=1 / c=8 | {fmt(noop1_p50, 3)} / {fmt(noop8_p50, 3)} |")
    add(f"| emulator (noop function) req/s, wrk c=1 / c=8 | {fmt(median([n[1] for n in noop1]), 0)} / "
        f"{fmt(median([n[1] for n in noop8]), 0)} |")
    for conc, noop in ((1, noop1_p50), (8, noop8_p50)):
        w = protected(wb, conc, "wrk", "p50_ms")
        base = (floor_p50 or 0) + (noop or 0) if floor_p50 and noop else None
        add(f"| /protected p50 / (floor + emulator), c={conc} | {fmt(ratio(w, base))}x |")
    verify = crit.get("argon2id_m19456_t2_p1/verify")
    if verify:
        add(f"| login p50 / one argon2id verify ({fmt(verify / 1000, 1)} ms) | {fmt(ratio(w_login, verify / 1000))}x |")
    add("")

    add("| criterion (median) | us |")
    add("|---|---:|")
    for name in sorted(crit):
        add(f"| {name} | {fmt(crit[name], 2)} |")
    add("")

    path = os.path.join(run, "verifiers.json")
    if os.path.exists(path):
        ver = json.load(open(path))
        base = ver["protected"]["p50_ms"]
        add("| verifiers, warm, sequential, valid token | p50 ms | p90 ms | p50 / /protected's "
            "| function CPU us per request (user + sys) |")
        add("|---|---:|---:|---:|---:|")
        for name in ("protected", "me", "authorizer", "introspect"):
            if name not in ver:
                continue
            r = ver[name]
            cpu = (f"{r['cpu_us_per_request']:.0f} ({r['cpu_user_us_per_request']:.0f} + "
                   f"{r['cpu_system_us_per_request']:.0f})" if "cpu_us_per_request" in r else "-")
            add(f"| {name} | {fmt(r['p50_ms'])} | {fmt(r['p90_ms'])} | "
                f"{fmt(ratio(r['p50_ms'], base))}x | {cpu} |")
        add("")

    path = os.path.join(run, "forgot.json")
    if os.path.exists(path):
        fg = json.load(open(path))
        add(f"| POST /password/forgot, warm, interleaved (n={fg['n']} each) | p50 ms | p90 ms |")
        add("|---|---:|---:|")
        for kind in ("unknown", "unverified", "verified"):
            add(f"| {kind} address | {fmt(fg['p50_ms'][kind], 1)} | {fmt(fg['p90_ms'][kind], 1)} |")
        add(f"\np50 spread: {fg['p50_spread'] * 100:.1f}% (target: within 10%); one answer for all.")
        add("")

    path = os.path.join(run, "mfa-login.json")
    if os.path.exists(path):
        ml = json.load(open(path))
        add(f"| login with a second factor, warm, interleaved (n={ml['n']} each) | p50 ms | p90 ms |")
        add("|---|---:|---:|")
        for kind, label in (("password_only", "password only: POST /login"),
                            ("step_one", "step one: POST /login (401 mfa_required)"),
                            ("step_two", "step two: POST /login/mfa (a recovery code)"),
                            ("two_steps", "both steps")):
            add(f"| {label} | {fmt(ml[kind]['p50_ms'], 1)} | {fmt(ml[kind]['p90_ms'], 1)} |")
        add(f"\nboth steps / password only, p50: {fmt(ml['ratio_p50'])}x (target: at most 1.2x).")
        add("")

    path = os.path.join(run, "revocation-read.json")
    if os.path.exists(path):
        rr = json.load(open(path))
        add("| revocation read on DynamoDB Local (interleaved) | p50 ms |")
        add("|---|---:|")
        add(f"| BatchGetItem of the three keys (what wristband does) | {fmt(rr['batchget_three_keys_p50_ms'], 3)} |")
        add(f"| GetItem of one key (a one-item design; the floor) | {fmt(rr['getitem_one_key_p50_ms'], 3)} |")
        add("")

    colds = sorted(glob.glob(os.path.join(run, "coldstart-fn-*.json")))
    if colds:
        add("| cold start, launch -> first answer (release, x86_64) | median ms | max ms |")
        add("|---|---:|---:|")
        for path in colds:
            c = json.load(open(path))
            add(f"| {os.path.basename(c['binary'])} | {fmt(c['median_ms'], 1)} | {fmt(max(c['runs_ms']), 1)} |")
        add("")

    path = os.path.join(run, "protected-vmhwm-kib.txt")
    if os.path.exists(path):
        peaks = [int(line.split()[1]) for line in open(path) if line.strip()]
        if peaks:
            add(f"Peak RSS of the /protected instances after the load: max {max(peaks) / 1024:.1f} MiB "
                f"over {len(peaks)} instances.")
            add("")
    path = os.path.join(run, "zip-sizes.txt")
    if os.path.exists(path):
        add("| arm64 deployment zip | bytes |")
        add("|---|---:|")
        for line in open(path):
            name, size = line.split()
            add(f"| {name.split('/')[-2]} | {int(size):,} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
