"""Opening a connection again until the pool's ``timeout``: a failover costs latency, not errors.

When a checkout needs a new physical connection and the server refuses it
(stopped, restarting, a standby being promoted, too many connections), no
statement has been sent yet: trying again is safe. :func:`connect` keeps
trying, with capped exponential backoff and jitter, until the checkout's
deadline (the pool's ``timeout``, counted from the start of the checkout),
then raises Django's ``OperationalError`` with the last connection error.

Errors that waiting cannot fix fail at once: the vendor's
:meth:`~django_pool.driver.Driver.is_permanent_connect_error` says which
(wrong password, unknown database or role).

Each attempt is the driver's own connect, bounded by the time left before
the deadline (the creator passes it on as the driver's connect timeout,
unless the project set one): a last attempt may end a little after the
deadline (libpq's shortest timeout is 2 s).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError

from .driver import Driver
from .errors import first_line

__all__ = ["FIRST_DELAY", "INSTEAD_SLICE", "MAX_DELAY", "connect"]

logger = logging.getLogger("django_pool.pool")

T = TypeVar("T")

#: Seconds before the second attempt; each later delay doubles, up to MAX_DELAY.
FIRST_DELAY = 0.05
#: Longest pause between attempts: a promotion is noticed within this.
MAX_DELAY = 1.0


#: Longest a pause between attempts goes without asking ``instead``.
INSTEAD_SLICE = 0.05


def connect(
    open_: Callable[[], T],
    *,
    driver: Driver,
    alias: str,
    deadline: float,
    timeout: float,
    setting: str | None = None,
    instead: Callable[[], bool] | None = None,
) -> T | None:
    """Return ``open_()``, trying again on transient connection errors until *deadline*.

    *deadline* is a ``time.monotonic()`` instant; *timeout* the setting it came
    from, for the message, which names *setting* (default: the alias's
    ``POOL``). The first attempt is always made. Anything but a database
    error (a bug, a ``KeyboardInterrupt``) propagates at once.

    *instead*, if given, is asked after each refused attempt and every
    :data:`INSTEAD_SLICE` seconds of the pause: True means the caller got a
    connection another way (one given back to the pool), and ``connect``
    returns None at once.
    """
    attempt = 0
    while True:
        try:
            return open_()
        except OperationalError as err:
            cause = _driver_error(err)
            if driver.is_permanent_connect_error(cause):
                _log_refusal(alias, cause)
                raise
            if instead is not None and instead():
                return None
            attempt += 1
            # Full jitter on the upper half: threads that failed together
            # do not come back together.
            delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)  # noqa: S311 - not crypto
            remaining = deadline - time.monotonic()
            if remaining <= delay:
                raise _gave_up(
                    err, setting or f"settings.DATABASES[{alias!r}]['POOL']", attempt, timeout
                ) from err
            if attempt == 1:
                logger.warning(
                    "database %r: cannot open a connection, trying again for up to %.1f s: %s",
                    alias,
                    remaining,
                    first_line(cause),
                )
            else:
                logger.debug("database %r: connection attempt %d failed", alias, attempt)
            if instead is None:
                time.sleep(delay)
            elif _pause(delay, instead):
                return None


#: Seconds between two log lines of one alias's refused logins.
REFUSAL_LOG_EVERY = 10.0
_refusals_logged: dict[str, float] = {}  # alias -> when last logged (monotonic)


def _log_refusal(alias: str, cause: BaseException) -> None:
    # A refused login (a rotated password, a dropped database) fails every
    # request at once: one WARNING on the pool's logger says so, at most
    # every REFUSAL_LOG_EVERY seconds, not one per request.
    now = time.monotonic()
    if now - _refusals_logged.get(alias, -REFUSAL_LOG_EVERY) >= REFUSAL_LOG_EVERY:
        _refusals_logged[alias] = now
        logger.warning(
            "database %r: the server refused a connection, and waiting cannot change "
            "that; every checkout that needs a new connection fails at once: %s",
            alias,
            first_line(cause),
        )


def _pause(delay: float, instead: Callable[[], bool]) -> bool:
    # Sleep *delay* seconds in slices; True as soon as instead() says so.
    end = time.monotonic() + delay
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, INSTEAD_SLICE))
        if instead():
            return True
    return False


def _driver_error(err: BaseException) -> BaseException:
    # The wrapper's creator raises Django's OperationalError "from" the
    # driver's error; a custom creator may raise the driver's error itself.
    return err.__cause__ if err.__cause__ is not None else err


def _gave_up(
    err: OperationalError, setting: str, attempts: int, timeout: float
) -> OperationalError:
    # The driver's text never holds the password (libpq and MySQL clients
    # leave it out of their messages).
    return OperationalError(
        f"{err} (gave up after {attempts} attempt{'s' * (attempts != 1)} within "
        f"{setting}['timeout'] = {timeout:g} s)"
    )
