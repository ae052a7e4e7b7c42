"""Step 2 on the real SoftHSM card: every token, the reasons, and a list that follows the card."""

from __future__ import annotations

import re

import pytest

from tests.screens.harness import ScreenHost, screen_text, settle, wait_for
from tests.screens.services import operations
from tui.core.card.pkcs11_card import Pkcs11Card
from tui.core.clock import SystemClock
from tui.core.portal.client import PortalClient
from tui.flow import Back
from tui.screens.certificate_select import CertificateSelectScreen
from tui.sim.softhsm import CARD_1, CARD_2
from tui.widgets.certificate_list import CertificateList


@pytest.fixture
def portal(sim):
    with PortalClient(sim.url) as client:
        yield client


def host(card, portal, *, language="en", prefer=None, message=None, poll=5.0) -> ScreenHost:
    ops = operations(portal, SystemClock(), card)
    return ScreenHost(
        lambda: CertificateSelectScreen(
            ops.read_card, ops.module_paths, prefer=prefer, message=message, poll_interval=poll
        ),
        language,
    )


def listing(app: ScreenHost) -> CertificateList:
    return app.screen.query_one(CertificateList)


async def test_lists_every_token_with_reasons_and_waits_for_a_choice(
    faulty_card, portal, softhsm_card
):
    app = host(faulty_card, portal)
    async with app.run_test(size=(80, 60)) as pilot:
        await settle(pilot)
        certs = listing(app).certificates
        assert {c.token.label for c in certs} == {CARD_1, CARD_2}
        assert len(certs) == len(softhsm_card.holders)
        usable = [c for c in certs if c.usable]
        assert sorted(c.holder for c in usable) == sorted(
            h.name for h in softhsm_card.holders if h.usable
        )
        text = screen_text(app)
        assert "AYŞE GÜLŞEN ÇİFTÇİ" in text and "GÖKHAN YILDIZ" in text
        assert "[Qualified]" in text and "T.C. 13*******58" in text
        assert "Cannot be used: the certificate has expired" in text
        assert "Cannot be used: the certificate is not valid yet" in text
        # Several usable: the first is highlighted, and Enter (as the key bar says) takes it.
        assert listing(app).chosen() == usable[0]
        assert "Enter Continue" in screen_text(app)
        await pilot.press("enter")
    assert app.results == [usable[0]]


async def test_every_row_is_reached_by_keyboard_and_enter_says_what_it_does(faulty_card, portal):
    """Issue 16, point 1: at 80x24 End and PgDn reach the unusable certificates too; on one
    of them the key bar offers what Enter does there (why not), and Enter says it."""
    app = host(faulty_card, portal)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        certs = listing(app).certificates
        last = certs[-1]
        assert not certs[0].usable or listing(app).chosen() == next(c for c in certs if c.usable)
        await pilot.press("end")
        await pilot.pause()
        assert listing(app).highlighted_certificate() == last
        assert last.holder in screen_text(app)  # scrolled into sight, its reason too
        await pilot.press("home")
        seen: list[str] = []
        for _press in range(2 * len(certs)):  # PgDn alone reaches the end as well
            await pilot.press("pagedown")
            await pilot.pause()
            cert = listing(app).highlighted_certificate()
            assert cert is not None
            seen.append(cert.list_id)
            if not cert.usable:  # its row and its reason can be read where it is shown
                text = screen_text(app)
                assert "Cannot be used:" in text and "Enter Why not" in text
                assert "Enter Continue" not in text
        assert seen[-1] == last.list_id
        # Enter on each unusable row says why, in words; on a usable one it continues.
        for index, cert in enumerate(certs):
            if cert.usable:
                continue
            listing(app).highlighted = listing(app).get_option_index(cert.list_id)
            await pilot.pause()
            assert "This certificate cannot sign" not in screen_text(app)
            await pilot.press("enter")
            await pilot.pause()
            text = screen_text(app)
            assert "This certificate cannot sign" in text, (index, text)
            assert app.results == []
        await pilot.press("up")  # moving on: the refusal is no longer news
        await pilot.pause()
        assert "This certificate cannot sign" not in screen_text(app)


async def test_enter_explains_when_no_certificate_can_sign(faulty_card, portal):
    faulty_card.only_holders = {"GÖKHAN YILDIZ", "ÜMİT GÜNEŞ"}
    faulty_card.pulled.add(CARD_2)
    app = host(faulty_card, portal, language="tr")
    async with app.run_test() as pilot:
        await settle(pilot)
        assert "Enter Devam Et" not in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert "Bu sertifikayla imza atılamaz" in screen_text(app)
        await pilot.press("end", "enter")
        await pilot.pause()
        assert "henüz geçerli değil" in screen_text(app)
    assert app.results == []


async def test_the_only_usable_certificate_is_selected_so_enter_continues(faulty_card, portal):
    faulty_card.pulled.add(CARD_2)
    faulty_card.only_holders = {"AYŞE GÜLŞEN ÇİFTÇİ", "GÖKHAN YILDIZ", "ÜMİT GÜNEŞ"}
    app = host(faulty_card, portal, language="tr")
    async with app.run_test() as pilot:
        await settle(pilot)
        assert "Seçili sertifikayı kullanmak için Enter'a basın." in screen_text(app)
        await pilot.press("end")  # an unusable one: the guidance no longer says "selected"
        await pilot.pause()
        assert "Seçili sertifikayı kullanmak" not in screen_text(app)
        await pilot.press("home")
        await pilot.pause()
        assert "Seçili sertifikayı kullanmak için Enter'a basın." in screen_text(app)
        await pilot.press("enter")
    assert len(app.results) == 1
    assert app.results[0].holder == "AYŞE GÜLŞEN ÇİFTÇİ"


async def test_the_list_follows_the_card(faulty_card, portal):
    faulty_card.pulled.add(CARD_2)
    faulty_card.only_holders = {"AYŞE GÜLŞEN ÇİFTÇİ", "İLKNUR ÇAĞLAR"}
    app = host(faulty_card, portal, poll=0.05)
    async with app.run_test(size=(80, 60)) as pilot:
        await settle(pilot)
        assert "İLKNUR ÇAĞLAR" not in screen_text(app)
        faulty_card.pulled.discard(CARD_2)  # the second card goes in
        await wait_for(pilot, lambda: "İLKNUR ÇAĞLAR" in screen_text(app))  # the next poll
        faulty_card.pulled.add(CARD_1)  # the first card comes out
        await wait_for(
            pilot,
            lambda: "AYŞE GÜLŞEN ÇİFTÇİ" not in (t := screen_text(app)) and "İLKNUR ÇAĞLAR" in t,
        )
        await settle(pilot)
        text = screen_text(app)
        assert "AYŞE GÜLŞEN ÇİFTÇİ" not in text and "İLKNUR ÇAĞLAR" in text
        # now İLKNUR's qualified certificate is the only usable one, so it is selected
        chosen = listing(app).chosen()
        assert chosen is not None and chosen.holder == "İLKNUR ÇAĞLAR" and chosen.qualified


async def test_no_card_says_what_to_check(faulty_card, portal, softhsm_card):
    faulty_card.pulled.update({CARD_1, CARD_2})
    faulty_card.only_holders = {"AYŞE GÜLŞEN ÇİFTÇİ"}
    app = host(faulty_card, portal, language="tr", poll=0.05)
    async with app.run_test() as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Kart bulunamadı" in text
        assert "Kart okuyucu bağlı mı" in text
        assert softhsm_card.module_path in text
        assert "DYS" in text
        faulty_card.pulled.discard(CARD_1)
        await wait_for(pilot, lambda: "AYŞE GÜLŞEN ÇİFTÇİ" in screen_text(app))  # the next poll
        assert "Kart bulunamadı" not in screen_text(app)
        await pilot.press("enter")
    assert app.results[0].holder == "AYŞE GÜLŞEN ÇİFTÇİ"


async def test_a_driver_that_does_not_load_is_named(portal, tmp_path):
    missing = str(tmp_path / "libakisp11.so")
    card = Pkcs11Card([missing])
    app = host(card, portal)
    async with app.run_test() as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "No card found" in text
        assert "The card driver could not be loaded" in text
        assert missing in re.sub(r"[\s│]", "", text)  # the path, wrapped in the frame
    assert app.results == []


async def test_preferred_certificate_and_message_are_shown(faulty_card, portal):
    certs = [c for c in faulty_card.certificates() if c.usable]
    wanted = certs[1]
    app = host(faulty_card, portal, prefer=wanted.list_id, message="The card was removed.")
    async with app.run_test() as pilot:
        await settle(pilot)
        assert "The card was removed." in screen_text(app)
        assert listing(app).chosen() == wanted
        await pilot.press("enter")
    assert app.results == [wanted]


async def test_escape_goes_back(faulty_card, portal):
    app = host(faulty_card, portal)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("escape")
    assert app.results == [Back()]


async def test_an_unexpected_error_is_reported_and_the_list_goes_on(faulty_card, portal):
    faulty_card.crash_next_read = RuntimeError("boom")
    app = host(faulty_card, portal, poll=0.05)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: bool(listing(app).certificates))  # a later poll
        await settle(pilot)
        assert [str(e) for e in app.unexpected] == ["boom"]
        assert listing(app).certificates  # the next reading worked


async def test_why_the_list_came_back_goes_once_the_card_changes(faulty_card, portal):
    """Issue 16, point 6: "the card was removed" stays while it is true, not after the card
    is back in the reader."""
    faulty_card.pulled.update({CARD_1, CARD_2})
    faulty_card.only_holders = {"AYŞE GÜLŞEN ÇİFTÇİ"}
    said = "The card was removed or cannot be reached. Insert it and try again."
    app = host(faulty_card, portal, message=said, poll=0.05)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert said in " ".join(screen_text(app).split())
        await pilot.pause(0.2)  # polls that read the same (no card) keep it
        assert said in " ".join(screen_text(app).split())
        faulty_card.pulled.discard(CARD_1)
        await wait_for(pilot, lambda: "AYŞE GÜLŞEN ÇİFTÇİ" in screen_text(app))
        await pilot.pause()
        assert "The card was removed" not in screen_text(app)
