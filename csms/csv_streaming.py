"""CSV downloads streamed row by row from the database, at constant memory whatever their size.

The rows are read in chunks (a server-side cursor on PostgreSQL) and written out a few hundred
at a time: a million sessions never sit in memory together. Under ASGI (daphne) the response
must be an *async* iterator: Django consumes a synchronous one under ASGI by reading all of it
into a list first (``StreamingHttpResponse.__aiter__``), which is exactly the memory we must not
spend; so there the chunks are fetched through ``sync_to_async`` one at a time, and elsewhere
(WSGI, the test client, management commands) by the plain ``iterator``.
"""

import csv
import io
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse

# Rows fetched per database round trip, and written per chunk sent to the client.
FETCH_CHUNK = 2000
WRITE_CHUNK = 500
# A cell a spreadsheet would read as a formula (CSV injection, OWASP): an idTag or identity
# is the charge point's text, so its text cells get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = Sequence[Any]


def text_cell(value: str | None) -> str:
    """A text column's cell: empty for None, neutralised if it would start a formula."""
    if not value:
        return ""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


class _Chunks:
    """CSV text for a header and rows, handed out a chunk at a time."""

    def __init__(self, header: Sequence[str]) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")
        self.writer.writerow(header)
        self.pending = 1

    def add(self, cells: Iterable[Any]) -> str | None:
        self.writer.writerow(cells)
        self.pending += 1
        return self.take() if self.pending >= WRITE_CHUNK else None

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        self.pending = 0
        return text


def _sync_stream(
    rows: QuerySet[Any], header: Sequence[str], to_cells: Callable[[Row], Iterable[Any]]
) -> Iterator[str]:
    chunks = _Chunks(header)
    for row in rows.iterator(chunk_size=FETCH_CHUNK):
        text = chunks.add(to_cells(row))
        if text is not None:
            yield text
    yield chunks.take()


async def _async_stream(
    rows: QuerySet[Any], header: Sequence[str], to_cells: Callable[[Row], Iterable[Any]]
) -> AsyncIterator[str]:
    """The rows fetched a chunk at a time in the request's database thread. Not
    ``QuerySet.aiterator``: for a ``values_list`` queryset it runs the query in the event loop
    (Django 5.2's ``ValuesListIterable.__iter__`` is no generator) and fails."""
    chunks = _Chunks(header)
    fetched: Iterator[Row] | None = None

    def next_rows() -> list[Row]:
        nonlocal fetched
        if fetched is None:
            fetched = rows.iterator(chunk_size=FETCH_CHUNK)
        return list(itertools.islice(fetched, FETCH_CHUNK))

    while True:
        batch = await sync_to_async(next_rows)()
        for row in batch:
            text = chunks.add(to_cells(row))
            if text is not None:
                yield text
        if len(batch) < FETCH_CHUNK:
            break
    yield chunks.take()


def csv_stream_response(
    *,
    request: HttpRequest,
    rows: QuerySet[Any],
    header: Sequence[str],
    to_cells: Callable[[Row], Iterable[Any]],
    filename: str,
) -> StreamingHttpResponse:
    """A ``text/csv`` attachment of ``header`` and ``to_cells(row)`` for every row of ``rows``
    (a ``values_list`` queryset, evaluated only while the response is sent)."""
    content = (
        _async_stream(rows, header, to_cells)
        if isinstance(request, ASGIRequest)
        else _sync_stream(rows, header, to_cells)
    )
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Proxies must not buffer a million rows either (nginx honours this header).
    response["X-Accel-Buffering"] = "no"
    return response
