"""`impwatch bot run`: the reporting bot alone (`impwatch serve` and `worker` run it too when a token is set)."""

from __future__ import annotations

import signal
import threading

import typer

from app.cli_support import command_runtime, err, out

bot_cli = typer.Typer(help="The reporting bot: readers send it suspect photos, videos and t.me links.")


@bot_cli.command("run")
def bot_run() -> None:
    """Answer readers until SIGTERM or Ctrl-C (long polling of IMPWATCH_REPORT_BOT_TOKEN's updates)."""
    from app.scheduling import build_button_presses, build_reporting_bot, telegram_bots
    from app.settings import Settings

    stop = threading.Event()
    runtime = command_runtime(face_workers=Settings().face_workers)
    bots = telegram_bots(runtime)
    try:
        bot = build_reporting_bot(runtime, bots, build_button_presses(runtime, bots))
    except ValueError as exc:
        bots.close()
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc

    def stop_now(*_: object) -> None:
        stop.set()
        bots.cancel_calls()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_now)
    out.print("reporting bot running (SIGTERM or Ctrl-C stops it)")
    try:
        bot.run(stop)
    finally:
        bots.close()
        runtime.workers.close()
    out.print("reporting bot stopped")
