"""The OCPP context of log lines (csms.log_context) and the JSON format (LOG_FORMAT=json)."""

import asyncio
import contextvars
import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from daphne.access import AccessLogGenerator
from pythonjsonlogger.json import JsonFormatter

from csms import log_context
from csms.server_patches import daphne_access_log


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the handler settings.LOGGING builds for LOG_FORMAT=json."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(log_context.OcppContextFilter())
    logger = logging.getLogger("tests.log_context")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_lines_of_a_connection_carry_its_charge_point_and_the_frames_message_id(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log

    async def connection() -> None:
        log_context.connection_bind(tenant="acme", charge_point="CP-1")
        logger.info("connected")
        with log_context.message_bind("m-1"):
            logger.info("frame")
            # A database thread runs in a copy of the caller's context.
            await sync_to_async(logger.warning, thread_sensitive=False)("in a thread")
        logger.info("between frames")

    await asyncio.create_task(connection())
    logger.info("elsewhere")
    lines = records(stream)
    assert [(r["message"], r.get("charge_point"), r.get("message_id")) for r in lines] == [
        ("connected", "CP-1", None),
        ("frame", "CP-1", "m-1"),
        ("in a thread", "CP-1", "m-1"),
        ("between frames", "CP-1", None),
        ("elsewhere", None, None),
    ]
    assert lines[2]["tenant"] == "acme"
    assert lines[2]["level"] == "WARNING"
    assert lines[2]["logger"] == "tests.log_context"
    assert "tenant" not in lines[4]  # a line of no connection has no such fields


def test_a_batchs_calls_log_under_their_own_charge_point(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log

    def batch() -> None:
        log_context.connection_bind(tenant="acme", charge_point="CP-STARTED-THE-BATCH")
        for identity in ("CP-1", "CP-2"):
            with log_context.call_bind(tenant="globex", charge_point=identity, message_id="x"):
                logger.info("handled")
        logger.info("after")

    contextvars.copy_context().run(batch)  # the binding stays in that context
    assert [r["charge_point"] for r in records(stream)] == ["CP-1", "CP-2", "CP-STARTED-THE-BATCH"]
    assert log_context.current() == (None, None)


REQUEST = {"client": "127.0.0.1:5000", "method": "GET", "path": "/healthz", "status": 200,
           "size": 15}  # fmt: skip


def test_json_access_log_on_stdout_becomes_log_records_and_a_file_stays_a_file(
    settings: Any, caplog: Any, capsys: Any
) -> None:
    settings.LOG_FORMAT = "json"
    original = AccessLogGenerator.write_entry
    access_file = io.StringIO()
    try:
        daphne_access_log.install()
        with caplog.at_level(logging.INFO, logger="csms.access"):
            AccessLogGenerator(sys.stdout)("http", "complete", REQUEST)
            AccessLogGenerator(access_file)("http", "complete", REQUEST)
    finally:
        AccessLogGenerator.write_entry = original
    assert capsys.readouterr().out == ""  # nothing past the logging module
    assert '"GET /healthz" 200 15' in access_file.getvalue()  # daphne's own line
    (record,) = [r for r in caplog.records if r.name == "csms.access"]
    assert (record.client, record.request, record.status, record.size) == (
        "127.0.0.1:5000",
        "GET /healthz",
        200,
        15,
    )
