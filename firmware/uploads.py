"""The diagnostics upload receiver: where charge points PUT or POST (multipart or raw) the file
GetDiagnostics asked for.

No API token: a charge point has none. The credential is the unguessable token in the URL,
valid for one request until its file arrived. The view is async and does its file I/O in worker
threads, off the thread that sync views and consumers' ORM work share under ASGI.
"""

import tempfile
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files import File
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from firmware.services.diagnostics import (
    UploadRefusedError,
    diagnostics_file_claim,
    diagnostics_file_save,
    diagnostics_upload_target,
)

CHUNK = 64 * 1024
# Multipart framing (boundaries, part headers) on top of the file itself.
MULTIPART_SLACK = 64 * 1024


class UploadTooLargeError(Exception):
    pass


class SizeLimitHandler(FileUploadHandler):
    """First of the upload handlers: counts the file's bytes and gives up past the limit."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLargeError
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def _read_upload(request: HttpRequest, limit: int) -> tuple[File, str, int]:
    """The uploaded file, its name (multipart only) and size; raises UploadTooLargeError."""
    if request.method == "POST" and request.content_type == "multipart/form-data":
        request.upload_handlers.insert(0, SizeLimitHandler(request, limit))
        files = list(request.FILES.values())
        if not files:
            raise MultiPartParserError("no file part in the form")
        upload = files[0]
        return upload, upload.name or "", upload.size
    # PUT, or a POST of the raw file: the body is the file.
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
    size = 0
    while chunk := request.read(CHUNK):
        size += len(chunk)
        if size > limit:
            spool.close()
            raise UploadTooLargeError
        spool.write(chunk)
    spool.seek(0)
    return File(spool), "", size


@csrf_exempt
async def diagnostics_upload(request: HttpRequest, token: str, file_name: str = "") -> Any:
    if request.method not in ("PUT", "POST"):
        response = _error(405, "method_not_allowed", "Upload with PUT or POST.")
        response["Allow"] = "PUT, POST"
        return response
    try:
        target = await sync_to_async(diagnostics_upload_target)(token=token)
    except UploadRefusedError:
        return _error(404, "not_found", "Unknown or already used upload location.")
    limit = settings.DIAGNOSTICS_UPLOAD_MAX_BYTES
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > limit + MULTIPART_SLACK or (request.method == "PUT" and declared > limit):
        return _error(413, "too_large", f"Diagnostics files are limited to {limit} bytes.")
    try:
        content, part_name, size = await sync_to_async(_read_upload, thread_sensitive=False)(
            request, limit
        )
    except UploadTooLargeError:
        return _error(413, "too_large", f"Diagnostics files are limited to {limit} bytes.")
    except MultiPartParserError as exc:
        return _error(400, "invalid", f"Malformed upload: {exc}")
    try:
        stored = await sync_to_async(diagnostics_file_save, thread_sensitive=False)(
            request=target, content=content, file_name=part_name or file_name
        )
    finally:
        content.close()
    try:
        await sync_to_async(diagnostics_file_claim)(request=target, stored=stored, size=size)
    except UploadRefusedError:
        return _error(404, "not_found", "Unknown or already used upload location.")
    return JsonResponse({"status": "received", "size": size}, status=201)
