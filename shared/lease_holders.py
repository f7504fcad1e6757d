"""Who holds a lease in Redis: a token naming one process, and whether it has ended.

A lease lapses on its own after its time to live, but a process that died on this machine
need not be waited for: a token names its holder's machine and process, and a holder of
this machine whose process is gone, exited but not yet reaped, or whose process id now
belongs to a later process has ended. A holder on another machine is never judged here:
only its lease's expiry says it is dead.

A token reads ``MACHINE:PID:START``, and callers may add ``:`` and more. ``MACHINE`` is
the host name, the kernel's boot id and the PID namespace: two hosts of one name, a
reboot, or two containers of one name each count as a machine of their own, so a process
id is only ever looked up where it means something. ``START`` is when the process started,
in clock ticks since boot (``/proc/PID/stat``), which tells a reused process id apart.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache

__all__ = ["Holder", "ended_here", "holder_token", "this_machine"]

_UNKNOWN = "-"


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return _UNKNOWN


@cache
def this_machine() -> str:
    """This process's machine: host name, boot id and PID namespace (containers may share
    a host name, and a rebooted host's process ids start again)."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        namespace = _UNKNOWN
    return f"{socket.gethostname()}/{boot}/{namespace}"


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (state first), or none."""
    # The command name, in parentheses, may hold spaces and parentheses: count after it.
    return _read(f"/proc/{pid}/stat").rpartition(")")[2].split()


def _started(fields: list[str]) -> str:
    """When a process started (clock ticks since boot), from its stat ``fields``, or ``-``."""
    return fields[19] if len(fields) > 19 else _UNKNOWN


def holder_token(pid: int | None = None) -> str:
    """The token that names process ``pid`` (default: this one) as a lease's holder."""
    pid = os.getpid() if pid is None else pid
    return f"{this_machine()}:{pid}:{_started(_stat(pid))}"


@dataclass(frozen=True, slots=True)
class Holder:
    """A lease holder, read from its token."""

    machine: str
    pid: int
    started: str

    @classmethod
    def parse(cls, token: str) -> Holder | None:
        """The holder a token names, or None for a token of another form."""
        machine, pid, started = [*token.split(":", 3), "", ""][:3]  # a host name holds no colon
        return cls(machine, int(pid), started or _UNKNOWN) if pid.isdigit() else None

    @property
    def host(self) -> str:
        return self.machine.partition("/")[0]

    def ended_here(self) -> bool:
        """Whether this holder is a process of this machine that has ended."""
        if self.machine != this_machine():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # alive, another user's
            pass
        fields = _stat(self.pid)
        if fields and fields[0] in ("Z", "X"):  # exited, not yet reaped by its parent
            return True
        now = _started(fields)
        return _UNKNOWN not in (self.started, now) and now != self.started

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"


def ended_here(token: str) -> bool:
    """Whether the lease ``token`` names a process of this machine that has ended."""
    holder = Holder.parse(token)
    return holder is not None and holder.ended_here()
