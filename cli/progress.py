"""Rich progress bars fed by the engine's `ProgressSink` events."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["RichProgress"]

_LABELS = {"pull": "pulling records", "score": "scoring leads", "write": "writing scores"}


class RichProgress:
    """One bar per stage; stages without a known total show a running count."""

    def __init__(self, console: Console, prefix: str = "") -> None:
        self.prefix = prefix
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def stage(self, name: str, total: int | None = None) -> None:
        label = f"{self.prefix}{_LABELS.get(name, name)}"
        if name in self._tasks:
            self.progress.update(self._tasks[name], total=total, completed=0, description=label)
        else:
            self._tasks[name] = self.progress.add_task(label, total=total)

    def advance(self, name: str, amount: int = 1) -> None:
        task = self._tasks.get(name)
        if task is not None:
            self.progress.advance(task, amount)
