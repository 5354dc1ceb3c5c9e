"""``ecg12 models``: list the registered models, or fetch them ahead of time for offline use."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from ecg12.cli.errors import user_errors
from ecg12.registry import ModelCard, Registry, load_registry, model_path, model_status


def _fold9(card: ModelCard, key: str) -> str:
    """A fold-9 test metric from the card, or '-' when the card does not report it."""
    fold9 = card.metrics.get("fold9")
    value = fold9.get(key) if isinstance(fold9, dict) else None
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def _table(registry: Registry) -> Table:
    table = Table(caption=None if registry.cards else "no models registered")
    table.add_column("model", no_wrap=True)
    table.add_column("version")
    table.add_column("size MB", justify="right")
    table.add_column("where")
    table.add_column("fold-9 r", justify="right")
    table.add_column("fold-9 MAE mV", justify="right")
    for name, card in registry.cards.items():
        label = f"{name} (default)" if name == registry.default else name
        table.add_row(
            label,
            card.version,
            f"{card.size_bytes / 1e6:.1f}",
            model_status(card, registry),
            _fold9(card, "mean_r"),
            _fold9(card, "mae_mv"),
        )
    return table


@click.group(name="models", invoke_without_command=True)
@click.pass_context
def command(ctx: click.Context) -> None:
    """List the models and where each one is (bundled, cached or remote)."""
    if ctx.invoked_subcommand is not None:
        return
    with user_errors():
        registry = load_registry()
    Console().print(_table(registry))


@command.command("fetch")
@click.argument("name")
def fetch(name: str) -> None:
    """Download and verify model NAME (or `all`) for offline use; print each file's path."""
    with user_errors():
        registry = load_registry()
        cards = list(registry.cards.values()) if name == "all" else [registry.card(name)]
        for card in cards:
            with Console(stderr=True).status(f"fetching {card.name} {card.version} ..."):
                path = model_path(card, registry)
            click.echo(path)
