"""The import's progress display: a tqdm bar on a terminal, plain lines for journald."""

from __future__ import annotations

import io

from agent.importer import BarProgress, PlainProgress, terminal_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_and_a_pipe_gets_lines() -> None:
    tty = Terminal()
    bar = terminal_progress(4, 0, tty)
    assert isinstance(bar, BarProgress)
    for n in range(4):
        bar.advance(f"order:{n}", "done")
    bar.close()
    assert "\r" in tty.getvalue() and "4/4" in tty.getvalue()  # redrawn in place
    pipe = io.StringIO()
    lines = terminal_progress(20, 0, pipe)
    assert isinstance(lines, PlainProgress)
    for n in range(20):
        lines.advance(f"order:{n}", "done")
    text = pipe.getvalue()
    assert "\r" not in text
    assert text.splitlines() == ["import: 20 orders"] + [f"import: {k}/20 (order:{k - 1} done)" for k in range(2, 21, 2)]
