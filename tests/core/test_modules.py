"""PKCS#11 module discovery: the order, p11-kit's registry, well-known drivers, remote cards.

Directories are injected: these tests never look at what this machine has
installed, except the one marked as an integration test at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.core.settings import Settings
from tui.core.setup.modules import (
    ENV_MODULE,
    ENV_SERVER,
    SearchPaths,
    Source,
    discover,
    discover_for,
    module_paths,
    registered_with_p11kit,
    well_known,
)


class Machine:
    """A fake filesystem layout of drivers and p11-kit configuration under tmp_path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.share = root / "usr/share/p11-kit/modules"
        self.etc = root / "etc/pkcs11/modules"
        self.user = root / "home/.config/pkcs11/modules"
        self.p11dir = root / "usr/lib/x86_64-linux-gnu/pkcs11"
        self.usr_lib = root / "usr/lib"
        self.usr_lib64 = root / "usr/lib64"
        self.local_lib = root / "usr/local/lib"
        self.multiarch = root / "usr/lib/x86_64-linux-gnu"
        self.akia = root / "opt/Akia"
        for d in (self.share, self.etc, self.user, self.p11dir):
            d.mkdir(parents=True, exist_ok=True)
        self.paths = SearchPaths(
            p11kit_config_dirs=(self.share, self.etc, self.user),
            p11kit_module_dirs=(self.p11dir,),
            library_dirs=(
                self.usr_lib,
                self.usr_lib64,
                self.local_lib,
                self.multiarch,
                self.p11dir,
                self.akia,
            ),
        )

    def library(self, directory: Path, name: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        path.write_bytes(b"\x7fELF not really")
        return path

    def register(self, directory: Path, name: str, module: str, extra: str = "") -> Path:
        path = directory / f"{name}.module"
        path.write_text(f"# test\n{extra}module: {module}\npriority: 1\n")
        return path


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_nothing_installed_finds_nothing(machine: Machine) -> None:
    assert discover(environ={}, paths=machine.paths) == []


def test_well_known_drivers_in_the_usual_places(machine: Machine) -> None:
    akis = machine.library(machine.akia, "libakisp11.so")
    safesign = machine.library(machine.usr_lib, "libaetpkss.so")
    idprime = machine.library(machine.local_lib, "libIDPrimePKCS11.so")
    safenet = machine.library(machine.usr_lib64, "libeTPkcs11.so")
    opensc = machine.library(machine.multiarch, "opensc-pkcs11.so")
    found = discover(environ={}, paths=machine.paths)
    assert [c.path for c in found] == [str(p) for p in (akis, safesign, idprime, safenet, opensc)]
    assert {c.source for c in found} == {Source.WELL_KNOWN}
    assert found[0].origin.startswith("AKIS")
    assert all(c.exists for c in found)


def test_the_first_copy_of_a_driver_wins(machine: Machine) -> None:
    first = machine.library(machine.usr_lib, "libakisp11.so")
    machine.library(machine.akia, "libakisp11.so")
    assert [c.path for c in well_known(machine.paths)] == [str(first)]


def test_p11kit_registry_relative_absolute_trust_and_user_override(machine: Machine) -> None:
    opensc = machine.library(machine.p11dir, "opensc-pkcs11.so")
    vendor = machine.library(machine.root / "opt/vendor", "libvendor.so")
    user_vendor = machine.library(machine.root / "home/lib", "libvendor-user.so")
    machine.library(machine.p11dir, "p11-kit-trust.so")
    machine.register(machine.share, "opensc-pkcs11", "opensc-pkcs11.so")
    machine.register(machine.share, "p11-kit-trust", "p11-kit-trust.so", "trust-policy: yes\n")
    machine.register(machine.etc, "vendor", str(vendor))
    user_file = machine.register(machine.user, "vendor", str(user_vendor))
    (machine.share / "README").write_text("module: /not/a/module/file.so\n")
    found = registered_with_p11kit(machine.paths)
    assert [c.path for c in found] == [str(opensc), str(user_vendor)]
    assert found[1].origin == str(user_file)
    assert {c.source for c in found} == {Source.P11KIT}


def test_registered_first_then_well_known_without_duplicates(machine: Machine) -> None:
    opensc = machine.library(machine.p11dir, "opensc-pkcs11.so")
    os.symlink(opensc, machine.multiarch / "opensc-pkcs11.so")
    machine.register(machine.share, "opensc-pkcs11", "opensc-pkcs11.so")
    akis = machine.library(machine.usr_lib, "libakisp11.so")
    machine.register(machine.share, "gone", "/no/longer/installed.so")
    found = discover(environ={}, paths=machine.paths)
    assert [(c.path, c.source) for c in found] == [
        (str(opensc), Source.P11KIT),
        (str(akis), Source.WELL_KNOWN),
    ]


def test_the_order_flag_config_env_remote_automatic(machine: Machine) -> None:
    auto = machine.library(machine.usr_lib, "libakisp11.so")
    client = machine.library(machine.p11dir, "p11-kit-client.so")
    env = {ENV_MODULE: "/env/one.so", ENV_SERVER: "unix:path=/run/p11.sock"}

    def first(**kwargs: object) -> tuple[str, Source]:
        found = discover(paths=machine.paths, **kwargs)  # type: ignore[arg-type]
        return found[0].path, found[0].source

    assert first(flag_modules=["/flag.so"], config_modules=["/config.so"], environ=env) == (
        "/flag.so",
        Source.FLAG,
    )
    assert first(config_modules=["/config.so"], environ=env) == ("/config.so", Source.CONFIG)
    assert first(environ=env) == ("/env/one.so", Source.ENV)
    assert first(environ={ENV_SERVER: "unix:path=/run/p11.sock"}) == (str(client), Source.REMOTE)
    assert first(environ={}) == (str(auto), Source.WELL_KNOWN)


def test_explicit_modules_are_kept_even_when_missing(machine: Machine) -> None:
    real = machine.library(machine.usr_lib, "libreal.so")
    found = discover(flag_modules=[str(real), "/no/such.so"], environ={}, paths=machine.paths)
    assert [(c.path, c.exists) for c in found] == [(str(real), True), ("/no/such.so", False)]
    assert all(c.origin == "--module" for c in found)


def test_the_environment_takes_a_pathsep_list(machine: Machine) -> None:
    value = os.pathsep.join(["/a/one.so", "", " /b/two.so "])
    found = discover(environ={ENV_MODULE: value}, paths=machine.paths)
    assert module_paths(found) == ["/a/one.so", "/b/two.so"]
    assert {c.origin for c in found} == {ENV_MODULE}


def test_a_remote_card_uses_the_client_module_only(machine: Machine) -> None:
    client = machine.library(machine.p11dir, "p11-kit-client.so")
    machine.library(machine.usr_lib, "libakisp11.so")  # a local driver is not used
    address = "unix:path=/run/user/1000/p11-kit/pkcs11"
    found = discover(environ={ENV_SERVER: address}, paths=machine.paths)
    assert len(found) == 1
    assert found[0].path == str(client)
    assert found[0].source is Source.REMOTE
    assert address in found[0].origin


def test_a_remote_card_without_the_client_module_is_reported(machine: Machine) -> None:
    found = discover(environ={ENV_SERVER: "unix:path=/x"}, paths=machine.paths)
    assert len(found) == 1
    assert found[0].exists is False
    assert found[0].path.endswith("p11-kit-client.so")


def test_discover_for_settings(machine: Machine) -> None:
    by_flag = Settings(modules=("/f.so",), modules_origin="--module")
    by_file = Settings(modules=("/c.so",), modules_origin="/etc/eonay.toml")
    assert discover_for(by_flag, {}, machine.paths)[0].source is Source.FLAG
    from_file = discover_for(by_file, {}, machine.paths)[0]
    assert (from_file.source, from_file.origin) == (Source.CONFIG, "/etc/eonay.toml")
    # the configuration file comes before EONAY_PKCS11_MODULE
    assert discover_for(by_file, {ENV_MODULE: "/e.so"}, machine.paths)[0].path == "/c.so"
    assert discover_for(Settings(), {ENV_MODULE: "/e.so"}, machine.paths)[0].path == "/e.so"


@pytest.mark.skipif(
    not Path("/usr/share/p11-kit/modules/opensc-pkcs11.module").exists(),
    reason="needs opensc registered with p11-kit (the opensc package)",
)
def test_integration_this_machine(tmp_path: Path) -> None:
    """On the CI image (./run's SYSTEM_PACKAGES): OpenSC is found, and p11-kit's client."""
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    found = discover(environ=env)
    assert any(c.path.endswith("opensc-pkcs11.so") and c.exists for c in found)
    assert all(c.exists for c in found)
    remote = discover(environ={**env, ENV_SERVER: "unix:path=/nowhere"})
    assert remote[0].exists, remote
