"""The `bench alerts` figure: one ticker's signal with its injected shifts and its alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from marketpulse.alerts.bench import SIGNAL_RULES, Injection
from marketpulse.core.messages import Alert


def plot(path: Path, ticker: str, trace, injections: list[Injection], alerts: list[Alert], params) -> None:
    """One ticker: z-score over the whole range, then a 6-hour zoom on its first injected shift
    (short EWMA, baseline, z). Injections are vertical lines, shift/drift alerts black triangles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not trace:
        return
    mine = [i for i in injections if i.ticker == ticker]
    opened = [a for a in alerts if a.entity == ticker and a.entity_kind == "ticker" and a.state == "open"
              and a.rule in SIGNAL_RULES]
    t = [datetime.fromtimestamp(x[0], UTC) for x in trace]
    fig, axes = plt.subplots(3, 1, figsize=(13, 10))
    zoom = (mine[0].t0 - timedelta(hours=3), mine[0].t0 + timedelta(hours=3)) if mine else (t[0], t[-1])
    inside = [k for k, x in enumerate(t) if zoom[0] <= x <= zoom[1]]
    axes[0].plot(t, [x[1] for x in trace], lw=0.6, color="tab:purple")
    axes[0].set_title(f"{ticker}: z of the short EWMA against the baseline, whole range")
    axes[1].plot([t[k] for k in inside], [trace[k][2] for k in inside], lw=1, marker=".", label="short EWMA")
    axes[1].plot([t[k] for k in inside], [trace[k][3] for k in inside], lw=1.2, label="baseline mean")
    axes[1].set_title("zoom on the first injected shift: confidence-weighted short EWMA and baseline")
    axes[2].plot([t[k] for k in inside], [trace[k][1] for k in inside], lw=1, marker=".", color="tab:purple",
                 label="z")
    axes[2].set_title("zoom: z (dashed: ±z_open)")
    for ax in (axes[0], axes[2]):
        for level in (params.z_open, -params.z_open):
            ax.axhline(level, color="grey", ls="--", lw=0.8)
    for ax, lo, hi in ((axes[0], t[0], t[-1]), (axes[1], *zoom), (axes[2], *zoom)):
        for inj in mine:
            if lo <= inj.t0 <= hi:
                ax.axvline(inj.t0, color="tab:red" if inj.direction == "negative" else "tab:green", alpha=0.6)
        for a in opened:
            if lo <= a.event_time <= hi and ax is not axes[1]:
                ax.plot(a.event_time, a.values.get("z", 0.0), marker="v", color="black", ms=7)
    for ax in axes[1:]:
        ax.set_xlim(*zoom)
    axes[1].legend(loc="lower left", fontsize=8)
    fig.suptitle("injections: red = negative, green = positive; alerts: black triangles")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
