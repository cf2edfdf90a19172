"""The CLI registers every command module (a missing one fails loudly)."""

from __future__ import annotations


def test_every_cli_command_module_is_registered() -> None:
    """A command module that is missing fails the CLI loudly: each group is there."""
    from twinrca.cli import _GROUPS, app

    names = {g.name for g in app.registered_groups}
    assert names == set(_GROUPS)
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert {"demo", "dashboard", "serve", "version"} <= commands
