"""`evol math equal` and `evol math steps` as commands: their worker pool is theirs alone."""

from __future__ import annotations

import json
import multiprocessing

from click.testing import CliRunner

from wizardmath import bounded
from wizardmath.cli import math_group


def test_the_math_commands_stop_their_workers_when_they_end() -> None:
    # The command's pool lives as long as the command (run in this process here, as a library
    # user's program would run it): no worker is left behind it, and no process-wide pool is made.
    before, children = bounded._default, set(multiprocessing.active_children())
    done = CliRunner().invoke(math_group, ["equal", "--workers", "1"], input='{"id": "a", "gold": "1/2", "pred": "0.5"}\n')
    assert done.exit_code == 0, done.output
    assert json.loads(done.output.splitlines()[-1])["equal"] is True
    assert bounded._default is before
    assert set(multiprocessing.active_children()) <= children
