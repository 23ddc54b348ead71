"""``manifest.json``: what a build was asked to do, what it did, and how it ended.

Written when the run starts (status ``running``) and again when it ends, whatever ended it, with
one of four states and the reason: ``complete`` (every seed's lineage written, none failed),
``partial`` (some samples failed, or an endpoint outage stopped the run), ``interrupted``
(Ctrl-C), ``aborted`` (a systematic failure, or the endpoint refused the run). Every count in
it is a count of rows in the folder's files.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path
from typing import Any, Mapping

from ...runtime.output import MANIFEST
from ...runtime.tally import Tally


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class Manifest:
    def __init__(self, out: Path, static: Mapping[str, Any]) -> None:
        self.path = out / MANIFEST
        self.static = dict(static)
        self.started_at = _now()

    def write(
        self,
        status: str,
        *,
        reason: str | None,
        tally: Tally,
        requests: Mapping[str, Any],
        endpoints: list[Mapping[str, Any]],
        wall_time_s: float,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        data = {
            "status": status,
            "reason": reason,
            **self.static,
            "counts": tally.as_dict(),
            "requests": dict(requests),
            "endpoints": endpoints,
            **(extra or {}),
            "started_at": self.started_at,
            "updated_at": _now(),
            "wall_time_s": round(wall_time_s, 3),
            "python": platform.python_version(),
        }
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)
        return data
