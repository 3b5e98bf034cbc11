"""Exceptions raised by django-pool, and the messages of the errors it raises for bad settings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError

__all__ = ["SETTING_VALUE_ERRORS", "PoolTimeout", "first_line", "raised_in", "settings_refused"]

# Django's backends, whose parameter building converts settings (PORT) and
# calls the driver (a driver in C, sqlite3's, adds no frame of its own).
_DJANGO_BACKENDS = ("django.db.backends.", "django.contrib.gis.db.backends.")


class PoolTimeout(OperationalError):
    """No pooled connection became free within ``POOL['timeout']`` seconds.

    A subclass of Django's ``OperationalError``, so code that already catches
    database errors keeps working. The message names the alias, the pool's
    size, how many connections are in use, the overflow, and the options to
    raise.
    """

    __module__ = "django_pool"


#: What a driver (or Django, building its parameters) raises for a setting's
#: value it cannot use: a wrong type (``PORT="abc"``), an unknown keyword in
#: OPTIONS, an unknown value (PyMySQL's unknown charset is an AttributeError).
SETTING_VALUE_ERRORS = (TypeError, ValueError, AttributeError, LookupError)


def first_line(err: BaseException) -> str:
    """Return the first line of *err*'s text, or its class name if it has none.

    Drivers' messages run over several lines (libpq adds a line per host
    tried); one is enough for a log line or a check's message, and none of
    them holds the password.
    """
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def raised_in(err: BaseException, driver: str) -> bool:
    """Return whether *err* was raised by the *driver* package or by Django's backends.

    That is, in the innermost frame of its traceback: where a setting's value
    was refused, not a bug in code between them.
    """
    tb = err.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = str(tb.tb_frame.f_globals.get("__name__", ""))
    if module.startswith(_DJANGO_BACKENDS):
        return True
    return bool(driver) and (module == driver or module.startswith(f"{driver}."))


def settings_refused(
    alias: str, settings_dict: dict[str, Any], driver: str, err: BaseException
) -> ImproperlyConfigured:
    """Return the error for *driver* refusing the values of ``DATABASES[alias]`` with *err*.

    The driver's own text is kept (it says which value, most of the time),
    with the password taken out should it hold it.
    """
    text = f"{type(err).__name__}: {err}"
    password = settings_dict.get("PASSWORD")
    if isinstance(password, str) and password and password in text:
        text = text.replace(password, "********")
    options = settings_dict.get("OPTIONS") or {}
    named = ", ".join(map(str, options)) if isinstance(options, dict) else ""
    return ImproperlyConfigured(
        f"database {alias!r}: {driver} cannot open a connection with the values of "
        f"settings.DATABASES[{alias!r}] (NAME, USER, HOST, PORT"
        f"{', OPTIONS: ' + named if named else ''}): {text}. "
        "A value of the wrong type, or one the driver does not know, is the usual cause."
    )
