#!/usr/bin/env python3
"""Renders bench/pipeline.sh's results as markdown.

    report.py STAGES.json RUNS.jsonl RSS_FRESH_KB

STAGES.json: lmcgw-stages' JSON line. RUNS.jsonl: one lmcgw-loadgen JSON line
per run, told apart by their labels (peak, open70, open70-no200k, size-*,
conns-*, idle-10000, soak)."""
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def ms(v):
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def cls(runs, label, name):
    for c in runs[label]["classes"]:
        if c["name"] == name:
            return c
    return None


def main():
    stages = load(sys.argv[1])[-1]
    runs = {r["label"]: r for r in load(sys.argv[2])}
    rss_fresh = int(sys.argv[3] or 0)
    cores = stages["cores"]
    # The broker's CPU per message is not in the limit (it is another program),
    # but on this machine it shares the cores: give the limit with it too.
    wsum = sum(f["weight"] for f in stages["files"])
    broker_us = sum(f["weight"] * next((s["cpu_us"] or 0 for s in f["stages"] if s["name"].startswith("Kafka broker")), 0)
                    for f in stages["files"]) / wsum
    limit = stages["limit_machine"]
    limit_b = cores * 1e6 / (stages["mix_us"] + broker_us)

    peak = runs["peak"]
    o = peak["overall"]
    gw, broker = (peak["watch"] + [None, None])[:2]
    print("## Summary\n")
    print("| figure | value | target |\n|---|---:|---|")
    print(f"| limit: sum of stages, mix, {cores} cores | {limit:,.0f} msgs/s ({stages['mix_us']:.0f} µs CPU a message) | |")
    print(f"| limit counting the broker's CPU too | {limit_b:,.0f} msgs/s (+{broker_us:.0f} µs broker CPU a message) | |")
    print(f"| pipeline throughput (closed loop, {peak['conns']} conns, all 202) | {o['ok_rate']:,.0f} msgs/s "
          f"({o['other']} not 202) | |")
    print(f"| ratio to the limit | **{o['ok_rate'] / limit:.0%}** (to the limit with broker: {o['ok_rate'] / limit_b:.0%}) | ≥ 85 % |")
    if gw:
        print(f"| gateway CPU per message | {gw['cpu_ms_per_answer'] * 1e3:.0f} µs ({gw['cores']:.2f} cores busy) | |")
    if broker:
        print(f"| broker CPU per message | {broker['cpu_ms_per_answer'] * 1e3:.0f} µs ({broker['cores']:.2f} cores busy) | |")
    if gw:
        print(f"| gateway peak RSS (VmHWM) after the peak run | {gw['hwm_kb'] / 1024:.1f} MB | |")
    o70 = runs.get("open70")
    if o70:
        a = o70["overall"]
        print(f"| p99 at 70% of peak (open loop, {o70['rate_target']:.0f} msgs/s) | {ms(a['p99_ms'])} ms "
              f"(p50 {ms(a['p50_ms'])}, p99.9 {ms(a['p999_ms'])}) | ≤ 10 ms |")
        p = o70.get("probe")
        if p:
            print(f"| /healthz from outside at 70% of peak (event-loop lag + network) | p99 {ms(p['p99_ms'])} ms, "
                  f"max {ms(p['max_ms'])} ms | stall ≤ 1 ms |")
    small = runs.get("open70-no200k")
    if o70 and small:
        w, wo = cls(runs, "open70", "decl-4k"), cls(runs, "open70-no200k", "decl-4k")
        if w and wo and wo["p99_ms"] > 0:
            print(f"| 4 KB p99 with / without the 5% of 200 KB (same rate) | {ms(w['p99_ms'])} / {ms(wo['p99_ms'])} ms "
                  f"= **{w['p99_ms'] / wo['p99_ms']:.2f}×** | ≤ 1.5× |")
    idle = runs.get("idle-10000")
    if idle and idle["watch"]:
        r = idle["watch"][0]["rss_kb"]
        print(f"| RSS with {idle['up']:,} idle keep-alive connections | {r / 1024:.1f} MB (fresh: {rss_fresh / 1024:.1f} MB, "
              f"{(r - rss_fresh) / max(idle['up'], 1):.1f} KB a connection; each had one request answered first) | ≤ 200 MB |")
    soak = runs.get("soak")
    if soak and soak["watch"] and soak["watch"][0]["rss_samples_kb"]:
        s = [v for v in soak["watch"][0]["rss_samples_kb"] if v > 0]
        third = s[len(s) // 3] if len(s) >= 3 else s[0]
        growth = (s[-1] - third) / third if third else 0
        verdict = "flat" if abs(growth) < 0.05 else "GROWS" if growth > 0 else "shrinks"
        print(f"| RSS over the {soak['duration_s']:.0f} s soak (50% of peak), {len(s)} samples | "
              f"{s[0] / 1024:.1f} → {max(s) / 1024:.1f} max → {s[-1] / 1024:.1f} MB; from a third in: {growth:+.1%}, "
              f"**{verdict}** | flat |")

    print("\n## Latency per class\n")
    print("| run | class | bytes | 202/s | not 202 | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label in ("peak", "open70", "open70-no200k"):
        r = runs.get(label)
        if not r:
            continue
        for c in r["classes"] + [r["overall"]] + ([r["probe"]] if "probe" in r else []):
            print(f"| {label} | {c['name']} | {c['bytes']} | {c['ok_rate']:.0f} | {c['other']} | {ms(c['p50_ms'])} | "
                  f"{ms(c['p90_ms'])} | {ms(c['p99_ms'])} | {ms(c['p999_ms'])} | {ms(c['max_ms'])} |")

    print("\n## Scaling: message size (closed loop, 32 connections)\n")
    print("| message | bytes | msgs/s (202) | MB/s | not 202 | p50 ms | p99 ms | gateway CPU µs/msg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in ("1k", "4k", "20k", "200k", "1m"):
        r = runs.get(f"size-{s}")
        if not r:
            continue
        c = r["overall"]
        cpu = r["watch"][0]["cpu_ms_per_answer"] * 1e3 if r["watch"] else 0
        other = f"{c['other']}" + (f" ({c['status']['4xx']} 4xx, {c['status']['5xx']} 5xx, {c['status']['none']} lost)"
                                   if c["other"] else "")
        print(f"| size-{s} | {c['bytes']} | {c['ok_rate']:.0f} | {c['ok_rate'] * c['bytes'] / 1e6:.1f} | {other} | "
              f"{ms(c['p50_ms'])} | {ms(c['p99_ms'])} | {cpu:.0f} |")

    print("\n## Scaling: connections (closed loop, decl-4k)\n")
    print("| connections | up | connection errors | msgs/s (202) | not 202 | p50 ms | p99 ms | max ms | gateway RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (1, 10, 100, 1000, 10000):
        r = runs.get(f"conns-{n}")
        if not r:
            continue
        c = r["overall"]
        rss = r["watch"][0]["rss_kb"] / 1024 if r["watch"] else 0
        print(f"| {n} | {r['up']} | {r['conn_errors']} | {c['ok_rate']:.0f} | {c['other']} | {ms(c['p50_ms'])} | {ms(c['p99_ms'])} | "
              f"{ms(c['max_ms'])} | {rss:.1f} |")
    if "conns-10000" not in runs:
        print("| 10000 | – | – | – | – | – | – | – | left to the full run (quick mode) |")
    print("\n`up` below the count: connections still in their TLS handshake when the run began (after 60 s). "
          "In a closed loop every connection has one message in flight, so from about 100 connections on the "
          "latency is mostly the queue (Little's law: connections / throughput); answers slower than the run are "
          "not counted.")


if __name__ == "__main__":
    main()
