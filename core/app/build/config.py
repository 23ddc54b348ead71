"""A build's configuration: every option, validated in one place before anything is sent.

Options come from three places, later ones winning: the defaults here, a TOML recipe
(``evol build --config run.toml``), and the command line (or the keyword arguments of
``evolinstruct.build``). ``BuildConfig`` checks every value (pydantic), so a bad one is one clear
error naming the option and where it came from. The endpoint, API key and model are then
resolved against the environment (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``EVOL_MODEL``):

- a base URL (``--base-url``, repeatable, or a comma-separated ``OPENAI_BASE_URL``) is used as given;
- an API key with no base URL means the official client's default endpoint (OpenAI);
- neither: the bundled offline model, which writes placeholder text and says so everywhere.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Callable, Mapping, Sequence, TypeVar

from pydantic import (
    BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator,
)

# The endpoint is resolved as every command resolves it (evol curate's judge too), and the model
# names are declared there.
from ...runtime.session import (  # noqa: F401 (DEFAULT_MODEL, OFFLINE_ENDPOINT: this module's names too)
    DEFAULT_MODEL, OFFLINE_ENDPOINT, OFFLINE_MODEL, endpoint_identity, endpoint_urls, model_name, parse_base_urls,
)
from ...runtime.pricing import Price, RecipePrice, parse_price, price_table
from ...runtime.roles import RoleConfig, parse_role, roles_from
from ...runtime.urls import public_url
from ...types.errors import UsageError
from ...types.options import Cli, path_fields, rows_unchanged
from ...types.records import Decoding


_SPEC_PARSERS: Mapping[str, tuple[str, Callable[[str], object]]] = {
    "role": ("STAGE=MODEL[@URL]", parse_role),
    "price": ("MODEL=IN/OUT", parse_price),
}
"""The repeatable NAME=VALUE options: the shape an entry must have, and the parser that checks it."""

MAX_TIMEOUT = 24 * 3600.0
MAX_OUTAGE = 7 * 24 * 3600.0

SAME_ROWS = Cli(rows_unchanged=True)
"""The mark of a field that cannot change what a row holds (how fast, how many at once, where the
work runs, what it costs, what is shown): a folder resumes when only such fields differ. Every
other field decides the dataset (``dataset_options``)."""


class BuildConfig(BaseModel):
    """Everything ``evol build`` accepts, validated: the one declaration of the build's options.

    Each field is an ``evol build`` option (``--top-p`` for ``top_p``; help: the field's
    docstring; default: its default, or its ``Cli.default_text``), a key of a TOML recipe and a
    keyword of ``evolinstruct.build``; the command line is generated from this class
    (``cli/options.py``), so the three accept the same values. A field without a docstring is
    not a command-line option.
    """

    # No float option means anything as inf or nan: both pass a ">= 0" check and then break a
    # timer or a weighted draw deep inside the run, where they look like our bug.
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)

    domain: str = "general"
    """Domain to evolve (see `evol domains list`)."""
    seeds: Path
    """Seed instructions: JSONL, a JSON array (Alpaca style) or Parquet."""
    out: Annotated[Path, SAME_ROWS]
    """Output folder; running the same command on it again resumes."""
    rounds: Annotated[int, Field(ge=0, le=100), Cli(default_text="4, or the schedule's length")] = 4
    """Evolution rounds per seed."""
    schedule: Annotated[tuple[str, ...] | None, Cli(default_text="a draw from all of the domain's operations")] = None
    """Per-round operations or tags, comma-separated (e.g. down,down,up,up,up)."""
    operation_weights: Annotated[dict[str, float], Cli(metavar="NAME=W,...", default_text="the domain's")] = Field(
        default_factory=dict)
    """Relative chance of each operation in a round's draw (e.g. complexity=0.25)."""
    model: Annotated[str | None, Cli(default_text="$EVOL_MODEL, else gpt-4o-mini")] = None
    """Model name."""
    base_url: Annotated[tuple[str, ...], Cli(repeat=True, default_text="$OPENAI_BASE_URL (comma-separated), else OpenAI's "
                                                                       "when an API key is set, else the bundled offline model")] = ()
    """OpenAI-compatible endpoint; repeat it for several replicas of one model."""
    # Which endpoint a key selects (OpenAI's, without a base URL) is in the endpoint's identity.
    api_key: Annotated[SecretStr | None, Cli(default_text="$OPENAI_API_KEY", rows_unchanged=True)] = None
    """API key."""
    role: Annotated[tuple[str, ...], Cli(repeat=True, metavar="STAGE=MODEL[@URL]", default_text="none: every stage "
                                         "asks --model")] = ()
    """A model (at its own endpoint after @) for one stage (see `evol domains list`), or for every judging stage
    (judge=MODEL); several comma-separated models share the stage's requests (evolve=model-a,model-b); repeatable. A recipe's [roles.STAGE] tables say more: base_url, api_key_env, decoding,
    concurrency."""
    price: Annotated[tuple[str, ...], Cli(repeat=True, metavar="MODEL=IN/OUT", default_text="a built-in table of "
                                          "well-known models; others: cost unknown", rows_unchanged=True)] = ()
    """A model's price in dollars per million prompt/completion tokens (gpt-4o=2.5/10); repeatable."""
    # The cap stops sending, and a higher one resumes the build: it says when, never what a row holds.
    max_cost: Annotated[float | None, Field(gt=0), Cli(metavar="USD", rows_unchanged=True)] = None
    """Stop before a request could take the build's spending past USD (exit 3; run again with a higher cap to
    continue). Every model asked needs a price."""
    # The Batch API answers the same requests (the same cache keys) as the direct route.
    batch: Annotated[tuple[str, ...], Cli(repeat=True, flag_value="all", metavar="[ROLE]", default_text="off",
                                          rows_unchanged=True)] = ()
    """Send requests through the provider's Batch API at half price (OpenAI, Azure OpenAI and compatible servers):
    --batch alone for every request, --batch ROLE for one role's (a --role name, or `default` for the stages no
    role claims); repeatable. A batch answers within 24 hours; a killed build resumes by collecting its batches."""
    batch_size: Annotated[int, Field(ge=1, le=50_000), SAME_ROWS] = 1000
    """Most requests in one batch (OpenAI takes up to 50,000)."""
    batch_window: Annotated[float, Field(gt=0.0, le=MAX_TIMEOUT), SAME_ROWS] = 30.0
    """Seconds the first ready request waits for others to fill its batch before the batch is sent."""
    endpoint_id: Annotated[str | None, Cli(default_text="the URLs")] = None
    """A name for the endpoint in cache keys and provenance, for replicas whose URLs change."""
    # Lineages are written in seed order, whatever order they finish in.
    concurrency: Annotated[int, Field(ge=1, le=4096), SAME_ROWS] = 32
    """Most requests in flight per endpoint; lowered on 429 and grown back."""
    seed: int = 0
    """Run seed: operation draws and request seeds derive from it."""
    limit: int | None = Field(None, ge=1)
    """Use only the first K seeds."""
    shard: Annotated[tuple[int, int] | None, Cli(metavar="I/N")] = None
    """Build only seeds whose index is I modulo N; shards of one run merge into the same dataset."""
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    """Sampling temperature, 0 to 2."""
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    """Nucleus sampling, above 0 and at most 1."""
    max_tokens: int = Field(2048, ge=1)
    """Most tokens per completion."""
    # Attempts, timeouts and the outage limit decide whether a sample fails now (failed.jsonl, retried
    # by the next run), never what its row holds: a request's cache key has none of them.
    max_attempts: Annotated[int, Field(ge=1), SAME_ROWS] = 6
    """Attempts per request before its sample is recorded as failed."""
    # Upper bounds far beyond any real wait, well below what overflows the event loop's timers.
    timeout: Annotated[float, Field(gt=0.0, le=MAX_TIMEOUT), SAME_ROWS] = 600.0
    """Seconds before one request is abandoned and retried."""
    max_outage: Annotated[float, Field(gt=0.0, le=MAX_OUTAGE), SAME_ROWS] = 600.0
    """Seconds the run waits for an unreachable endpoint before it stops (exit 3)."""
    difficulty: bool = False
    """Rate each answered sample's instruction 1-10 with an LLM judge (scores.difficulty; null when its reply states
    no rating), the requests evol curate --difficulty reuses from the cache."""
    quality: bool = False
    """Rate each answer for its instruction 1-6 (Deita's scale) with an LLM judge (scores.quality; null when its
    reply states no rating)."""
    evolve_answers: int = Field(0, ge=0, le=16)
    """Rewrite each kept answer K times, each along one of Deita's directions (helpfulness, relevance, depth,
    creativity, level of detail); the domain's checks apply to every version, the best by --quality stays the
    response and all are listed in fields.answer_candidates. Needs --quality."""
    # Without it a file with a malformed record is refused whole, so there are no rows it could
    # have changed; with it the valid seeds are numbered as they would be in a file without the
    # malformed records.
    skip_invalid: Annotated[bool, SAME_ROWS] = False
    """Skip malformed seed records (listed in the manifest) instead of stopping."""
    restart: Annotated[bool, SAME_ROWS] = False
    """Start the folder over with these settings (the response cache is kept)."""
    progress: Annotated[bool | None, Cli(default_text="on a terminal", rows_unchanged=True)] = None
    """Live progress display."""
    # The shards' rows are merged in seed order: the same files as a build in one process.
    ray: Annotated[str | None, Cli(metavar="[ADDRESS]", flag_value="", rows_unchanged=True)] = None
    """Run the build on a Ray cluster, one shard per CPU: at ADDRESS, else $RAY_ADDRESS, else a new local cluster
    (`--ray local`: always a new one). The output folder and the seeds must be on storage every node mounts at the
    same path. Needs the extra: pip install "evolinstruct[ray]"."""
    # Not command-line options (no docstring): the domain's options are its own model's fields,
    # and the invocation is recorded, not given.
    options: dict[str, Any] = Field(default_factory=dict)  # the domain's own options, by option name
    roles: dict[str, RoleConfig] = Field(default_factory=dict)  # a recipe's [roles.NAME] tables
    prices: Annotated[dict[str, RecipePrice], SAME_ROWS] = Field(default_factory=dict)  # [prices."MODEL"] tables
    command: Annotated[tuple[str, ...], SAME_ROWS] = ()  # what asked for this build, secrets masked (for the manifest)
    call: Annotated[str | None, SAME_ROWS] = None  # a build started from Python: the call, secrets masked

    @model_validator(mode="before")
    @classmethod
    def _rounds_from_schedule(cls, values: Any) -> Any:
        # A schedule says how many rounds there are; one of another type is the schedule's check to refuse.
        if isinstance(values, Mapping) and values.get("rounds") is None and values.get("schedule"):
            schedule = values["schedule"]
            if isinstance(schedule, (str, list, tuple)):
                values = {**values, "rounds": len(schedule.split(",") if isinstance(schedule, str) else schedule)}
        return values

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if value is None:
            return None
        # Checked here, since a mode="before" validator sees the raw value: 5 from a recipe is no list.
        if not isinstance(value, (list, tuple)) or not all(isinstance(entry, str) for entry in value):
            raise ValueError("must be operation or tag names: a list of strings or one comma-separated string")
        entries = [entry.strip() for entry in value]
        if not entries or any(not entry for entry in entries):
            raise ValueError("entries must be non-empty operation or tag names, separated by commas")
        return tuple(entries)

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, value: Any) -> Any:
        return parse_base_urls(value)

    @field_validator("role", "price", mode="before")
    @classmethod
    def _name_value_specs(cls, value: Any, info: ValidationInfo) -> Any:
        # Repeatable NAME=VALUE options: one string or a list of them, each checked by its parser
        # now, so a bad entry is refused before anything runs.
        shape, parse = _SPEC_PARSERS[info.field_name]
        if isinstance(value, str):
            value = (value,)
        if not isinstance(value, (list, tuple)) or not all(isinstance(entry, str) for entry in value):
            raise ValueError(f"must be {shape} strings")
        for entry in value:
            parse(entry)  # a ValueError names the entry
        return tuple(value)

    @field_validator("batch", mode="before")
    @classmethod
    def _batch(cls, value: Any) -> Any:
        # A recipe may say batch = true (every request) or name roles, as the command line does.
        if value is True:
            return ("all",)
        if value is None or value is False:
            return ()
        if isinstance(value, str):
            value = (value,)
        if not isinstance(value, (list, tuple)) or not all(isinstance(entry, str) and entry.strip() for entry in value):
            raise ValueError("must be true, or role names (a --role name, default or all)")
        return tuple(entry.strip() for entry in value)

    @field_validator("shard", mode="before")
    @classmethod
    def _shard(cls, value: Any) -> Any:
        if value is None:
            return value
        try:
            if isinstance(value, (tuple, list)):  # from Python: the same check as for "I/N"
                part, parts = value
                if not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
                    raise ValueError
            else:
                part, parts = (int(x) for x in str(value).split("/"))
        except ValueError:
            raise ValueError(f"must be I/N, got {value!r}") from None
        if not 0 <= part < parts:
            raise ValueError(f"must be I/N with 0 <= I < N, got {value!r}")
        return (part, parts)

    @field_validator("ray", mode="before")
    @classmethod
    def _ray(cls, value: Any) -> Any:
        if value is None or value is False:
            return None
        if value is True:
            value = ""
        if not isinstance(value, str):
            raise ValueError("must be a cluster address (a string), or true for $RAY_ADDRESS or a local cluster")
        import importlib.util

        try:
            found = importlib.util.find_spec("ray") is not None
        except ValueError:  # a module blocked in sys.modules
            found = False
        if not found:
            raise ValueError('needs Ray, an optional extra: pip install "evolinstruct[ray]"')
        return value.strip()

    @field_validator("operation_weights", mode="before")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        if isinstance(value, str):
            weights = {}
            for entry in value.split(","):
                name, sep, weight = entry.partition("=")
                if not sep or not name.strip():
                    raise ValueError(f"entries must be NAME=WEIGHT, got {entry.strip()!r}")
                try:
                    weights[name.strip()] = float(weight)
                except ValueError:
                    raise ValueError(f"weight of {name.strip()!r} is not a number: {weight!r}") from None
            value = weights
        return value

    @field_validator("operation_weights")
    @classmethod
    def _weights_not_negative(cls, value: dict[str, float]) -> dict[str, float]:
        negative = [name for name, weight in value.items() if not weight >= 0]
        if negative:
            raise ValueError(f"weights must be finite numbers >= 0 ({', '.join(negative)})")
        return value

    @model_validator(mode="after")
    def _schedule_fits_rounds(self) -> BuildConfig:
        if self.schedule is not None and len(self.schedule) != self.rounds:
            raise ValueError(f"schedule has {len(self.schedule)} entries but rounds is {self.rounds}")
        return self

    # --- resolved against the environment ------------------------------------------------------

    def endpoint_urls(self, environ: Mapping[str, str]) -> tuple[str, ...]:
        """The endpoints to talk to; empty for the offline model (``runtime.session.resolve_endpoint``,
        as every command resolves them)."""
        return endpoint_urls(environ, self.base_url, self.resolved_api_key(environ))

    def resolved_api_key(self, environ: Mapping[str, str]) -> str | None:
        if self.api_key is not None:
            return self.api_key.get_secret_value() or None
        return environ.get("OPENAI_API_KEY") or None

    def resolved_model(self, environ: Mapping[str, str], offline: bool) -> str:
        if offline:
            return OFFLINE_MODEL
        return model_name(environ, self.model)

    def identity(self, urls: Sequence[str]) -> str:
        """The endpoint's identity in cache keys and provenance (never a password)."""
        return endpoint_identity(urls, self.endpoint_id)

    @property
    def all_roles(self) -> dict[str, RoleConfig]:
        """The recipe's roles with the command line's over them."""
        return roles_from(self.role, self.roles)

    @property
    def all_prices(self) -> dict[str, Price]:
        """The built-in prices, the recipe's [prices] over them, the command line's --price over both."""
        return price_table(self.price, self.prices)

    @property
    def decoding(self) -> Decoding:
        return Decoding(self.temperature, self.top_p, self.max_tokens)

    def recorded(self) -> dict[str, Any]:
        """The configuration as the manifest keeps it: JSON, no secrets."""
        # The invocation is recorded beside it, and the display is not part of the build.
        data = self.model_dump(mode="json", exclude={"api_key", "command", "call", "progress"})
        data["base_url"] = [public_url(url) for url in self.base_url]
        data["options"] = {key: _jsonable(value) for key, value in self.options.items()}
        return data


def dataset_options() -> frozenset[str]:
    """The fields of ``BuildConfig`` that can change what a row holds: every field not marked
    ``SAME_ROWS``. A folder records them (``run.json``) and refuses a rerun that changes one."""
    return frozenset(BuildConfig.model_fields) - rows_unchanged(BuildConfig)


class InvocationOptions(BaseModel):
    """The options of ``evol build`` that are about one invocation, not about the build (a recipe
    to read, a dry run and its prices): command-line options generated like ``BuildConfig``'s,
    never recorded in the folder."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)

    config: Annotated[Path | None, Cli(metavar="PATH")] = None
    """A TOML recipe with the same options (the domain's under [options]); options given here override it."""
    dry_run: bool = False
    """Check everything, then print the most requests and tokens per stage the build would send, and stop; nothing
    is sent or written."""
    price_in: Annotated[float | None, Field(ge=0)] = None
    """With --dry-run: price per million prompt tokens, to show the most it can cost."""
    price_out: Annotated[float | None, Field(ge=0)] = None
    """With --dry-run: price per million completion tokens."""


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


Model = TypeVar("Model", bound=BaseModel)


def checked(model: type[Model], values: Mapping[str, Any], *, sources: Mapping[str, str] | None = None,
            unknown: str = "is not an option of evol build") -> Model:
    """``model`` made from ``values``; a bad value is a ``UsageError`` naming the option and where
    it came from (a recipe, the command line), whichever of the option models it belongs to."""
    try:
        return model(**values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            location = [str(part) for part in item["loc"]]
            field = location[0] if location else ""
            where = (sources or {}).get(field, "")
            label = option_name(field) if field else "the configuration"
            if field == "options" and len(location) > 1:
                label = option_name(location[1])
            if field == "roles" and len(location) > 1:  # a recipe's [roles.NAME] table, and its key
                label = f"[roles.{location[1]}]" + (f" {location[2].replace('_', '-')}" if len(location) > 2 else "")
            if field == "prices" and len(location) > 1:  # a recipe's [prices."MODEL"] table, and its key
                label = f'[prices."{location[1]}"]' + (f" {location[2]}" if len(location) > 2 else "")
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = unknown
            problems.append(f"{label}{f' (from {where})' if where else ''}: {message}")
        raise UsageError("; ".join(problems)) from None


def make_config(values: Mapping[str, Any], *, sources: Mapping[str, str] | None = None) -> BuildConfig:
    """A validated ``BuildConfig``; a bad value is a ``UsageError`` naming the option and its source."""
    return checked(BuildConfig, values, sources=sources)


def read_recipe(path: Path) -> dict[str, Any]:
    """The options of a TOML recipe, with the domain's own options under ``[options]``."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"--config {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"--config {path}: is a folder, not a TOML file") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 ({error.reason})") from None
    recipe = {key.replace("-", "_"): value for key, value in data.items()}
    if "options" in recipe:
        if not isinstance(recipe["options"], dict):
            raise UsageError(f"{path}: [options] must be a table of the domain's options")
        recipe["options"] = {key.replace("-", "_"): value for key, value in recipe["options"].items()}
    if "price" in recipe:  # --price's spelling; a recipe says it as tables, one per model
        raise UsageError(f'{path}: price: a recipe gives prices as tables, one per model: [prices."gpt-4o"] '
                         "input = 2.5, output = 10 (dollars per million prompt and completion tokens)")
    if "prices" in recipe and not isinstance(recipe["prices"], dict):
        raise UsageError(f'{path}: prices must be a table of models: [prices."gpt-4o"] input = 2.5, output = 10')
    if isinstance(recipe.get("roles"), dict):  # [roles.NAME] tables spell their keys as the options do
        recipe["roles"] = {
            name: {key.replace("-", "_"): value for key, value in table.items()} if isinstance(table, dict) else table
            for name, table in recipe["roles"].items()
        }
    return {**recipe, **relative_to_recipe(path, recipe, BuildConfig)}


def relative_to_recipe(recipe: Path, values: Mapping[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """The paths among ``values`` (fields of ``model`` that hold one) read from the recipe's folder
    when relative, as in any configuration file."""
    return {key: str(recipe.parent / values[key]) for key in path_fields(model)
            if isinstance(values.get(key), str) and not Path(values[key]).is_absolute()}


