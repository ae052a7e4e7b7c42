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

        services = replace(services, card=watched(services.card), portal=watched(services.portal))
        app = EonayApp(services, settings)

        async def main():
            async with app.run_test() as pilot:
                while app.ops._card.loaded() is None or app.ops._portal.loaded() is None:
                    await pilot.pause(0.05)
        asyncio.run(main())
        first["after"] = [m for m in HEAVY[:4] if m in sys.modules]
        print(json.dumps(first))
        """
    )
    first = json.loads(report)
    assert first["screen"] == "CodeEntryScreen" and first["laid_out"]
    assert first["heavy"] == []
    assert first["after"] == ["PyKCS11", "cryptography", "asn1crypto", "httpx"]
