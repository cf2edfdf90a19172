"""``/v1/scenarios``: labelled scenario generation jobs on the twin."""

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from twinrca.api.deps import ContextDep, StoreDep
from twinrca.core.errors import NotFound

__all__ = ["ScenarioRequest", "router"]

router = APIRouter(prefix="/v1/scenarios", tags=["twin"])


class ScenarioRequest(BaseModel):
    cells: int = Field(100, ge=10, le=20000)
    days: float = Field(1.0, ge=0.1, le=30)
    faults: int = Field(10, ge=0, le=1000)
    seed: int = Field(0, ge=0, le=2**31)


@router.post("", status_code=202)
def create_scenario(body: ScenarioRequest, store: StoreDep, ctx: ContextDep) -> dict[str, Any]:
    """Generate a labelled scenario in a background process; GET shows its progress
    and, when done, the path of the zipped dataset."""
    from twinrca.runtime import jobs

    return jobs.submit(store, ctx.jobs_dir, body.model_dump(), start=ctx.start_jobs)


@router.get("/{job_id}")
def get_scenario(job_id: str, store: StoreDep) -> dict[str, Any]:
    from twinrca.runtime import jobs

    doc = store.get_document(jobs.KIND, job_id)
    if doc is None:
        raise NotFound(f"no scenario job {job_id!r}")
    return jobs.sync(store, doc)
