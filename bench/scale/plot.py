#!/usr/bin/python3
"""Plots a bench/scale results file: connect time, memory per connection and broadcast latency against
the number of connections (the Redis cluster steps as lines, the single node on its own as a marker).

usage: plot.py RESULTS.json OUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    data = json.load(open(sys.argv[1]))
    steps = [s for s in data["steps"] if s.get("clients_ready")]
    cluster = sorted((s for s in steps if not s["single"]), key=lambda s: s["clients"])
    single = [s for s in steps if s["single"]]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))

    def draw(ax, key, label, style="o-"):
        xs = [s["clients"] for s in cluster if key(s) is not None]
        ax.plot(xs, [key(s) for s in cluster if key(s) is not None], style, label=label)

    def single_point(ax, key):
        for s in single:
            if key(s) is not None:
                ax.plot([s["clients"]], [key(s)], "D", color="black", label="one node, no Redis")

    ax = axes[0]
    draw(ax, lambda s: s["connect_s"], "Redis cluster")
    single_point(ax, lambda s: s["connect_s"])
    ax.set_title(f"connect + subscribe, all clients (paced at {data['options']['connectRate']:.0f}/s)")
    ax.set_ylabel("seconds")

    ax = axes[1]
    draw(ax, lambda s: s["bytes_per_conn"] / 1024, "Redis cluster")
    single_point(ax, lambda s: s["bytes_per_conn"] / 1024)
    ax.set_title("server memory per connection (RSS growth)")
    ax.set_ylabel("KiB")
    ax.set_ylim(bottom=0)

    ax = axes[2]
    b = lambda k: (lambda s: s["broadcast"][k] if s.get("broadcast") else None)  # noqa: E731
    draw(ax, b("p50_ms"), "p50", "o-")
    draw(ax, b("p99_ms"), "p99", "s-")
    draw(ax, b("max_ms"), "max", "^:")
    for s in single:
        if s.get("broadcast"):
            ax.plot([s["clients"]] * 2, [s["broadcast"]["p50_ms"], s["broadcast"]["p99_ms"]], "D", color="black",
                    label="one node: p50, p99")
    ax.axhline(1000, color="red", lw=0.8, ls="--", label="1 s target (p99)")
    ax.set_title("one broadcast to every client (medians of rounds)")
    ax.set_ylabel("ms from send to receipt")
    ax.set_yscale("log")

    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("connections")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"peercable nodes joined through Redis on one {data['cores']}-core machine "
                 f"({data['date'][:10]}, {data['commit']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=90)


if __name__ == "__main__":
    main()
