"""The handle e2e tests get on the daphne process: its URL and its output."""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LiveServer:
    url: str
    log_path: Path

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def log_tail(self) -> str:
        return self.log_since(max(0, self.log_size() - 5000))
