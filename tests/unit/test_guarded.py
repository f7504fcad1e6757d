"""cli.errors.run_guarded: Ctrl-C is one line and exit 130 wherever it lands; any other
error is not hidden. (A closed pipe is tested with real pipes: tests/operations.)"""

from __future__ import annotations

import pytest

from sluice.cli.errors import EXIT_INTERRUPTED, run_guarded


def _interrupted(_argv: list[str] | None) -> int:
    raise KeyboardInterrupt


def test_ctrl_c_is_one_line_naming_the_command_and_exit_130(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_guarded(["-v", "articles", "list"], _interrupted) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "sluice articles: interrupted\n"
    assert run_guarded(["status", "--watch", "--json"], _interrupted) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == (
        '{"error": "interrupted", "message": "interrupted", "exit_code": 130}\n'
    )


def test_a_broken_pipe_that_is_not_stdout_s_is_raised() -> None:
    """stdout here is no closed pipe: the error is a bug to see, not a reader gone."""

    def broken(_argv: list[str] | None) -> int:
        raise BrokenPipeError(32, "a socket's")

    with pytest.raises(BrokenPipeError):
        run_guarded(["status"], broken)
