"""Context managers that double as decorators: timing, in-progress tracking, exceptions.

Each decorator checks whether it wraps an ``async def`` function and, if
so, returns an ``async def`` wrapper that measures the awaited call, not
just the creation of the coroutine object (prometheus_client's gap).
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["ExceptionCounter", "InprogressTracker", "Timer"]

F = TypeVar("F", bound=Callable[..., Any])

# Durations come from this clock; tests replace it to control time.
clock = time.perf_counter


def _now() -> float:
    return clock()


def _decorate(f: F, enter: Callable[[], Any], leave: Callable[[Any, BaseException | None], None]) -> F:
    """Wrap ``f`` so each call runs ``enter()`` before and ``leave(token, exc)`` after."""
    if inspect.iscoroutinefunction(f):

        @functools.wraps(f)
        async def awrapped(*args: Any, **kwargs: Any) -> Any:
            token = enter()
            try:
                result = await f(*args, **kwargs)
            except BaseException as exc:
                leave(token, exc)
                raise
            leave(token, None)
            return result

        return awrapped  # type: ignore[return-value]

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = enter()
        try:
            result = f(*args, **kwargs)
        except BaseException as exc:
            leave(token, exc)
            raise
        leave(token, None)
        return result

    return wrapped  # type: ignore[return-value]


class Timer:
    """Measures a block or each call of a function and reports seconds to ``callback``."""

    def __init__(self, callback: Callable[[float], None]) -> None:
        self._callback = callback
        self._start = 0.0

    def __enter__(self) -> Timer:
        self._start = _now()
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._callback(max(_now() - self._start, 0.0))

    def __call__(self, f: F) -> F:
        callback = self._callback

        def leave(start: float, exc: BaseException | None) -> None:
            callback(max(_now() - start, 0.0))

        # Each call keeps its own start time, so concurrent calls never share state.
        return _decorate(f, _now, leave)


class ExceptionCounter:
    """Calls ``callback`` once for each exception of type ``exception`` leaving the block."""

    def __init__(
        self,
        callback: Callable[[], None],
        exception: type[BaseException] | tuple[type[BaseException], ...],
    ) -> None:
        self._callback = callback
        self._exception = exception

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if typ is not None and issubclass(typ, self._exception):
            self._callback()

    def __call__(self, f: F) -> F:
        def leave(_: None, exc: BaseException | None) -> None:
            if exc is not None and isinstance(exc, self._exception):
                self._callback()

        return _decorate(f, lambda: None, leave)


class InprogressTracker:
    """Increments a gauge on entry and decrements it on exit."""

    def __init__(self, inc: Callable[[], None], dec: Callable[[], None]) -> None:
        self._inc = inc
        self._dec = dec

    def __enter__(self) -> None:
        self._inc()

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._dec()

    def __call__(self, f: F) -> F:
        dec = self._dec
        return _decorate(f, self._inc, lambda _, __: dec())
