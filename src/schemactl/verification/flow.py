"""Which step overlaps which: a small graph of named steps, each started on a thread the moment
the steps it needs have finished.

A command lists its steps in order (`run`), naming what each needs: `flow.of("x")` passes the
result of step `x`, `flow.later("x")` a function that waits for it only if called, and
`after=` orders without passing anything (a database copied from a template must have no
other session). Database work and pg_dump release the GIL, so loads, dumps and inspections of
the two sides overlap. A step whose need failed fails with that error; `get` waits for several
and raises the first error in the order asked, so a command reports the file most likely just
edited (schemas/) before the history. A step goes to the pool only once its needs are done,
so no thread waits for a queued step (only `later` waits inside a step, and only for a step
listed before it). On the way out (Ctrl-C included), queued steps are cancelled; running
queries end when the sandbox closes around them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Need:
    """The result of a step, as an argument of another (`Flow.of`)."""

    name: str


class Flow:
    """Named steps on a thread pool (see the module docstring)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._steps: dict[str, Future[Any]] = {}

    @classmethod
    @contextlib.contextmanager
    def open(cls) -> Iterator[Flow]:
        """A flow with its threads, cancelled on the way out."""
        pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="schemactl")
        try:
            yield cls(pool)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def of(self, name: str) -> Need:
        """Step `name`'s result as an argument; the step waits for it."""
        self._steps[name]  # noqa: B018  (a step named before it is defined is a KeyError now)
        return Need(name)

    def later(self, name: str) -> Callable[[], Any]:
        """A function returning step `name`'s result, waiting only when it is called (a kept
        value may make the wait unnecessary)."""
        step = self._steps[name]
        return step.result

    def known(self, name: str, value: Any) -> None:
        """A step whose result is known already (kept from an earlier run)."""
        done: Future[Any] = Future()
        done.set_result(value)
        self._steps[name] = done

    def run(
        self, name: str, fn: Callable[..., Any], *args: Any, after: tuple[str, ...] = ()
    ) -> None:
        """Start `fn(*args)` once every step it needs (`Need` arguments and `after`) is done."""
        needs = [self._steps[a.name] for a in args if isinstance(a, Need)]
        needs += [self._steps[n] for n in after]
        out: Future[Any] = Future()
        self._steps[name] = out
        left = [len(needs)]
        lock = threading.Lock()

        def start() -> None:
            try:
                for need in needs:  # in the order given: the first one's error is the story
                    if need.exception() is not None:
                        raise need.exception()  # type: ignore[misc]
                values = [self._steps[a.name].result() if isinstance(a, Need) else a for a in args]
                inner = self._pool.submit(fn, *values)
            except BaseException as e:  # a need failed, or the pool is shut down
                out.set_exception(e)
                return
            inner.add_done_callback(lambda f: _copy(f, out))

        def one_done(_: Future[Any]) -> None:
            with lock:
                left[0] -= 1
                ready = left[0] == 0
            if ready:
                start()

        if not needs:
            start()
        for need in needs:
            need.add_done_callback(one_done)

    def started(self, name: str) -> bool:
        """Whether step `name` was listed."""
        return name in self._steps

    def get(self, *names: str) -> Any:
        """Wait for the steps named; their results (one name: the result itself). With several
        failures, the first name's error is raised."""
        steps = [self._steps[n] for n in names]
        for step in steps:
            step.exception()  # waits
        for step in steps:
            if (e := step.exception()) is not None:
                raise e
        results = [s.result() for s in steps]
        return results[0] if len(names) == 1 else results


def _copy(source: Future[Any], target: Future[Any]) -> None:
    if source.cancelled():
        target.cancel()
    elif (e := source.exception()) is not None:
        target.set_exception(e)
    else:
        target.set_result(source.result())
