"""The Docker sandbox that runs code answers.

    from wizardcoder.sandbox import Job, SandboxPool, Verdict

    with SandboxPool() as pool:
        result = pool.run(Job("1", "def f(): return 1", ["assert f() == 1"]))
        assert result.verdict is Verdict.PASS

Build the image first with `evol sandbox build`; `evol sandbox doctor` says what is missing.
"""

from .engine import SandboxUnavailable, default_image
from .job import Job, Result
from .limits import Limits
from .pool import SandboxPool
from .verdict import Verdict

__all__ = ["Job", "Limits", "Result", "SandboxPool", "SandboxUnavailable", "Verdict", "default_image"]
