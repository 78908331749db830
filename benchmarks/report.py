"""The report: the machine, one table (absolute medians per scenario and tool, plus the
ratios mailcli/peer) and a JSON file with the same data."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

from benchmarks.measure import Result

TITLES = {
    "imap-initial": "IMAP initial sync (all folders)",
    "imap-nochange": "IMAP no-change resync",
    "imap-incremental": "IMAP resync after 100 new + 100 flag changes",
    "pop3-keep": "POP3 full download, keep mode (INBOX)",
    "pop3-nochange": "POP3 no-change re-run (keep mode)",
    "pop3-delete": "POP3 full download, delete mode (INBOX)",
    "imap-newest100": "IMAP first sync: newest 100 INBOX messages committed and listable after",
}


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "os": _os_release(), "python": platform.python_version()}


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def ratios(results: list[Result]) -> list[dict]:
    """mailcli / peer for every scenario where both have a median (wall, RSS, commands)."""
    out = []
    by = {(r.scenario, r.tool): r for r in results}
    for r in results:
        mc = by.get((r.scenario, "mailcli"))
        if r.tool == "mailcli" or mc is None:
            continue
        entry = {"scenario": r.scenario, "peer": r.tool, "wall": None, "peak_rss": None, "commands": None}
        a, b = mc.median("wall"), r.median("wall")
        if a is not None and b:
            entry["wall"] = a / b
        a, b = mc.max("rss_kb"), r.max("rss_kb")
        if a is not None and b:
            entry["peak_rss"] = a / b
        a, b = mc.median("commands"), r.median("commands")
        if a is not None and b:
            entry["commands"] = a / b
        out.append(entry)
    return out


def _f(v: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def table(data: dict) -> str:
    lines: list[str] = []
    m = data["machine"]
    lines.append(f"mailcli benchmarks  {data['date']}")
    lines.append(f"machine: {m['nproc']} CPU ({m['cpu']}), {m['memory']} RAM, kernel {m['kernel']}, "
                 f"{m['os']}, Python {m['python']}")
    lines.append("tools: " + ", ".join(f"{k} [{v}]" for k, v in data["versions"].items()))
    c = data["corpus"]
    folders = ", ".join(f"{k} {v['messages']}" for k, v in c["folders"].items())
    if c.get("n"):
        lines.append(f"mailbox: N={c['n']}: {c['messages']} messages, {c['bytes'] / 1e6:.0f} MB ({folders}); "
                     f"runs={data['args']['runs']} (median; tools alternate run by run)")
    if data["args"].get("rtt_ms"):
        lines.append(f"link: +{data['args']['rtt_ms']:g} ms round-trip time on every connection "
                     f"(loopback latency proxy, benchmarks/latency.py)")
    lines.append(f"peak RSS: {data['rss_method']}")
    lines.append("")
    ratio = {(x["scenario"], x["peer"]): x for x in data["ratios"]}
    head = f"  {'tool':<28}{'wall s':>9}{'min-max':>15}{'cpu s':>8}{'RSS MB':>8}{'cmds':>7}{'msgs':>8}{'ok':>5}  {'mailcli/tool':>12}"
    scenarios: dict[str, list[dict]] = {}
    for r in data["results"]:
        scenarios.setdefault(r["scenario"], []).append(r)
    for scen, rows in scenarios.items():
        lines.append(TITLES.get(scen, scen))
        lines.append(head)
        notes: list[str] = []
        for r in rows:
            name = r["tool"]
            bad = [x for x in r["runs"] if x.get("error") or x.get("rc")]
            if bad:
                notes.append(f"    {name}: {len(bad)} of {len(r['runs'])} runs failed, e.g. "
                             f"{(bad[0].get('error') or 'exit ' + str(bad[0].get('rc')))[:150]}")
            if r["status"] != "ok" or r["median_wall_s"] is None:
                lines.append(f"  {name:<28}{r['status'][:110]}")
                continue
            msgs = [x["messages"] for x in r["runs"] if x.get("messages") is not None]
            rr = ratio.get((scen, name), {})
            rt = "" if name == "mailcli" else (
                _f(rr.get("wall"), "{:.2f}x") if rr.get("wall") is not None else "n/a")
            if rr.get("commands") is not None:
                rt += f" ({rr['commands']:.2f}x cmds)"
            span = f"{r['min_wall_s']:.2f}-{r['max_wall_s']:.2f}"
            ok_runs = f"{len(r['runs']) - len(bad)}/{len(r['runs'])}"
            lines.append(f"  {name:<28}{r['median_wall_s']:>9.3f}{span:>15}{_f(r['median_cpu_s']):>8}"
                         f"{_f(r['peak_rss_kb'] / 1024 if r['peak_rss_kb'] else None, '{:.1f}'):>8}"
                         f"{_f(r['median_commands'], '{:.0f}'):>7}{(str(msgs[-1]) if msgs else '-'):>8}"
                         f"{ok_runs:>5}  {rt:>12}")
        for r in rows:
            totals = [x["total"] for x in r["runs"] if x.get("total") is not None]
            if totals:
                lines.append(f"    {r['tool']}: the whole fetch took "
                             + ", ".join(f"{t:.2f}" for t in totals) + " s")
        lines += notes
        lines.append("")
    if data["results"]:
        lines.append("wall = median of the successful runs; mailcli/tool = mailcli median / tool median "
                     "(< 1 means mailcli is faster); cmds = IMAP commands after login (rawlog)")
        lines.append("")
    if data.get("rss_scaling"):
        lines.append("Peak RSS growth N=1,000 -> N (MB)")
        for row in data["rss_scaling"]:
            lines.append(f"  {row['scenario']:<18}{row['tool']:<28}{_f(row['small_mb'], '{:.1f}'):>8} -> "
                         f"{_f(row['large_mb'], '{:.1f}'):>8}  ({_f(row['growth'], '{:.2f}x')})")
        lines.append("")
    local = data.get("local") or {}
    if local:
        lines.append("Local operations")
        h = local.get("help", {})
        if h.get("status") == "ok":
            lines.append(f"  mailcli --help               median {h['median_s'] * 1000:.0f} ms of {h['runs']} "
                         f"(min {h['min_s'] * 1000:.0f}, max {h['max_s'] * 1000:.0f}; target < 100 ms)")
        else:
            lines.append(f"  mailcli --help               {h.get('status', 'n/a')}")
        for name, sc in (local.get("scripts") or {}).items():
            if sc.get("status") != "ok":
                lines.append(f"  {name:<29}{sc.get('status')}")
                continue
            lines.append(f"  {name} ({sc['what']}; `python -m {sc['command']}`, {sc['seconds']:.0f} s):")
            lines += ["    " + ln for ln in sc["output"].splitlines()]
        lines.append("")
    return "\n".join(lines)


def build(args: dict, corpus: dict, versions: dict, rss_method: str, results: list[Result],
          rss_scaling: list[dict] | None, local: dict | None, started: dt.datetime) -> dict:
    return {
        "date": started.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        "machine": machine(), "versions": versions, "args": args, "corpus": corpus,
        "rss_method": rss_method,
        "results": [r.to_json() for r in results], "ratios": ratios(results),
        "rss_scaling": rss_scaling or [], "local": local or {},
    }


def _suffix(data: dict) -> str:
    rtt = data["args"].get("rtt_ms")
    return f"-rtt{rtt:g}" if rtt else ""


def write_json(data: dict, path: Path | None, started: dt.datetime) -> Path:
    if path is None:
        path = (Path(__file__).resolve().parent / "results"
                / f"{started.strftime('%Y-%m-%d')}-n{data['corpus']['n']}{_suffix(data)}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path
