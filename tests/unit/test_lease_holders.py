"""Lease tokens name their holder, and only a holder of this machine is judged ended."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from sluice.shared.lease_holders import Holder, ended_here, holder_token, this_machine
from sluice.workers.membership.node_names import taken_line


def test_a_token_names_this_process_and_it_has_not_ended() -> None:
    token = holder_token()
    holder = Holder.parse(token)
    assert holder is not None
    assert (holder.machine, holder.pid) == (this_machine(), os.getpid())
    assert holder.host == socket.gethostname()
    assert holder.started.isdigit()
    assert not ended_here(token)
    assert not ended_here(f"{token}:a1b2c3d4")  # a submission lease's token adds a nonce


def test_a_process_that_exited_has_ended_reaped_or_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    token = holder_token(child.pid)
    assert not ended_here(token)
    child.kill()
    deadline = time.monotonic() + 10
    while not ended_here(token) and time.monotonic() < deadline:  # a zombie until reaped
        time.sleep(0.01)
    assert ended_here(token)
    child.wait()
    assert ended_here(token)


def test_a_reused_process_id_is_another_process() -> None:
    assert ended_here(f"{this_machine()}:{os.getpid()}:1")


def test_a_holder_on_another_machine_is_never_judged_here() -> None:
    host, boot, namespace = this_machine().split("/")
    other_boot = f"{host}/not-{boot}/{namespace}"  # same name, another host or a reboot
    for machine in (f"other-{host}/{boot}/{namespace}", other_boot):
        assert not ended_here(f"{machine}:999999999:5")
    assert not ended_here("not a token")
    assert Holder.parse("not a token") is None


def test_the_refusal_names_the_holder() -> None:
    assert taken_line("fetch@m1", "m2/b/4026531836:4242:77") == (
        "sluice: a running worker is already named fetch@m1 (pid 4242 on m2); node names "
        "must be unique in a cluster: give this one another (sluice worker --name, celery "
        "worker -n)"
    )
