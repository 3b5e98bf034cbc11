"""Where a checkout comes from: the thread's stack, and the coroutines awaiting it.

Django's async ORM (``await Item.objects.acount()``) runs the query in a
thread through asgiref's ``sync_to_async``: that thread's stack holds the
executor and the ORM, not the view, whose frames belong to a coroutine
suspended on the event loop. So when asgiref says which event loop this
thread works for, the task whose ``SyncToAsync.__call__`` is running this
very call (found by identity, through the ``child`` callable that asgiref's
``run_child`` frame holds) gives its chain of awaiting coroutines, placed
before the thread's own frames. Only taken with ``leak_threshold`` (the
stack is that option's cost), and any surprise (another asgiref, a loop
that closed) leaves the thread's stack alone.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import traceback
from types import FrameType
from typing import Any

__all__ = ["capture"]


def capture() -> traceback.StackSummary:
    """Return the calling thread's stack, after the coroutines that await it, if any."""
    stack = traceback.extract_stack()
    try:
        chain = _awaiting_coroutines()
    except Exception:  # noqa: BLE001 - a diagnostic: never fail a checkout for it
        chain = []
    if not chain:
        return stack
    return traceback.StackSummary.from_list([*chain, *stack])


def _awaiting_coroutines() -> list[traceback.FrameSummary]:
    sync = sys.modules.get("asgiref.sync")
    if sync is None:
        return []
    loop = getattr(sync.SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed():  # not a thread asgiref runs (a WSGI thread)
        return []
    child = _running_child(str(sync.__file__))
    if child is None:
        return []
    caller = sync.SyncToAsync.__call__.__code__
    for task in asyncio.all_tasks(loop):
        frames = _chain(task.get_coro())
        for index, frame in enumerate(frames):
            if frame.f_code is caller and frame.f_locals.get("child") is child:
                return [_summary(f) for f in frames[:index]]
    return []


def _running_child(asgiref_file: str) -> Any:
    # The callable asgiref's run_child (its innermost frame here) is running.
    frame: FrameType | None = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_name == "run_child" and frame.f_code.co_filename == asgiref_file:
            return frame.f_locals.get("child")
        frame = frame.f_back
    return None


def _chain(coroutine: Any) -> list[FrameType]:
    # The frames of a coroutine and of those it awaits, outermost first.
    frames = []
    while coroutine is not None:
        frame = (
            getattr(coroutine, "cr_frame", None)
            or getattr(coroutine, "ag_frame", None)
            or getattr(coroutine, "gi_frame", None)
        )
        if frame is None:
            break
        frames.append(frame)
        coroutine = (
            getattr(coroutine, "cr_await", None)
            or getattr(coroutine, "ag_await", None)
            or getattr(coroutine, "gi_yieldfrom", None)
        )
    return frames


def _summary(frame: FrameType) -> traceback.FrameSummary:
    code = frame.f_code
    return traceback.FrameSummary(code.co_filename, frame.f_lineno, code.co_name)
