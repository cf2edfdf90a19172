"""Where the log templater keeps its state: any object with two methods.

The store offers ``get_state(key) -> bytes | None`` and ``put_state(key, data)``;
:class:`StatePersistence` adapts such an object to drain3's ``PersistenceHandler``
so a plain ``drain3.TemplateMiner`` can use it too, and :class:`MemoryStateStore`
is the in-process store for tests and one-shot runs.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from drain3.persistence_handler import PersistenceHandler

from twinrca.core.errors import StoreError, TwinRCAError

__all__ = ["MemoryStateStore", "StatePersistence", "StateStore"]


@runtime_checkable
class StateStore(Protocol):
    """The two methods the templater needs from a store."""

    def get_state(self, key: str) -> bytes | None: ...

    def put_state(self, key: str, data: bytes) -> None: ...


class MemoryStateStore:
    """A dict-backed :class:`StateStore`."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def get_state(self, key: str) -> bytes | None:
        return self._data.get(key)

    def put_state(self, key: str, data: bytes) -> None:
        self._data[key] = bytes(data)

    def keys(self) -> list[str]:
        return sorted(self._data)


class StatePersistence(PersistenceHandler):
    """drain3 ``PersistenceHandler`` over a :class:`StateStore` and one key.

    Errors of the store other than TwinRCA's own are raised as ``StoreError``.
    """

    def __init__(self, store: StateStore, key: str) -> None:
        self.store = store
        self.key = key

    def save_state(self, state: bytes | str) -> None:
        data = state.encode() if isinstance(state, str) else bytes(state)
        try:
            self.store.put_state(self.key, data)
        except TwinRCAError:
            raise
        except Exception as exc:
            raise StoreError("cannot save log template state", key=self.key) from exc

    def load_state(self) -> bytes | None:
        try:
            return self.store.get_state(self.key)
        except TwinRCAError:
            raise
        except Exception as exc:
            raise StoreError("cannot load log template state", key=self.key) from exc
