"""The first screen comes before the heavy libraries: they load in the background."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("PyKCS11", "cryptography", "asn1crypto", "httpx", "starlette", "uvicorn")


def run_python(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_importing_the_app_and_its_command_loads_no_heavy_library():
    loaded = run_python(
        f"""
        import sys
        import tui.__main__, tui.app, tui.commands.app, tui.commands.demo
        tui.__main__.build_parser()
        print([m for m in {HEAVY!r} if m in sys.modules])
        """
    )
    assert loaded == "[]"


def test_the_first_screen_is_laid_out_before_the_services_import_anything(softhsm_card):
    report = run_python(
        f"""
        import asyncio, json, sys
        from dataclasses import replace
        from tui.app import EonayApp
        from tui.commands.app import build_services
        from tui.core.settings import Settings
        from tui.screens.code_entry import CodeEntryScreen
        from tui.widgets.code_field import CodeField

        HEAVY = {HEAVY!r}
        settings = Settings(
            portal_url="http://127.0.0.1:9/", modules=({softhsm_card.module_path!r},),
            language="en",
        )
        services = build_services(settings)
        first = {{}}
        deferred = {{}}

        def watched(factory):
            def build():
                if not first:
                    screen = app.screen
                    first["heavy"] = [m for m in HEAVY if m in sys.modules]
                    first["screen"] = type(screen).__name__
                    first["laid_out"] = (
                        isinstance(screen, CodeEntryScreen)
                        and screen.query_one(CodeField).region.width > 0
                    )
                return factory()
            return build

        def after_first_paint():  # what the command defers: the log handler
            screen = app.screen
            deferred["sees_screen"] = (
                isinstance(screen, CodeEntryScreen) and screen.query_one(CodeField).region.width > 0
            )
            deferred["loaded_before"] = [
                m for m in ("tui.flow", "tui.operations", "logging.handlers") if m in sys.modules
            ]

        services = replace(services, card=watched(services.card), portal=watched(services.portal))
        app = EonayApp(services, settings, after_first_paint=(after_first_paint,))

        async def main():
            async with app.run_test() as pilot:
                while (ops := app._ops) is None or None in (
                    ops._card.loaded(), ops._portal.loaded()
                ):
                    await pilot.pause(0.05)
                first["card"] = type(ops._card.loaded()).__name__
        asyncio.run(main())
        first["after"] = [m for m in HEAVY[:4] if m in sys.modules]
        first["deferred"] = deferred
        print(json.dumps(first))
        """
    )
    first = json.loads(report)
    assert first["screen"] == "CodeEntryScreen" and first["laid_out"]
    assert first["heavy"] == []
    # The command's deferred set-up ran once the screen was there, before the flow was imported.
    assert first["deferred"]["sees_screen"]
    assert first["deferred"]["loaded_before"] == []
    # The portal's library loads here; the card's (PyKCS11, cryptography, asn1crypto) load in
    # the card process that the card service started.
    assert first["card"] == "CardProcessClient"
    assert first["after"] == ["httpx"]
