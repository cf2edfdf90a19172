"""Opening the store the settings name (the composition root's one place for it)."""

from __future__ import annotations

from twinrca.core.settings import Settings, load_settings
from twinrca.store.base import Store, open_store

__all__ = ["settings_store", "store_from_settings"]


def store_from_settings(settings: Settings, *, tenant: str | None = None) -> Store:
    cfg = settings.store
    return open_store(
        cfg.backend,
        url=cfg.url.get_secret_value(),
        path=cfg.embedded_path,
        tenant=tenant or settings.tenant,
        pool_max=cfg.pool_max,
        connect_timeout_s=cfg.connect_timeout_s,
    )


def settings_store(*, tenant: str | None = None, migrate: bool = True) -> Store:
    """The store of ``load_settings()``, migrated (idempotent) and ready."""
    settings = load_settings()
    if settings.store.backend == "embedded":
        settings.store.embedded_path.parent.mkdir(parents=True, exist_ok=True)
    store = store_from_settings(settings, tenant=tenant)
    if migrate:
        store.migrate()
    return store
