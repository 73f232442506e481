"""The four scenarios of ``make bench`` (issue 9), each adding rows to one table.

1. connections held: ramp to 10,000 booted, heartbeating charge points; RSS and idle CPU;
2. command round trip across two daphne processes with the fleet connected;
3. throughput and latency of a realistic mix at rising rates, every message persisted;
4. reconnect storm: 5,000 charge points after a server restart, replaying queued sessions.

(The round trip runs second, while the 10,000 are still idle.)
"""

import asyncio
import http.client
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from benchmarks import checks
from benchmarks.stack import Stack, postgres_backend_pids, total_cpu, total_rss
from simulator.config import FleetConfig
from simulator.fleet import Fleet
from simulator.load import RateDriver
from simulator.stats import Stats, Window, percentile

TENANT = "bench"
PREFIX = "BENCH-"
KIB = 1024
# A rate is sustained while every action's p99 stays under this (issue 17: the side-by-side
# rig's criterion; 1 s before), and a reconnect storm must settle within this.
SUSTAINED_P99_MS = 150
STORM_WITHIN_SECONDS = 30


@dataclass
class Row:
    scenario: str
    figure: str
    goal: str
    result: str
    ok: bool | None = None  # None: information, no goal


@dataclass
class Bench:
    stack: Stack
    token: str
    scale: float = 1.0  # < 1 for a quick development run
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # Markdown for docs/benchmarks.md
    stats: Stats = field(default_factory=Stats)
    fleets: list[Fleet] = field(default_factory=list)
    idle_rate: float = 0.0  # CALLs/s of the idle fleet (heartbeats)
    errors_shown: Counter[str] = field(default_factory=Counter)

    def n(self, count: int) -> int:
        return max(10, int(count * self.scale))

    def add(self, *row: object) -> None:
        self.rows.append(Row(*row))  # type: ignore[arg-type]

    def detail(self, *lines: str) -> None:
        self.details.extend(lines)

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def say_errors(self) -> None:
        """What went wrong since the last call, as the fleet saw it."""
        new = self.stats.errors - self.errors_shown
        for kind, count in new.most_common(8):
            self.say(f"  error: {kind} x{count}")
        self.errors_shown = Counter(self.stats.errors)


def fleet_config(
    bench: Bench, *, start: int, count: int, seed: int, ramp: float = 10.0
) -> FleetConfig:
    return FleetConfig(
        urls=tuple(f"{server.ws_url}/ocpp/{TENANT}/" for server in bench.stack.servers),
        count=count,
        prefix=PREFIX,
        start_index=start,
        id_tag_prefix="BTAG-",
        connectors=2,
        charging_share=0.0,  # the load driver runs the sessions
        call_timeout=30.0,
        reconnect_delay=(1.0, 5.0),
        ramp_seconds=ramp,
        seed=seed,
    )


async def progress_while(bench: Bench, fleet: Fleet, condition: object, within: float) -> bool:
    """Wait for ``condition`` (a callable), printing a progress line every 5 s."""
    deadline = time.monotonic() + within
    last = 0.0
    while not condition():  # type: ignore[operator]
        now = time.monotonic()
        if now > deadline:
            return False
        if now - last >= 5:
            bench.say(fleet.progress_line())
            last = now
        await asyncio.sleep(0.1)
    return True


def _ok(value: float, goal: float) -> bool:
    return value <= goal


# --- 1. Connections held ----------------------------------------------------------------------


async def connections_held(bench: Bench, *, total: int = 10_000, idle_seconds: int = 30) -> None:
    total = bench.n(total)
    stack = bench.stack
    rss_before = total_rss(stack.pids)
    half = total // 2
    ramp = max(10.0, total / 170)  # about what the stack boots per second here
    fleets = [
        Fleet(fleet_config(bench, start=0, count=half, seed=1, ramp=ramp), stats=bench.stats),
        Fleet(
            fleet_config(bench, start=half, count=total - half, seed=2, ramp=ramp),
            stats=bench.stats,
        ),
    ]
    bench.fleets = fleets
    bench.say(f"scenario 1: {total:,} charge points connect over {ramp:.0f} s")
    started = time.monotonic()
    for fleet in fleets:
        await fleet.start()
    everyone = _Everyone(fleets)
    settled = await progress_while(bench, everyone, everyone.settled, ramp + 240)
    took = time.monotonic() - started
    bench.say(f"{everyone.progress_line()} (ramp took {took:.0f} s)")
    bench.say_errors()
    await asyncio.sleep(5)  # the last boots' follow-up work (hooks, tasks) settles

    pids = stack.pids
    database_pids = postgres_backend_pids("csms_bench")
    answered_before = bench.stats.total_answered
    cpu_before = total_cpu(pids) + total_cpu(database_pids)
    window_started = time.monotonic()
    await asyncio.sleep(idle_seconds * bench.scale if bench.scale < 1 else idle_seconds)
    elapsed = time.monotonic() - window_started
    cpu = (total_cpu(pids) + total_cpu(database_pids) - cpu_before) / elapsed * 100
    bench.idle_rate = (bench.stats.total_answered - answered_before) / elapsed
    held = bench.stats.booted
    rss = total_rss(pids)
    per_connection = rss / max(held, 1) / KIB
    marginal = (rss - rss_before) / max(held, 1) / KIB
    bench.add(
        "1 connections",
        "booted, heartbeating charge points held",
        f"≥ {total:,}",
        f"{held:,} (all booted in {took:.0f} s)" if settled else f"{held:,} (not all booted)",
        held >= total and settled,
    )
    bench.add(
        "1 connections",
        f"RSS per connection ({len(pids)} daphne processes, total RSS / connections)",
        "≤ 150 KiB",
        f"{per_connection:.0f} KiB ({rss / KIB / KIB:.0f} MiB; {marginal:.0f} KiB marginal)",
        _ok(per_connection, 150),
    )
    bench.add(
        "1 connections",
        "idle CPU of the stack (daphne + its PostgreSQL backends), % of one core",
        "≤ 25 %",
        f"{cpu:.1f} % ({bench.idle_rate:.0f} heartbeats/s)",
        _ok(cpu, 25),
    )
    bench.detail(
        "### 1. Connections held",
        "",
        f"{held:,} charge points (2 connectors each) connected and booted in {took:.0f} s "
        f"(ramp spread over {ramp:.0f} s, each: handshake, BootNotification, 3 "
        "StatusNotifications). Idle window "
        f"{elapsed:.0f} s: {bench.idle_rate:.0f} CALLs/s (heartbeats at the tenant's 300 s), "
        f"stack CPU {cpu:.1f} % of one core. daphne RSS {rss_before / KIB / KIB:.0f} MiB before, "
        f"{rss / KIB / KIB:.0f} MiB with the fleet. Generator: one asyncio process.",
        "",
    )


class _Everyone:
    """Several fleets seen as one (progress and settling)."""

    def __init__(self, fleets: list[Fleet]) -> None:
        self.fleets = fleets

    def settled(self) -> bool:
        return all(fleet.settled() for fleet in self.fleets)

    def progress_line(self) -> str:
        return self.fleets[0].progress_line()


# --- 2. Command round trip ----------------------------------------------------------------------


class _Api:
    """One keep-alive HTTP connection to the API of one daphne process."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def command(self, identity: str) -> tuple[float, int, str]:
        body = json.dumps(
            {"action": "TriggerMessage", "payload": {"requestedMessage": "Heartbeat"}}
        )
        started = time.perf_counter()
        self.connection.request(
            "POST", f"/api/v1/charge-points/{identity}/commands/?wait=10", body, self.headers
        )
        response = self.connection.getresponse()
        data = json.loads(response.read())
        return time.perf_counter() - started, response.status, data.get("status", "")


async def command_round_trip(bench: Bench, *, commands: int = 300) -> None:
    """API of process 2 → charge point connected to process 1 → back, sequentially."""
    first, second = bench.stack.servers[0], bench.stack.servers[1]
    targets = [
        cp.identity
        for fleet in bench.fleets
        for cp in fleet.charge_points
        if cp.online and cp.url.startswith(first.ws_url)
    ]
    commands = bench.n(commands)
    bench.say(
        f"scenario 2: {commands} commands via {second.http_url} to charge points on "
        f"{first.ws_url} ({bench.stats.booted:,} connected)"
    )
    api = _Api(second.http_url, bench.token)
    latencies: list[float] = []
    failures = 0
    try:
        for index in range(commands + 20):
            elapsed, status, state = await asyncio.to_thread(
                api.command, targets[index * 7 % len(targets)]
            )
            if index < 20:
                continue  # warm-up: pools, caches, code paths
            if status == 201 and state == "completed":
                latencies.append(elapsed * 1000)
            else:
                failures += 1
    finally:
        api.connection.close()
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    bench.add(
        "2 command round trip",
        f"API (process 2) → charge point (process 1) → API, p50 / p99, {commands} commands",
        "p99 ≤ 100 ms",
        f"{p50:.1f} / {p99:.1f} ms, max {max(latencies, default=0):.0f} ms, {failures} failed",
        _ok(p99, 100) and failures == 0,
    )
    bench.detail(
        "### 2. Command round trip",
        "",
        f"{commands} `TriggerMessage` commands, one at a time, `POST …/commands/?wait=10` to "
        f"process 2 for charge points connected to process 1, with {bench.stats.booted:,} "
        f"charge points connected: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max "
        f"{max(latencies, default=0):.1f} ms, {failures} failed.",
        "",
    )


# --- 3. Throughput and latency ------------------------------------------------------------------


@dataclass
class Step:
    rate: int
    seconds: float
    offered: int
    skipped: int
    window: Window

    @property
    def achieved(self) -> float:
        return self.window.total / self.seconds

    def p99(self, *actions: str) -> float:
        return max(
            (percentile(self.window.latencies_ms.get(a, []), 0.99) for a in actions),
            default=float("nan"),
        )

    def sustained(self) -> bool:
        every = list(self.window.latencies_ms)
        return (
            self.skipped <= 0.01 * self.offered
            and not self.window.errors
            and self.p99(*every) < SUSTAINED_P99_MS
        )


async def throughput(
    bench: Bench, *, rates: tuple[int, ...] = (250, 500, 750, 1000, 1250, 1500, 1750)
) -> None:
    online = [cp for fleet in bench.fleets for cp in fleet.charge_points if cp.online]
    pool = online[:: max(1, len(online) // bench.n(3000))]
    driver = RateDriver(pool, random.Random(3), charging_share=0.3)
    bench.say(f"scenario 3: warm-up, {driver.target_charging} of {len(pool)} start charging")
    await driver.warm_up(rate=400)
    step_seconds = 20 if bench.scale >= 1 else 5
    steps: list[Step] = []
    for rate in rates:
        rate = int(rate * bench.scale) if bench.scale < 1 else rate
        bench.stats.new_window()
        result = await driver.run(rate, step_seconds + (10 if rate == 500 else 0))
        window = bench.stats.new_window()
        step = Step(rate, result.seconds, result.offered, result.skipped, window)
        steps.append(step)
        await driver.drain(30)
        bench.say(
            f"  {rate:>5}/s offered: {step.achieved:,.0f}/s answered, {result.skipped} skipped, "
            f"p99 {step.p99(*window.latencies_ms):.0f} ms, errors {sum(window.errors.values())}"
        )
        if not step.sustained():
            break
    # Persisted? Every acknowledged session, meter value and CALL must be in the database.
    await driver.drain(60)
    await asyncio.sleep(1)
    in_flight = sum(cp.pending is not None for fleet in bench.fleets for cp in fleet.charge_points)
    ledger = [session for fleet in bench.fleets for session in fleet.ledger]
    stored = await asyncio.to_thread(checks.sessions_check, tenant_slug=TENANT, sessions=ledger)
    logged = await asyncio.to_thread(checks.inbound_calls_logged, tenant_slug=TENANT, prefix=PREFIX)
    answered, errors = bench.stats.total_answered, bench.stats.total_errors
    log_ok = answered <= logged <= answered + errors + in_flight
    persisted = stored.ok and log_ok
    bench.say(
        f"  database: {stored}; message log {logged:,} CALLs for {answered:,} answered "
        f"(+{errors} errors, {in_flight} in flight)"
    )
    sustained = [s for s in steps if s.sustained()]
    best = max((s.rate for s in sustained), default=0)
    bench.add(
        "3 throughput",
        f"highest rate sustained (every p99 < {SUSTAINED_P99_MS} ms), realistic mix, "
        "every message persisted (DB checked)",
        "≥ 1,000 msg/s",
        f"{best:,} msg/s ({len(steps)} steps; "
        f"{'all persisted' if persisted else 'NOT all persisted'})",
        best >= 1000 and persisted,
    )
    at_500 = next(
        (s for s in steps if s.rate == (500 if bench.scale >= 1 else int(500 * bench.scale))), None
    )
    if at_500 is not None:
        light = at_500.p99("Heartbeat", "StatusNotification")
        heavy = at_500.p99("StartTransaction", "StopTransaction", "MeterValues")
        bench.add(
            "3 throughput",
            "p99 Heartbeat, StatusNotification at 500 msg/s",
            "≤ 50 ms",
            " / ".join(
                f"{percentile(at_500.window.latencies_ms.get(a, []), 0.99):.0f}"
                for a in ("Heartbeat", "StatusNotification")
            )
            + " ms",
            _ok(light, 50),
        )
        bench.add(
            "3 throughput",
            "p99 StartTransaction, StopTransaction, MeterValues at 500 msg/s",
            "≤ 150 ms",
            " / ".join(
                f"{percentile(at_500.window.latencies_ms.get(a, []), 0.99):.0f}"
                for a in ("StartTransaction", "StopTransaction", "MeterValues")
            )
            + " ms",
            _ok(heavy, 150),
        )
    bench.detail(
        *_throughput_details(steps, stored, logged, answered, errors, in_flight, len(pool))
    )


def _throughput_details(
    steps: list[Step],
    stored: checks.SessionCheck,
    logged: int,
    answered: int,
    errors: int,
    in_flight: int,
    pool: int,
) -> list[str]:
    lines = [
        "### 3. Throughput and latency",
        "",
        f"{pool:,} of the connected charge points take steps of the realistic mix (≈ 55 % "
        "MeterValues with 9 sampled values, 37 % Heartbeat, the rest session starts and stops: "
        "StatusNotification, Authorize, Start/StopTransaction), 30 % of them charging; the "
        "others keep heartbeating. Latency: CALL sent → CALLRESULT received, in the generator.",
        "",
        "| offered msg/s | answered msg/s | skipped | action | n | p50 ms | p99 ms | p99.9 ms |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for step in steps:
        first = True
        for action in sorted(step.window.latencies_ms):
            values = step.window.latencies_ms[action]
            head = (
                f"| {step.rate:,} | {step.achieved:,.0f} | {step.skipped:,} " if first else "| | | "
            )
            lines.append(
                f"{head}| {action} | {len(values):,} | {percentile(values, 0.5):.1f} | "
                f"{percentile(values, 0.99):.1f} | {percentile(values, 0.999):.1f} |"
            )
            first = False
    lines += [
        "",
        f"Database check: {stored.sessions:,} sessions acknowledged, {stored.found:,} stored "
        f"exactly once, {stored.lost} lost, {stored.duplicated} duplicated; "
        f"{stored.meter_values_found:,} meter values stored for "
        f"{stored.meter_values_expected:,} acknowledged; message log: {logged:,} inbound CALLs "
        f"for {answered:,} answered (+{errors} errors, {in_flight} in flight).",
        "",
    ]
    return lines


# --- 4. Reconnect storm -------------------------------------------------------------------------


async def reconnect_storm(
    bench: Bench, *, samples: int = 2, flaky_share: float = 0.1, within: float = 180
) -> None:
    storm_fleet, other = bench.fleets[0], bench.fleets[1]
    bench.say(f"scenario 4: closing {len(other.charge_points):,} charge points")
    await other.stop()
    count = len(storm_fleet.charge_points)
    storm_fleet.hold()
    bench.say(f"restarting the servers under {count:,} connected charge points")
    bench.stack.stop()
    await storm_fleet.wait_until(lambda: bench.stats.connected == 0, within=60)
    marker = len(storm_fleet.ledger)
    queued = storm_fleet.charge_offline(samples=samples, interval=60)
    rng = random.Random(4)
    for cp in rng.sample(storm_fleet.charge_points, int(flaky_share * count)):
        cp.lose_next_answer = True  # the network fails again mid-replay: retried, new id
    messages = storm_fleet.queued()
    await asyncio.to_thread(bench.stack.start)
    pending_before = bench.stats.pending_boots
    bench.stats.new_window()
    started = time.monotonic()
    storm_fleet.release(jitter=0)
    all_booted = None

    def booted() -> bool:
        return bench.stats.booted >= count

    settled = False
    deadline = started + within
    while time.monotonic() < deadline:
        if all_booted is None and booted():
            all_booted = time.monotonic() - started
        if storm_fleet.settled():
            settled = True
            break
        await asyncio.sleep(0.1)
    took = time.monotonic() - started
    window = bench.stats.new_window()
    bench.say(f"{storm_fleet.progress_line()} (storm took {took:.1f} s)")
    for line in _latency_lines(window):
        bench.say(f"  {line}")
    bench.say_errors()
    sessions = storm_fleet.ledger[marker:]
    earlier = frozenset(
        session.transaction_id
        for fleet in bench.fleets
        for session in fleet.ledger[: marker if fleet is storm_fleet else None]
        if session.transaction_id is not None
    )
    stored = await asyncio.to_thread(
        checks.sessions_check, tenant_slug=TENANT, sessions=sessions, elsewhere=earlier
    )
    acknowledged = sum(s.start_acked and s.stop_acked for s in sessions)
    lost = stored.lost + (len(sessions) - acknowledged)
    pending = bench.stats.pending_boots - pending_before
    bench.add(
        "4 reconnect storm",
        f"{count:,} charge points after a server restart: all booted and "
        f"{messages:,} queued transaction messages acknowledged",
        f"≤ {STORM_WITHIN_SECONDS} s",
        f"{took:.1f} s (all booted after {all_booted or float('nan'):.1f} s; "
        f"{pending:,} boots answered Pending)"
        if settled
        else f"not settled after {within:.0f} s",
        settled and took <= STORM_WITHIN_SECONDS,
    )
    bench.add(
        "4 reconnect storm",
        f"{queued:,} offline sessions replayed: lost / duplicated in the database",
        "0 / 0",
        f"{lost} / {stored.duplicated} ({stored.meter_values_found:,} meter values)",
        lost == 0 and stored.duplicated == 0 and stored.unmatched == 0,
    )
    bench.detail(
        "### 4. Reconnect storm",
        "",
        f"{count:,} connected charge points; both daphne processes restarted (SIGTERM); while "
        f"they were down every charge point queued one session (StartTransaction, {samples} "
        f"MeterValues, StopTransaction: {messages:,} messages); {int(flaky_share * count):,} of "
        "them lose the connection again right after their first replayed message was answered "
        "(so it is retried with a new message id). All reconnect at once when the servers "
        f"listen again. All booted after {all_booted or float('nan'):.1f} s, everything "
        f"acknowledged after {took:.1f} s; {pending:,} BootNotifications answered Pending "
        f"(admission control). Errors seen by the fleet: {dict(window.errors) or 'none'}.",
        "",
        *[f"    {line}" for line in _latency_lines(window)],
        "",
        f"Database check: {stored.sessions:,} sessions, {stored.found:,} stored exactly once, "
        f"{stored.lost} lost, {stored.duplicated} duplicated, {stored.unmatched} unmatched; "
        f"{stored.meter_values_found:,} meter values for {stored.meter_values_expected:,} "
        "acknowledged.",
        "",
    )


def _latency_lines(window: Window) -> list[str]:
    from simulator.stats import latency_table

    return latency_table(window)
