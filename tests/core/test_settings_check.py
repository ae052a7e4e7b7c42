"""The start-up check of the settings (tui.core.setup.settings_check), on real files.

The portal rule is the client's own: every address the check refuses, the
client refuses too, and every one it lets through, the client accepts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tui.core.errors import ConfigError, InsecureURLError
from tui.core.portal.address import AddressProblem, address_problem
from tui.core.portal.client import PortalClient
from tui.core.setup.modules import ModuleCandidate, Source
from tui.core.setup.settings_check import (
    SettingsError,
    module_problem,
    modules_problems,
    portal_problem,
    settings_problems,
)
from tui.i18n import current_language, set_language

pytestmark = pytest.mark.softhsm


@pytest.fixture(autouse=True)
def english():
    before = current_language()
    set_language("en")
    yield
    set_language(before)


ADDRESSES = [
    ("https://portal.example/", None),
    ("https://portal.example:8443/api/", None),
    ("http://127.0.0.1:8080/", None),
    ("http://localhost/", None),
    ("http://[::1]/x", None),
    ("http://portal.example/", AddressProblem.PLAIN_HTTP),
    ("http://10.0.0.1/", AddressProblem.PLAIN_HTTP),
    ("http://[2001:db8::1]/", AddressProblem.PLAIN_HTTP),
    ("http://127.0.0.1.evil/", AddressProblem.PLAIN_HTTP),
    ("ftp://portal.example/", AddressProblem.SCHEME_OR_HOST),
    ("https:///nohost", AddressProblem.SCHEME_OR_HOST),
    ("https://user:pw@portal.example/", AddressProblem.USERINFO),
    ("https://portal.example/?x=1", AddressProblem.QUERY_OR_FRAGMENT),
    ("https://portal.example/#top", AddressProblem.QUERY_OR_FRAGMENT),
    ("https://portal.example:port/", AddressProblem.NOT_A_URL),
]


@pytest.mark.parametrize(("url", "problem"), ADDRESSES)
def test_the_start_up_check_and_the_client_apply_one_rule(url, problem):
    assert address_problem(url) is problem
    if problem is None:
        PortalClient(url).close()
        assert portal_problem(url) is None
    else:
        expected = InsecureURLError if problem is AddressProblem.PLAIN_HTTP else ConfigError
        with pytest.raises(expected):
            PortalClient(url)
        assert portal_problem(url) is not None


def test_plain_http_says_what_and_how():
    found = portal_problem("http://portal.example/")
    assert found is not None
    assert (
        found.problem
        == "The portal address http://portal.example/ uses plain http:// to another computer."
    )
    assert "https://" in found.fix and "--portal" in found.fix


def candidate(path: str | Path, source: Source = Source.FLAG) -> ModuleCandidate:
    return ModuleCandidate(str(path), source, "--module", Path(path).is_file())


def this_machine() -> bytes:
    with Path(os.path.realpath(sys.executable)).open("rb") as file:
        header = file.read(20)
    return header[4:6] + header[18:20]


def test_a_real_driver_passes(softhsm_card):
    assert module_problem(candidate(softhsm_card.module_path), this_machine()) is None


def test_each_kind_of_broken_driver_is_named(tmp_path, softhsm_card):
    machine = this_machine()
    text = tmp_path / "notes.so"
    text.write_text("not a library")
    real = Path(softhsm_card.module_path).read_bytes()
    other = tmp_path / "arm.so"  # the real library's header, for another processor
    other.write_bytes(real[:18] + (b"\xb7\x00" if real[18:20] != b"\xb7\x00" else b"\x3e\x00"))
    unreadable = tmp_path / "secret.so"
    unreadable.write_bytes(real[:64])
    unreadable.chmod(0)
    cases = {
        tmp_path / "missing.so": "does not exist",
        tmp_path: "is not a file",
        text: "is not a shared library (.so)",
        other: "is built for another kind of computer",
    }
    for path, words in cases.items():
        assert module_problem(candidate(path), machine) == f"The card driver {path} {words}."
    if os.geteuid() != 0:  # root reads any file
        found = module_problem(candidate(unreadable), machine)
        assert found is not None and "cannot be read" in found


def test_a_chosen_driver_that_is_missing_is_told_even_beside_a_good_one(softhsm_card, tmp_path):
    missing = tmp_path / "libakisp11.so"
    problems = modules_problems([candidate(softhsm_card.module_path), candidate(missing)])
    assert [p.problem for p in problems] == [
        f"The card driver {missing} does not exist. (given with --module)"
    ]


def test_a_found_driver_that_is_broken_matters_only_when_none_works(softhsm_card, tmp_path):
    broken = tmp_path / "opensc-pkcs11.so"
    broken.write_text("")
    found = candidate(broken, Source.WELL_KNOWN)
    assert modules_problems([candidate(softhsm_card.module_path, Source.P11KIT), found]) == []
    (only,) = modules_problems([found])
    assert str(broken) in only.problem and "found on this computer" in only.problem


def test_good_settings_have_no_problem_and_bad_ones_block_the_lookup(softhsm_card):
    assert settings_problems("https://portal.example/", [candidate(softhsm_card.module_path)]) == ()
    problems = settings_problems("http://portal.example/", [candidate("/nope.so")])
    assert len(problems) == 2
    assert "portal address" in problems[0].problem and "/nope.so" in problems[1].problem
    error = SettingsError(problems)
    assert "not looked up" in error.user_message()
