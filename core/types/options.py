"""Build options, declared once: a typed model per set of options.

The core's options (``BuildConfig``) and each domain's own (a ``DomainOptions`` subclass a plugin
declares) are pydantic models. Everything else is derived from the model: the ``evol build``
command-line options with their help and ``[default: ...]``, the keys of a TOML recipe, the
keyword arguments of ``evolinstruct.build``, and the checks every value goes through, whichever
of the three it came from. So the command line and the Python API accept the same values.

A field's docstring (the string literal under it) is its help text; ``Cli`` adds what a field
alone cannot say about its command-line form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class Cli:
    """What the command line shows of a field beyond its name, type, help and default.

    Put it in the field's ``Annotated[...]`` metadata. ``default_text`` replaces the shown
    default where the real one depends on the environment or on another option ("$EVOL_MODEL,
    else gpt-4o-mini"); ``metavar`` names the value's form ("I/N"); ``flag_value`` lets the option
    be given without a value (``--ray`` alone means "" here); ``repeat`` makes a list's option
    one to repeat (``--base-url A --base-url B``) rather than one comma-separated value.
    """

    metavar: str | None = None
    default_text: str | None = None
    flag_value: str | None = None
    repeat: bool = False
    rows_unchanged: bool = False
    """True for an option that cannot change a row (how many workers, how fast): a folder
    resumes when only such options differ from the ones it was built with."""
    path: bool = False
    """True for an option holding a file's path whose type is not ``Path`` (a type of the
    plugin's that reads the file): in a recipe a relative path is then read from the recipe's
    folder, as for every option typed ``Path``."""


class DomainOptions(BaseModel):
    """Base of a domain's own build options: subclass it with one field per option.

    ::

        class HaikuOptions(DomainOptions):
            syllables: int = Field(17, ge=5, le=40)
            \"\"\"haiku: syllables a poem may have.\"\"\"

    and ``Domain(..., options=HaikuOptions)``. Each field is an ``evol build --syllables`` option,
    a key of a recipe's ``[options]`` table and a keyword of ``evolinstruct.build``; the run's
    code receives the checked instance as ``ctx.options`` (``ctx.options.syllables``, an int).
    Field names must be unique among the installed domains and must not be a core option's.

    The instance also reads like a mapping (``options["syllables"]``, ``options.get(...)``), for
    code such as a request budget that is given options without knowing the domain.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)

    def __getitem__(self, name: str) -> Any:
        if name not in type(self).model_fields:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in type(self).model_fields else default

    def keys(self) -> Iterator[str]:
        return iter(type(self).model_fields)

    def __contains__(self, name: object) -> bool:
        return name in type(self).model_fields

    def __len__(self) -> int:
        return len(type(self).model_fields)


def rows_unchanged(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` marked ``Cli(rows_unchanged=True)``: options a resumed build may change."""
    return frozenset(
        name for name, info in model.model_fields.items()
        if any(isinstance(item, Cli) and item.rows_unchanged for item in info.metadata)
    )


def path_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` that hold a file's path: typed ``Path`` (or ``Path | None``), or
    marked ``Cli(path=True)``. A recipe's relative paths are relative to the recipe."""
    from pathlib import Path
    from typing import get_args

    def is_path(annotation: Any) -> bool:
        return annotation is Path or any(is_path(part) for part in get_args(annotation))

    return frozenset(
        name for name, info in model.model_fields.items()
        if is_path(info.annotation) or any(isinstance(item, Cli) and item.path for item in info.metadata)
    )
