"""What every route shares: the :class:`ApiContext` (set on ``app.state.ctx`` by
:func:`twinrca.api.app.create_app`) and the tenant's store behind an API key."""

from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from twinrca.alerts.targets import TargetPolicy
from twinrca.core.incident import IncidentDoc
from twinrca.runtime.auth import RateLimiter, resolve_api_key
from twinrca.store.base import OutboxEntry, Store

__all__ = ["ApiContext", "ContextDep", "StoreDep", "context", "tenant_store"]


class ApiContext:
    """What the API needs: a store per tenant, the system store (API keys), limits,
    optional hooks (alerts on lifecycle changes, scenario jobs), and which webhook
    targets subscriptions may name (public addresses only by default)."""

    def __init__(
        self,
        *,
        store_for: Callable[[str], Store],
        system_store: Store,
        rate_per_s: float = 20.0,
        burst: int = 100,
        alerts_for: Callable[[Store, IncidentDoc], Sequence[OutboxEntry]] | None = None,
        jobs_dir: str = "var/scenarios",
        start_jobs: bool = True,
        target_policy: TargetPolicy | None = None,
    ) -> None:
        self.store_for = store_for
        self.system_store = system_store
        self.limiter = RateLimiter(rate_per_s, burst)
        self.alerts_for = alerts_for or (lambda store, inc: [])
        self.jobs_dir = jobs_dir
        self.start_jobs = start_jobs
        self.target_policy = target_policy or TargetPolicy()


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ApiContext, Depends(context)]


def tenant_store(
    request: Request,
    ctx: ContextDep,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Store:
    key = x_api_key or (
        authorization[7:] if authorization and authorization.startswith("Bearer ") else ""
    )
    tenant = resolve_api_key(ctx.system_store, key or "")
    if tenant is None:
        raise HTTPException(
            401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
        )
    wait = ctx.limiter.take(key)
    if wait > 0:
        raise HTTPException(
            429, "rate limit exceeded", headers={"Retry-After": str(max(1, round(wait)))}
        )
    request.state.tenant = tenant
    return ctx.store_for(tenant)


StoreDep = Annotated[Store, Depends(tenant_store)]
