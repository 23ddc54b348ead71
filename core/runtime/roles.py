"""Roles: a model (and its endpoint, key, decoding and concurrency) for some of a build's stages.

A stage is the purpose a request names (``ctx.chat(..., stage="respond")``). A role serves one
stage, or the group ``judge`` (every judging stage); the stages no role claims go to the build's
own model and endpoints, so a build without roles is what it always was.

Two spellings of one declaration (``RoleConfig``):

- ``--role STAGE=MODEL[,MODEL...][@URL]`` on the command line (repeatable);
- ``[roles.STAGE]`` in a recipe: ``model``, ``base_url`` (a list), ``api_key_env``,
  ``temperature``, ``top_p``, ``max_tokens``, ``concurrency``, ``batch``.

A role on the command line replaces the recipe's role of the same name, as every option does.

A role of several models (``--role evolve=model-a,model-b``, ``model = ["model-a", "model-b"]``)
spreads its stages' requests over them: each sample's requests of a stage go to one model drawn
from the run seed (``types.context.model_draw``), and the candidates of one parent
(``--irm-candidates K``) take the models in turn. Each model has its own client (its cache keys,
numbers and price), all at the role's endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..types.errors import UsageError
from ..types.records import Decoding
from ..types.registrations import Domain, Filter, Scorer
from .engine import EVOLVE_ANSWER_STAGE
from .urls import public_url

JUDGE_GROUP = "judge"
"""The role name that serves every judging stage at once."""
JUDGING_STAGES = frozenset({"equality", "difficulty", "quality", "instruction-judge", "step-judge"})
"""The stages whose requests judge a sample rather than write one: the core's equality check,
difficulty and answer-quality ratings, WizardMath's instruction and step judges."""
EVOLVE_STAGE = "evolve"
RESPOND_STAGE = "respond"


class RoleConfig(BaseModel):
    """One role: the model that serves its stages, and what differs from the build's settings
    (None: the build's)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str | tuple[str, ...]
    """One model, or several (a list, or comma-separated) to spread the role's requests over."""
    base_url: tuple[str, ...] = ()
    """Its endpoints (empty: the build's)."""
    api_key_env: str | None = None
    """The environment variable holding its key (None: the build's key)."""
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1)
    concurrency: int | None = Field(None, ge=1, le=4096)
    batch: bool = False
    """Send this role's requests through the Batch API (as ``--batch NAME`` does)."""

    @field_validator("model", mode="before")
    @classmethod
    def _models(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, (list, tuple)) or not all(isinstance(name, str) for name in value):
            raise ValueError("must be a model name, or a list of model names")
        names = tuple(name.strip() for name in value)
        if not names or not all(names):
            raise ValueError(f"model names must not be empty, got {', '.join(names)!r}")
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} named more than once; each model of a role is named once")
        return names[0] if len(names) == 1 else names  # one model stays a name, as it is recorded

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model,) if isinstance(self.model, str) else self.model

    @field_validator("base_url", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        from .session import parse_base_urls  # the session imports this module

        return parse_base_urls(value)

    def decoding(self, base: Decoding) -> Decoding:
        """The build's decoding with this role's own values."""
        return base.with_overrides(**{
            name: value for name, value in
            (("temperature", self.temperature), ("top_p", self.top_p), ("max_tokens", self.max_tokens))
            if value is not None
        })


def parse_role(spec: str) -> tuple[str, RoleConfig]:
    """``STAGE=MODEL[,MODEL...][@URL]`` as (role name, its configuration); ``ValueError`` saying
    what is wrong."""
    name, sep, target = spec.partition("=")
    name, target = name.strip(), target.strip()
    if not sep or not name or not target:
        raise ValueError(f"must be STAGE=MODEL or STAGE=MODEL@URL, got {spec!r}")
    model, at, url = target.partition("@")
    if at and not url.strip():
        raise ValueError(f"{spec!r} has an @ without a URL after it")
    try:
        return name, RoleConfig(model=model, base_url=(url.strip(),) if at else ())
    except ValidationError as error:
        raise ValueError(f"{spec!r}: {error.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def roles_from(given: Sequence[str], recipe: Mapping[str, RoleConfig]) -> dict[str, RoleConfig]:
    """The build's roles: the recipe's tables, then the command line's (which win per name)."""
    roles = dict(recipe)
    for spec in given:
        name, role = parse_role(spec)
        roles[name] = role
    return roles


def domain_stages(domain: Domain, filters: Iterable[Filter], scorers: Iterable[Scorer],
                  options: Mapping[str, Any], max_tokens: int = 2048, *, evolve_answers: bool = False) -> tuple[str, ...]:
    """Every stage a build of ``domain`` may send requests for: rewriting and answering, rewriting
    answers (with ``evolve_answers``, for a domain that can check a rewritten answer), and what the
    domain, its filters and scorers declare they send (their ``requests``), by name."""
    stages = {EVOLVE_STAGE}
    if domain.respond is None:
        stages.add(RESPOND_STAGE)
    if evolve_answers and domain.answer_evolution:
        stages.add(EVOLVE_ANSWER_STAGE)
    seen = {**options, "max_tokens": max_tokens}
    for registration in (domain, *filters, *scorers):
        budget = registration.requests
        if budget is not None:
            stages.update(budget(seen))
    return tuple(sorted(stages))


def role_names(stages: Iterable[str]) -> tuple[str, ...]:
    """What a role may be named in a build with these stages: a stage, or ``judge``."""
    return (*sorted(stages), JUDGE_GROUP)


def stages_of_role(name: str, stages: Sequence[str]) -> tuple[str, ...]:
    """The stages role ``name`` serves; ``UsageError`` (exit 2) listing the valid names for an
    unknown one."""
    if name == JUDGE_GROUP:
        return tuple(stage for stage in stages if stage in JUDGING_STAGES)
    if name in stages:
        return (name,)
    raise UsageError(
        f"--role {name}: no such stage in this build; valid roles: {', '.join(role_names(stages))}"
    )


@dataclass(frozen=True)
class ResolvedRole:
    """A role with its endpoint resolved: what the session opens and the folder records."""

    name: str
    config: RoleConfig
    stages: tuple[str, ...]
    urls: tuple[str, ...]
    identity: str
    api_key: str | None

    @property
    def models(self) -> tuple[str, ...]:
        """The models that answer: the role's, or the offline model when nothing is configured."""
        from .session import OFFLINE_MODEL

        return self.config.models if self.urls else (OFFLINE_MODEL,)

    @property
    def model(self) -> str:
        """The models that answer, as one name for messages: ``model-a, model-b``."""
        return ", ".join(self.models)

    def recorded(self) -> dict[str, Any]:
        """What decides the role's answers (run.json compares it on resume), no secrets."""
        return {
            "model": self.models[0] if len(self.models) == 1 else list(self.models),
            "endpoint": self.identity, "stages": list(self.stages),
            **{name: getattr(self.config, name) for name in ("temperature", "top_p", "max_tokens")
               if getattr(self.config, name) is not None},
        }


def resolve_roles(roles: Mapping[str, RoleConfig], stages: Sequence[str], environ: Mapping[str, str], *,
                  build_urls: tuple[str, ...], build_identity: str, build_key: str | None) -> tuple[ResolvedRole, ...]:
    """Each role with its stages and endpoint; a stage claimed by a stage's own role is not the
    ``judge`` group's. Raises ``UsageError`` for an unknown name or a missing key variable."""
    from .session import endpoint_identity

    named = {name: stages_of_role(name, stages) for name in roles}
    own = {stage for name, served in named.items() if name != JUDGE_GROUP for stage in served}
    resolved = []
    for name in sorted(roles):
        config = roles[name]
        served = tuple(stage for stage in named[name] if name != JUDGE_GROUP or stage not in own)
        key = build_key
        if config.api_key_env is not None:
            key = environ.get(config.api_key_env) or None
            if key is None:
                raise UsageError(f"role {name}: api_key_env {config.api_key_env} is not set in the environment")
        urls = config.base_url or build_urls
        identity = endpoint_identity(urls) if config.base_url else build_identity
        resolved.append(ResolvedRole(name, config, served, urls, identity, key))
    return tuple(resolved)


def describe_role(role: ResolvedRole) -> str:
    where = ", ".join(public_url(url) for url in role.urls) or "the offline model"
    return f"{role.name}: {role.model} at {where} ({', '.join(role.stages) or 'no stage of this build'})"
