"""``python manage.py simulate``: a fleet of simulated charge points against a Central System.
The examples of ``--help`` (EXAMPLES below) show what an operator does with it."""

import asyncio
import random
import signal
from argparse import ArgumentParser, ArgumentTypeError, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any

from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
)

from simulator.answers import AnswerBook
from simulator.config import DEFAULT_URL, FleetConfig
from simulator.faults import Fault, parse_fault
from simulator.fleet import Fleet
from simulator.load import RateDriver
from simulator.status_flows import DIAGNOSTICS_OUTCOMES, FIRMWARE_OUTCOMES

EXAMPLES = """examples:
  # one charger, named as in the README, against `make run` (tenant "sim" created for it)
  manage.py simulate --provision --identity CP-0001

  # 500 chargers SIM-00000… charging on their own
  manage.py simulate --provision --count 500

  # connector 1 faults with GroundFailure after 30 s, recovers at 90 s; a reboot at 120 s;
  # the network goes for 20 s at 150 s (transaction messages are queued and replayed)
  manage.py simulate --provision --identity CP-0001 --fault 30:faulted:1:GroundFailure \\
      --fault 90:recover:1 --fault 120:reboot --fault 150:offline:20

  # a charger whose firmware installation fails, and whose diagnostics upload fails
  manage.py simulate --identity CP-0001 --firmware-outcome InstallationFailed \\
      --diagnostics-outcome UploadFailed

  # answer Reset with Rejected and GetLocalListVersion with version 4
  manage.py simulate --identity CP-0001 --answer Reset=Rejected \\
      --answer 'GetLocalListVersion={"listVersion": 4}'

  # another Central System, with Basic auth (security profile 1/2)
  manage.py simulate --url wss://csms.example.com/ocpp/acme/ --count 20 --password s3cret

  # a load test: 2,000 chargers, 300 CALLs/s of the realistic mix for two minutes
  manage.py simulate --provision --count 2000 --rate 300 --duration 120

  # a reconnect storm: every socket drops after 60 s, all come back 20 s later
  manage.py simulate --provision --count 1000 --storm-after 60 --storm-offline 20
"""


class _HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Django's option order, with the examples' line breaks kept."""


def fault_spec(text: str) -> Fault:
    try:
        return parse_fault(text)
    except ValueError as exc:
        raise ArgumentTypeError(str(exc)) from None


def seconds_range(text: str) -> tuple[float, float]:
    """``"30"`` or ``"30:90"`` seconds."""
    low, _, high = text.partition(":")
    try:
        pair = (float(low), float(high or low))
    except ValueError:
        raise ArgumentTypeError(f"{text!r}: expected SECONDS or MIN:MAX") from None
    if pair[0] < 0 or pair[1] < pair[0]:
        raise ArgumentTypeError(f"{text!r}: expected 0 <= MIN <= MAX")
    return pair


class Command(BaseCommand):
    help = "Simulate a fleet of OCPP 1.6-J charge points against a Central System."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("epilog", EXAMPLES)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: ArgumentParser) -> None:
        where = parser.add_argument_group("where")
        where.add_argument("--tenant", default="sim", help="tenant slug of the default URL")
        where.add_argument(
            "--url",
            action="append",
            help=f"OCPP endpoint without the identity (default {DEFAULT_URL}); repeat it to "
            "spread the fleet over several server processes",
        )
        where.add_argument("--password", help="HTTP Basic-auth password of every charge point")
        where.add_argument(
            "--provision",
            action="store_true",
            help="create the tenant, charge points and idTags in this project's database first",
        )
        fleet = parser.add_argument_group("fleet")
        fleet.add_argument("--count", type=int, default=10)
        fleet.add_argument(
            "--identity",
            action="append",
            default=[],
            metavar="IDENTITY",
            help="an exact charge point identity (repeat it for several; replaces --count "
            "and --prefix)",
        )
        fleet.add_argument("--prefix", default="SIM-", help="identity prefix (SIM-00000, …)")
        fleet.add_argument("--start-index", type=int, default=0)
        fleet.add_argument("--id-tag-prefix", default="SIMTAG-")
        fleet.add_argument("--connectors", type=int, default=2)
        fleet.add_argument("--ramp", type=float, default=10.0, help="spread connects over S s")
        fleet.add_argument("--seed", type=int)
        behaviour = parser.add_argument_group("behaviour")
        behaviour.add_argument("--charging-share", type=float, default=0.3)
        behaviour.add_argument("--meter-interval", type=float, default=60.0)
        behaviour.add_argument("--session-seconds", type=seconds_range, default=(1800, 5400))
        behaviour.add_argument("--idle-seconds", type=seconds_range, default=(300, 1800))
        behaviour.add_argument(
            "--heartbeat-interval", type=float, help="override the server's interval"
        )
        behaviour.add_argument("--call-timeout", type=float, default=30.0)
        behaviour.add_argument(
            "--no-boot-on-reconnect",
            action="store_true",
            help="after the first boot, reconnect without a BootNotification",
        )
        behaviour.add_argument(
            "--answer",
            action="append",
            default=[],
            metavar="ACTION=ANSWER",
            help="answer a Central-System call: Reset=Rejected, "
            'GetLocalListVersion={"listVersion": 3}, Reset=!NotSupported',
        )
        behaviour.add_argument("--answers-file", type=Path, help="JSON {action: answer}")
        flows = parser.add_argument_group("faults and status flows")
        flows.add_argument(
            "--fault",
            action="append",
            default=[],
            type=fault_spec,
            metavar="AT:KIND[:ARGS]",
            help="inject a fault AT seconds after the start into every charge point: "
            "AT:faulted[:CONNECTOR[:ERROR_CODE[:VENDOR_CODE]]], AT:recover[:CONNECTOR], "
            "AT:reboot, AT:offline:SECONDS",
        )
        flows.add_argument(
            "--firmware-outcome",
            choices=FIRMWARE_OUTCOMES,
            default="Installed",
            help="how UpdateFirmware ends: Downloading, Downloaded, Installing, then this "
            "(Installed reboots with the new version)",
        )
        flows.add_argument(
            "--firmware-version-after",
            default="",
            help="the version booted after an install (default: the location's file name "
            "without its extension)",
        )
        flows.add_argument(
            "--diagnostics-outcome",
            choices=DIAGNOSTICS_OUTCOMES,
            default="Uploaded",
            help="how GetDiagnostics ends: Uploading, the file PUT to the location, then this",
        )
        flows.add_argument(
            "--status-step",
            type=float,
            default=1.0,
            metavar="SECONDS",
            help="between two firmware/diagnostics status notifications",
        )
        run = parser.add_argument_group("run")
        run.add_argument("--duration", type=float, help="seconds (default: until Ctrl-C)")
        run.add_argument("--rate", type=float, help="also drive CALLs/s of the realistic mix")
        run.add_argument("--storm-after", type=float, help="drop every socket after S s")
        run.add_argument("--storm-offline", type=float, default=10.0, help="stay offline S s")
        run.add_argument(
            "--storm-jitter", type=float, default=0.0, help="reconnect over S s (0: at once)"
        )
        run.add_argument("--progress-every", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            answers = AnswerBook.parse(
                options["answer"],
                options["answers_file"].read_text() if options["answers_file"] else None,
            )
        except (ValueError, OSError) as exc:
            raise CommandError(f"answers: {exc}") from exc
        identities = tuple(options["identity"])
        if len(set(identities)) != len(identities):
            raise CommandError("--identity: each identity once")
        config = FleetConfig(
            urls=tuple(options["url"] or [DEFAULT_URL.format(tenant=options["tenant"])]),
            count=len(identities) or options["count"],
            identities=identities,
            prefix=options["prefix"],
            start_index=options["start_index"],
            id_tag_prefix=options["id_tag_prefix"],
            connectors=options["connectors"],
            password=options["password"],
            # With --rate the driver runs the sessions; otherwise the charge points do.
            charging_share=0.0 if options["rate"] else options["charging_share"],
            meter_interval=options["meter_interval"],
            session_seconds=options["session_seconds"],
            idle_seconds=options["idle_seconds"],
            heartbeat_interval=options["heartbeat_interval"],
            ramp_seconds=options["ramp"],
            call_timeout=options["call_timeout"],
            boot_on_reconnect=not options["no_boot_on_reconnect"],
            faults=tuple(options["fault"]),
            firmware_outcome=options["firmware_outcome"],
            firmware_version_after=options["firmware_version_after"],
            diagnostics_outcome=options["diagnostics_outcome"],
            status_step_seconds=options["status_step"],
            seed=options["seed"],
        )
        if options["provision"]:
            from simulator.provision import fleet_provision

            done = fleet_provision(tenant_slug=options["tenant"], config=config)
            self.stdout.write(
                f"provisioned tenant {done.tenant.slug}: {done.charge_points_created} new charge "
                f"points, {done.id_tags_created} new idTags"
            )
        fleet = Fleet(config, answers)
        asyncio.run(self._run(fleet, options))
        for line in fleet.summary():
            self.stdout.write(line)

    async def _run(self, fleet: Fleet, options: dict[str, Any]) -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        await fleet.start()
        progress = asyncio.create_task(
            fleet.show_progress(
                lambda text: self.stdout.write(text, ending=""),
                live=self.stdout.isatty(),
                every=options["progress_every"],
            )
        )
        jobs = []
        if options["rate"]:
            jobs.append(
                asyncio.create_task(self._drive(fleet, options["rate"], options["charging_share"]))
            )
        if options["storm_after"] is not None:
            jobs.append(asyncio.create_task(self._storm(fleet, options)))
        try:
            await asyncio.wait_for(stopped.wait(), options["duration"])
        except TimeoutError:
            pass
        finally:
            for job in [*jobs, progress]:
                job.cancel()
            await asyncio.gather(*jobs, progress, return_exceptions=True)
            await fleet.stop()

    async def _drive(self, fleet: Fleet, rate: float, charging_share: float) -> None:
        await fleet.wait_until(
            lambda: fleet.stats.booted >= 0.9 * len(fleet.charge_points),
            within=fleet.config.ramp_seconds + 60,
        )
        driver = RateDriver(
            [cp for cp in fleet.charge_points if cp.online],
            random.Random(fleet.config.seed),  # noqa: S311 - a simulation, not a secret
            charging_share=charging_share,
        )
        await driver.warm_up(rate)
        while True:
            await driver.run(rate, 60)

    async def _storm(self, fleet: Fleet, options: dict[str, Any]) -> None:
        await asyncio.sleep(options["storm_after"])
        self.stdout.write(f"storm: dropping {fleet.stats.connected} sockets")
        fleet.drop_all()
        await asyncio.sleep(options["storm_offline"])
        self.stdout.write("storm: reconnecting")
        started = asyncio.get_running_loop().time()
        fleet.release(options["storm_jitter"])
        if await fleet.wait_until(fleet.settled, within=600):
            took = asyncio.get_running_loop().time() - started
            self.stdout.write(
                f"storm: all booted and every queued message answered in {took:.1f} s"
            )
