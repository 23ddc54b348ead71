"""One session: where requests go (endpoints), the LLM client, the response cache and the run
context, built in one place for every command that talks to a model over a build folder.

A build, ``evol curate --difficulty`` and the testing kit's ``SampleContexts`` all open a
``Session`` and ask it for a ``RunContext``: their requests go through ``SampleContext.complete``,
so a request's seed and its cache key come from one function whoever sends it, and the judge of
``evol curate`` finds the answers a build with the same seed already paid for.

The session maps a stage (``evolve``, ``respond``, ``difficulty``...) to the client that serves
it (``llm_for``): the default endpoint's, unless a role (``runtime.roles``) claims the stage; the
run context sends each stage's requests to its client, so a role's answers are cached and
recorded under its own model and endpoint. With ``batching``, the clients of the roles it names
send through the provider's Batch API (``runtime.batches``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..types.context import DomainView, ModelChoice, RunContext
from ..types.errors import UsageError
from ..types.records import Decoding
from .batches import BatchQueue, Batching, client_name
from .cache import Cache
from .llm import LLM
from .pricing import CostMeter, Price
from .urls import OPENAI_URL, normalise_url, public_url

DEFAULT_MODEL = "gpt-4o-mini"
"""The model asked when none is given (``--model``, ``EVOL_MODEL``)."""
OFFLINE_MODEL = "offline-placeholder"
OFFLINE_ENDPOINT = "offline"
"""The identity of the bundled offline model in cache keys and provenance."""
OFFLINE_API_KEY = "offline"
DEFAULT_ROLE = "default"


def parse_base_urls(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """The endpoint URLs of ``--base-url`` (repeatable, or comma-separated) or ``OPENAI_BASE_URL``;
    raises ``ValueError`` naming the first that is not an http(s) URL or carries a password."""
    if value is None:
        return ()
    urls = [value] if isinstance(value, str) else value
    if not isinstance(urls, (list, tuple)) or not all(isinstance(url, str) for url in urls):
        raise ValueError("must be http(s) URLs: a list of strings or one comma-separated string")
    out = []
    for url in urls:
        for part in url.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.startswith(("http://", "https://")):
                raise ValueError(f"{public_url(part)!r} is not an http(s) URL")
            if "@" in part.split("://", 1)[1].split("/", 1)[0]:
                raise ValueError(
                    f"{public_url(part)} carries a user name and password; the key goes with --api-key "
                    "(or OPENAI_API_KEY) and is sent as a bearer token"
                )
            out.append(part)
    return tuple(out)


@dataclass(frozen=True)
class EndpointConfig:
    """One role's endpoint, resolved: where its requests go, as which model, under which name in
    cache keys, and how patiently. No URLs: the bundled offline model."""

    urls: tuple[str, ...]
    model: str
    identity: str | None
    """The endpoint's name in cache keys and provenance (never a password); None: its URLs."""
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 32
    max_attempts: int = 6
    timeout: float = 600.0
    max_outage: float = 600.0
    backoff_max: float = 30.0

    @property
    def offline(self) -> bool:
        return not self.urls


def resolve_endpoint(
    environ: Mapping[str, str],
    *,
    base_url: Sequence[str] = (),
    api_key: str | None = None,
    model: str | None = None,
    endpoint_id: str | None = None,
    **limits: Any,
) -> EndpointConfig:
    """The endpoint the options and the environment name, resolved the same way for every command:
    ``base_url`` or ``$OPENAI_BASE_URL``, else OpenAI's when a key is set, else the offline model;
    ``model`` or ``$EVOL_MODEL`` or ``DEFAULT_MODEL``; the key from ``api_key`` or
    ``$OPENAI_API_KEY``. ``limits`` are ``EndpointConfig``'s (concurrency, timeout...)."""
    key = (api_key or None) if api_key is not None else (environ.get("OPENAI_API_KEY") or None)
    urls = endpoint_urls(environ, base_url, key)
    if not urls:
        return EndpointConfig((), OFFLINE_MODEL, OFFLINE_ENDPOINT, OFFLINE_API_KEY, **limits)
    if endpoint_id == OFFLINE_ENDPOINT:
        raise UsageError(f"--endpoint-id {OFFLINE_ENDPOINT} names the bundled offline model; choose another name")
    return EndpointConfig(urls, model_name(environ, model), endpoint_identity(urls, endpoint_id), key, **limits)


def endpoint_urls(environ: Mapping[str, str], base_url: Sequence[str], api_key: str | None) -> tuple[str, ...]:
    """``base_url`` or ``$OPENAI_BASE_URL`` (one spelling per server, however often it is named),
    else OpenAI's when there is a key, else none: the offline model."""
    try:
        given = tuple(base_url) or parse_base_urls(environ.get("OPENAI_BASE_URL") or None)
    except ValueError as error:
        raise UsageError(f"OPENAI_BASE_URL (from the environment): {error}") from None
    if given:
        return tuple(dict.fromkeys(normalise_url(url) for url in given))
    return (OPENAI_URL,) if api_key else ()


def model_name(environ: Mapping[str, str], model: str | None) -> str:
    """The model asked for: ``--model``, else ``$EVOL_MODEL``, else ``DEFAULT_MODEL``."""
    return model or environ.get("EVOL_MODEL") or DEFAULT_MODEL


def endpoint_identity(urls: Sequence[str], endpoint_id: str | None = None) -> str:
    """The endpoints' name in cache keys and provenance (never a password): ``--endpoint-id``, else
    the sorted URLs; ``offline`` for the bundled model (no URL)."""
    if not urls:
        return OFFLINE_ENDPOINT
    return endpoint_id or ",".join(sorted(public_url(url) for url in urls))


class Session:
    """The endpoints, clients and cache of one command; close it (or use ``with``) when done.

    ``open`` starts the bundled offline model when the endpoint has no URL. ``cache`` is the
    folder's response cache (a shard of a cluster build passes its own).
    """

    def __init__(
        self,
        endpoint: EndpointConfig,
        cache: Cache,
        *,
        roles: Mapping[str, tuple[EndpointConfig | Sequence[EndpointConfig], Sequence[str]]] | None = None,
        make_llm: Callable[[EndpointConfig, Cache], LLM] | None = None,
        prices: Mapping[str, Price] | None = None,
        meter: CostMeter | None = None,
        batching: Batching | None = None,
    ) -> None:
        self.batching = batching
        self.prices = dict(prices or {})
        self.meter = meter
        self.endpoint = endpoint
        self.cache = cache
        self._make_llm = make_llm or _llm
        self._stack = contextlib.ExitStack()
        # A client per model of each role: the role's name when it has one model, ROLE[MODEL]
        # for each of a role's several models (its stages' requests are spread over them).
        self._clients: dict[str, LLM] = {}
        self._role_of_stage: dict[str, str] = {}
        self._endpoints: dict[str, EndpointConfig] = {DEFAULT_ROLE: endpoint}
        self._role_of_client: dict[str, str] = {DEFAULT_ROLE: DEFAULT_ROLE}
        self._clients_of_role: dict[str, tuple[str, ...]] = {DEFAULT_ROLE: (DEFAULT_ROLE,)}
        for role, (config, stages) in (roles or {}).items():
            configs = (config,) if isinstance(config, EndpointConfig) else tuple(config)
            names = (role,) if len(configs) == 1 else tuple(f"{role}[{each.model}]" for each in configs)
            for name, each in zip(names, configs):
                self._endpoints[name] = each
                self._role_of_client[name] = role
            self._clients_of_role[role] = names
            self._role_of_stage.update(dict.fromkeys(stages, role))

    @classmethod
    def open(
        cls, endpoint: EndpointConfig, cache: Cache | Path, *, offline_server: Callable[[], Any] | None = None,
        **kwargs: Any,
    ) -> Session:
        """A session on ``endpoint`` with ``cache`` (a path: opened here and closed with the
        session). An endpoint without URLs is the bundled offline model: ``offline_server`` (the
        ``LoopbackLLM`` class, which lives above this layer) is started for it and stopped with
        the session."""
        stack = contextlib.ExitStack()
        if isinstance(cache, Path):
            cache = stack.enter_context(contextlib.closing(Cache(cache)))
        if endpoint.offline:
            if offline_server is None:
                stack.close()
                raise ValueError("an endpoint without URLs needs offline_server to serve the offline model")
            server = stack.enter_context(offline_server())
            endpoint = dataclasses.replace(endpoint, urls=(server.base_url,))
            # A role without endpoints of its own asks the build's: here the offline model.
            def served(config: EndpointConfig) -> EndpointConfig:
                return dataclasses.replace(config, urls=(server.base_url,)) if config.offline else config

            kwargs["roles"] = {
                role: (served(config) if isinstance(config, EndpointConfig) else tuple(map(served, config)), stages)
                for role, (config, stages) in (kwargs.get("roles") or {}).items()
            }
        session = cls(endpoint, cache, **kwargs)
        session._stack.push(stack)
        return session

    def llm_for(self, stage: str | None = None) -> LLM:
        """The client that serves ``stage`` (the default endpoint's unless a role claims it).
        A stage of several models has no one client (``ValueError``): the run context draws
        among them per sample."""
        names = self._clients_of_role[self._role_of_stage.get(stage or "", DEFAULT_ROLE)]
        if len(names) > 1:
            raise ValueError(f"stage {stage} is served by several models ({', '.join(names)}); send through a run context")
        return self._client(names[0])

    def _client(self, name: str) -> LLM:
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self._make_llm(self._endpoints[name], self.cache)
            client.price = self.prices.get(client.model)
            client.meter = self.meter
            if self.batching is not None:
                self._batch(name, client)
        return client

    def _batch(self, name: str, client: LLM) -> None:
        """Give ``client`` (named ``name`` in the session) its batch queue when its role is
        batched, or when an earlier run left batches of it in flight (which it collects instead
        of sending their requests again)."""
        assert self.batching is not None
        queue = client_name(client.model, client.identity)
        submits = self._role_of_client[name] in self.batching.roles
        if submits or self.batching.ledger.of(queue):
            client.batches = BatchQueue(
                endpoints=client.endpoints.all, name=queue, ledger=self.batching.ledger,
                settings=self.batching.settings, accept=client.accept_batch_line, stats=client.stats,
                max_attempts=client.max_attempts, max_outage=self._endpoints[name].max_outage, submits=submits,
            )

    @property
    def llm(self) -> LLM:
        return self.llm_for(None)

    @property
    def clients(self) -> list[LLM]:
        return list(self._clients.values())

    def run_context(
        self,
        domain: DomainView,
        *,
        seed: int,
        options: Any = None,  # the domain's checked options (RunContext.options), passed as they are
        out_dir: Path | None = None,
        decoding: Decoding | None = None,
        role_decoding: Mapping[str, Decoding] | None = None,
        resources: dict[str, Any] | None = None,
    ) -> RunContext:
        """The context domain code and judges send their requests through: each stage a role
        serves goes to the role's client (a role of several models: the one the sample draws),
        with ``role_decoding[role]`` when given."""
        decoding = decoding or Decoding()
        several = {stage: self._clients_of_role[role] for stage, role in self._role_of_stage.items()
                   if len(self._clients_of_role[role]) > 1}
        return RunContext(
            domain=domain, options=options if options is not None else {}, seed=seed, out_dir=out_dir,
            llm=self.llm, cache=self.cache,
            decoding=decoding, resources=resources if resources is not None else {},
            stage_llms={stage: self.llm_for(stage) for stage in self._role_of_stage if stage not in several},
            stage_decoding={stage: (role_decoding or {}).get(role, decoding)
                            for stage, role in self._role_of_stage.items()},
            stage_models={stage: tuple(ModelChoice(self._endpoints[name].model, self._endpoints[name].identity or "",
                                                   self._client(name)) for name in names)
                          for stage, names in several.items()},
        )

    def role_numbers(self) -> dict[str, dict[str, Any]]:
        """Requests, tokens, failures and latency of each role's client this invocation (the
        default endpoint's as ``default``; each model of a role of several as ``ROLE[MODEL]``),
        for the manifest."""
        numbers = {}
        for name, client in self._clients.items():
            config, role = self._endpoints[name], self._role_of_client[name]
            stats = client.stats
            sent = sum(endpoint.stats.requests for endpoint in client.endpoints.all)
            answered = sent - sum(endpoint.stats.failures for endpoint in client.endpoints.all)
            latency = sum(endpoint.stats.latency_s for endpoint in client.endpoints.all)
            numbers[name] = {
                "role": role, "model": config.model, "endpoint": config.identity,
                "stages": sorted(stage for stage, owner in self._role_of_stage.items() if owner == role),
                "sent": stats.sent, "from_cache": stats.cached, "retries": stats.retries, "failed": stats.failed,
                "tokens": stats.usage.as_dict(),
                # None: the model has no price, so what it cost is unknown (never 0).
                "cost_usd": round(cost, 6) if (cost := client.cost()) is not None else None,
                "mean_latency_s": round(latency / answered, 4) if answered > 0 else None,
            }
            if client.batches is not None:
                numbers[name]["batch"] = {
                    "submits": client.batches.submits, "batches": client.batches.counts.batches,
                    "requests": client.batches.counts.requests, "answered_tokens": stats.batch_usage.as_dict(),
                    # What the same answers would have cost as direct requests, less what they cost.
                    "discount_usd": round(client.batch_saving(), 6) if client.price is not None else None,
                }
        return numbers

    async def preflight(self) -> list[str]:
        """Reach every endpoint of every client once; returns warnings, raises what stops the run."""
        warnings: list[str] = []
        for client in self.clients or [self.llm]:
            warnings.extend(await client.preflight())
        return warnings

    async def aclose(self) -> None:
        """Close the clients' HTTP connections (in the event loop that used them)."""
        for client in self._clients.values():
            await client.aclose()

    def close(self) -> None:
        """Stop the offline model and close the cache, when the session opened them."""
        self._stack.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _llm(endpoint: EndpointConfig, cache: Cache) -> LLM:
    return LLM(
        model=endpoint.model, base_url=endpoint.urls, api_key=endpoint.api_key, cache=cache,
        identity=endpoint.identity, concurrency=endpoint.concurrency, max_attempts=endpoint.max_attempts,
        timeout=endpoint.timeout, max_outage=endpoint.max_outage, backoff_max=endpoint.backoff_max,
    )
