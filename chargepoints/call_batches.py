"""Group commit for inbound CALLs: the calls that arrive while the database threads are busy
are handled together, in one hop and one transaction.

One transaction per frame spends more on the transaction than on the frame (thread hop, pool
checkout, BEGIN, COMMIT, a message-log insert of its own). Under light load nothing changes: a
call finds a free slot and goes alone, at once. Under load the calls that queued behind the
busy slots go as one batch (the connection answers each only after that batch committed, so
an answered transaction message is still durably stored). A batch where any call fails is
rolled back and its calls are handled again one by one, each with its own answer.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from chargepoints.db_hops import admission, db_hop

Item = TypeVar("Item")


class CallBatcher(Generic[Item]):
    def __init__(
        self,
        run_batch: Callable[[list[Item]], list[str]],
        *,
        parallel: int,
        max_batch: int,
    ) -> None:
        self.parallel = max(1, parallel)
        executor = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="ocpp-calls")
        self._hop = db_hop(run_batch, counted=False, executor=executor)
        self.max_batch = max(1, max_batch)
        self.pending: list[tuple[Item, asyncio.Future[str]]] = []
        self.running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> str:
        """The answer frame for ``item``, once its batch committed."""
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        gate = admission()
        started = gate.enter()  # each call counts as work under way, not each batch
        answer.add_done_callback(lambda _: gate.leave(started))
        self.pending.append((item, answer))
        if self.running < self.parallel:
            self._start()
        return await answer

    def _start(self) -> None:
        batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
        self.running += 1
        task = asyncio.create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[Item, asyncio.Future[str]]]) -> None:
        try:
            answers = await self._hop([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - each waiting consumer gets it, as from a hop
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():  # its consumer may have gone meanwhile
                    future.set_result(answer)
        finally:
            self.running -= 1
            if self.pending:
                self._start()
