"""Command-line options generated from the option models, never declared by hand.

``BuildConfig`` (the build), ``InvocationOptions`` (a recipe, a dry run) and each domain's
``DomainOptions`` are the one declaration of ``evol build``'s options: a field with a docstring
becomes ``--field-name`` with that help and its default shown. Click only reads the words of the
command line (text, a repeated option, an on/off switch); every value is then checked by the
model itself, so the command line, a recipe and ``evolinstruct.build`` accept exactly the same
values and refuse the others with the same message.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Literal, Mapping, TypeVar, get_args, get_origin

import click
from click.core import ParameterSource
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from ...types.options import Cli


def flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def cli_options(model: type[BaseModel]) -> list[click.Option]:
    """One click option per documented field of ``model``, in the order of its fields."""
    return [field_option(name, info) for name, info in model.model_fields.items() if info.description]


def field_option(name: str, info: FieldInfo) -> click.Option:
    cli = next((item for item in info.metadata if isinstance(item, Cli)), Cli())
    kinds = _kinds(info.annotation)
    help_text = " ".join((info.description or "").split())
    shown = cli.default_text or _default_text(info)
    if info.is_required():
        # Not required by click: a recipe may give it; the model says so when neither does.
        help_text += "  [required]"
    elif shown:
        help_text += f"  [default: {shown}]"
    # default=None for every option: what the user did not give is left to the model's default
    # (and to a recipe, which a command-line default would otherwise override).
    common: dict[str, Any] = {"default": None, "help": help_text}
    if kinds == [bool]:
        return click.Option([f"{flag(name)}/--no-{name.replace('_', '-')}"], **common)
    if cli.flag_value is not None:
        # An option whose value may be left out (--ray alone, --batch alone), repeatable when declared so.
        return click.Option([flag(name)], is_flag=False, flag_value=cli.flag_value, metavar=cli.metavar,
                            multiple=cli.repeat, **common)
    base = kinds[0] if kinds else str
    if cli.repeat:
        return click.Option([flag(name)], multiple=True, metavar=cli.metavar or _metavar(get_args(base)[0]), **common)
    return click.Option([flag(name)], type=click.STRING, metavar=cli.metavar or _metavar(base), **common)


def _kinds(annotation: Any) -> list[Any]:
    """The types a field accepts, None left out: ``int | None`` is ``[int]``."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return [kind for part in get_args(annotation) for kind in _kinds(part)]
    return [] if annotation is type(None) else [annotation]


def _metavar(kind: Any) -> str:
    if get_origin(kind) is Literal:
        return "[" + "|".join(str(choice) for choice in get_args(kind)) + "]"
    if kind is bool:
        return "BOOLEAN"
    if kind is int:
        return "INTEGER"
    if kind is float:
        return "FLOAT"
    if kind is Path:
        return "PATH"
    if kind in (str, SecretStr):
        return "TEXT"
    return "TEXT"


def _default_text(info: FieldInfo) -> str | None:
    if info.is_required() or info.default_factory is not None:
        return None
    default = info.default
    if default is None or default is False or default in ((), "", {}):
        return None
    if default is True:
        return "on"
    return str(default)


Model = TypeVar("Model", bound=BaseModel)


def given_options(ctx: click.Context, params: Mapping[str, Any], model: type[Model]) -> Model:
    """The options of a command generated from ``model``, checked by it: those the user gave on
    the command line, the model's defaults for the others. A bad value is a ``UsageError``
    naming the option."""
    from ..build.config import checked  # here: the build's configuration loads only when used

    given = {name: value for name, value in params.items()
             if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    return checked(model, given, sources=dict.fromkeys(given, "the command line"),
                   unknown=f"is not an option of evol {ctx.info_name}")
