"""The one table ``make bench`` prints, the machine it ran on, and ``docs/benchmarks.md``."""

import os
import platform
import re
import time
from importlib import metadata
from pathlib import Path

from benchmarks.scenarios import Row

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin (written by make bench) -->", "<!-- bench:end -->"
PACKAGES = (
    "Django",
    "channels",
    "daphne",
    "Twisted",
    "autobahn",
    "channels-redis",
    "psycopg",
    "psycopg-pool",
    "websockets",
)


def _verdict(row: Row) -> str:
    return {True: "✓", False: "✗ MISSED", None: ""}[row.ok]


def table(rows: list[Row]) -> list[str]:
    """The one table, as Markdown (readable as plain text too)."""
    lines = ["| scenario | figure | goal | result | |", "| --- | --- | --- | --- | --- |"]
    lines += [
        f"| {row.scenario} | {row.figure} | {row.goal} | {row.result} | {_verdict(row)} |"
        for row in rows
    ]
    return lines


def _meminfo_total() -> str:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def machine(postgres: str, redis: str) -> list[str]:
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return [
        f"* {os.cpu_count()} CPUs ({_cpu_model()}), {_meminfo_total()} memory, "
        f"Linux {platform.release()}",
        f"* Python {platform.python_version()}; {versions}",
        f"* {postgres}; Redis {redis}",
    ]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def write_doc(
    *,
    rows: list[Row],
    details: list[str],
    machine_lines: list[str],
    settings_lines: list[str],
    load_before: str,
    load_after: str,
    minutes: float,
) -> None:
    """Replace the generated part of docs/benchmarks.md; hand-written text around it stays."""
    generated = [
        BEGIN,
        f"## Latest run: {time.strftime('%Y-%m-%d %H:%M %Z')} ({minutes:.1f} min)",
        "",
        *machine_lines,
        f"* load average (1/5/15 min) before: {load_before}; after: {load_after}",
        *settings_lines,
        "",
        *table(rows),
        "",
        *details,
        END,
    ]
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(pattern.sub(lambda _: "\n".join(generated), text))
