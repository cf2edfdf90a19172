"""``/v1/webhooks``: alert subscriptions of the tenant."""

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field, HttpUrl

from twinrca.api.deps import ContextDep, StoreDep
from twinrca.core.errors import NotFound
from twinrca.core.timeutil import utcnow

__all__ = ["Subscription", "SubscriptionOut", "router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class Subscription(BaseModel):
    url: HttpUrl
    format: Literal["alertmanager", "pagerduty", "opsgenie", "generic", "3gpp"]
    secret: str | None = Field(
        default=None, description="HMAC key (generic) or routing/API key (PagerDuty, Opsgenie)"
    )
    events: list[Literal["incident", "prediction"]] = ["incident"]


class SubscriptionOut(BaseModel):
    subscription_id: str
    url: str
    format: str
    events: list[str]
    created_at: datetime


@router.post("", status_code=201, response_model=SubscriptionOut)
def subscribe(body: Subscription, store: StoreDep, ctx: ContextDep) -> SubscriptionOut:
    refused = ctx.target_policy.refusal(str(body.url))
    if refused is not None:
        raise HTTPException(422, f"webhook target refused: {refused}")
    sub_id = uuid.uuid4().hex[:12]
    doc = {
        "subscription_id": sub_id,
        "url": str(body.url),
        "format": body.format,
        "events": body.events,
        "secret": body.secret,
        "created_at": utcnow().isoformat(),
        "active": True,
    }
    store.put_document("subscription", sub_id, doc)
    return SubscriptionOut.model_validate(doc)


@router.get("", response_model=list[SubscriptionOut])
def subscriptions(store: StoreDep) -> list[SubscriptionOut]:
    return [
        SubscriptionOut.model_validate(d)
        for d in store.list_documents("subscription", where={"active": True})
    ]


@router.delete("/{subscription_id}", status_code=204)
def unsubscribe(subscription_id: str, store: StoreDep) -> Response:
    doc = store.get_document("subscription", subscription_id)
    if doc is None or not doc.get("active"):
        raise NotFound(f"no subscription {subscription_id!r}")
    store.put_document("subscription", subscription_id, {**doc, "active": False})
    return Response(status_code=204)
