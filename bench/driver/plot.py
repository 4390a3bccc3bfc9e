#!/usr/bin/python3
"""Plots fan-out throughput and latency against subscriber count from a bench results file.

usage: plot.py RESULTS.json OUT_DIR   -> prints a JSON list of {"file", "title"} for the report
"""
import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "peercable": "peercable, 1 loop",
    "peercable-2t": "peercable, 2 loops",
    "uws": "uWebSockets.js",
    "ws": "Node ws",
    "rails": "Rails 6.1 Action Cable",
}
STYLE = {"peercable": "o-", "peercable-2t": "o--", "uws": "s-", "ws": "^-", "rails": "v-"}


def series(results, groups, server, key):
    """(clients, median, min, max) per fan-out group for one server."""
    xs, med, lo, hi = [], [], [], []
    for g in groups:
        vals = [r["result"][key] for r in results
                if r["group"] == g["id"] and r["server"] == server and r.get("result") and key in r["result"]]
        if not vals:
            continue
        xs.append(g["clients"])
        med.append(statistics.median(vals))
        lo.append(min(vals))
        hi.append(max(vals))
    return xs, med, lo, hi


def draw(ax, results, groups, servers, key):
    for s in servers:
        xs, med, lo, hi = series(results, groups, s, key)
        if not xs:
            continue
        err = [[m - a for m, a in zip(med, lo)], [b - m for m, b in zip(med, hi)]]
        ax.errorbar(xs, med, yerr=err, fmt=STYLE.get(s, "o-"), capsize=3, label=LABELS.get(s, s))
    ax.set_xscale("log")
    ax.set_xlabel("subscribers")
    ax.grid(True, which="both", alpha=0.3)


def main():
    results_file, out_dir = sys.argv[1], sys.argv[2]
    data = json.load(open(results_file))
    results = data["results"]
    groups = sorted((g for g in data["groups"] if g.get("sweep") == "fanout"), key=lambda g: g["clients"])
    servers = [s for s in data["servers"] if any(r["server"] == s for r in results)]
    made = []
    if len(groups) < 2:
        print(json.dumps(made))
        return
    cpu = f'{data["machine"]["cpu"]}, {data["machine"]["nproc"]} cores'

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    draw(ax, results, groups, servers, "deliveries_per_s")
    ax.set_yscale("log")
    ax.set_ylabel("deliveries per second (median, min–max)")
    ax.set_title(f"Fan-out throughput vs subscribers\n{cpu}", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(f"{out_dir}/fanout-throughput.png", dpi=110)
    made.append({"file": "fanout-throughput.png", "title": "fan-out throughput vs subscribers"})

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, key, name in ((axes[0], "latency_p50_ms", "p50"), (axes[1], "latency_p99_ms", "p99")):
        draw(ax, results, groups, servers, key)
        ax.set_yscale("log")
        ax.set_title(f"fan-out delivery latency {name}", fontsize=10)
    axes[0].set_ylabel("ms (median of runs, min–max)")
    axes[1].legend()
    fig.suptitle(cpu, fontsize=9)
    fig.tight_layout()
    fig.savefig(f"{out_dir}/fanout-latency.png", dpi=110)
    made.append({"file": "fanout-latency.png", "title": "fan-out latency vs subscribers"})
    print(json.dumps(made))


if __name__ == "__main__":
    main()
