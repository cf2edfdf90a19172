"""The serve defaults are defined once (runtime/defaults.py) and the CLI shows them."""

from __future__ import annotations

import inspect

from twinrca.runtime import defaults


def _default(param: inspect.Parameter) -> object:
    """The default of a plain parameter or of a ``typer.Option(default, ...)`` one."""
    from typer.models import OptionInfo

    d = param.default
    return d.default if isinstance(d, OptionInfo) else d


def test_cli_and_serve_options_share_the_defaults() -> None:
    import typer

    from twinrca.ingest.topics import KINDS
    from twinrca.runtime.runner import ServeOptions

    o = ServeOptions()
    assert defaults.KINDS == KINDS == o.kinds
    assert (o.health_port, o.interval_s, o.predict_interval_s) == (
        defaults.HEALTH_PORT,
        defaults.INTERVAL_S,
        defaults.PREDICT_INTERVAL_S,
    )
    assert (o.window.lookback, o.window.history) == (defaults.LOOKBACK, defaults.HISTORY)
    assert o.pipeline.verify_scenarios == defaults.VERIFY_SCENARIOS

    app = typer.Typer()
    from twinrca.cli.serve import register

    register(app)
    params = {
        name: _default(p)
        for name, p in inspect.signature(app.registered_commands[0].callback).parameters.items()
    }
    assert params["health_port"] == o.health_port
    assert params["webhook_max_attempts"] == o.webhook_max_attempts
    assert params["webhook_max_backoff"] == o.webhook_max_backoff_s
    assert params["kinds"] == ",".join(o.kinds)
    assert params["lookback_hours"] == 6.0 and params["history_days"] == 2.0
