"""Drivers that refuse C_Initialize arguments (reported for Kamu SM's AKIS libakisp11).

PyKCS11 >= 1.5.18 calls C_Initialize with CK_C_INITIALIZE_ARGS{flags=CKF_OS_LOCKING_OK}
(see docs/pkcs11-notes.md). This test builds a tiny PKCS#11 module of our own
that forwards everything to SoftHSM but answers CKR_ARGUMENTS_BAD to
C_Initialize with non-NULL arguments, and logs what it was given; then it
checks that eonay still lists and signs through it, and what it does when the
driver refuses even after being initialised.

Needs a C compiler; each case runs in a fresh process (a module initialises once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import openssl_verify
from tests.shims import compile_module
from tui.core.text import LOGIN_TEXT

pytestmark = pytest.mark.softhsm

SHIM_C = r"""
/* Forwards to the PKCS#11 module named by $EONAY_SHIM_TARGET, except
   C_Initialize: non-NULL arguments get CKR_ARGUMENTS_BAD. Once initialised it
   answers CKR_CRYPTOKI_ALREADY_INITIALIZED first, unless $EONAY_SHIM_STRICT is
   set. Each C_Initialize call is logged to $EONAY_SHIM_LOG. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long rv_t;
typedef struct {
    void *create, *destroy, *lock, *unlock;
    unsigned long flags;
    void *reserved;
} args_t;
typedef rv_t (*fn_t)(void *);

#define FUNCTIONS 68 /* CK_FUNCTION_LIST (v2.x): version, then 68 function pointers */
static struct { unsigned char major, minor; fn_t fn[FUNCTIONS]; } list;
static fn_t real_initialize, real_finalize;
static int initialised;

static void note(const void *args) {
    const char *path = getenv("EONAY_SHIM_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f) return;
    if (args) fprintf(f, "args flags=%lu\n", ((const args_t *)args)->flags);
    else fprintf(f, "NULL\n");
    fclose(f);
}

static rv_t shim_initialize(void *args) {
    note(args);
    if (initialised && !getenv("EONAY_SHIM_STRICT")) return 0x191;
    if (args != NULL) return 0x7;
    rv_t rv = real_initialize(NULL);
    if (rv == 0) initialised = 1;
    return rv;
}

static rv_t shim_finalize(void *reserved) {
    rv_t rv = real_finalize(reserved);
    if (rv == 0) initialised = 0;
    return rv;
}

rv_t C_GetFunctionList(void **out) {
    if (!real_initialize) {
        void *lib = dlopen(getenv("EONAY_SHIM_TARGET"), RTLD_NOW | RTLD_LOCAL);
        rv_t (*get)(void **) = lib ? (rv_t (*)(void **))dlsym(lib, "C_GetFunctionList") : NULL;
        void *real = NULL;
        if (!get || get(&real) != 0 || !real) return 0x5;
        memcpy(&list, real, sizeof list);
        real_initialize = list.fn[0];
        real_finalize = list.fn[1];
        list.fn[0] = shim_initialize;
        list.fn[1] = shim_finalize;
    }
    *out = &list;
    return 0;
}
"""

PROBE = textwrap.dedent(
    """
    import json, sys
    from tui.core.card.pkcs11_card import Pkcs11Card
    from tui.core.pin import Pin
    card = Pkcs11Card([sys.argv[1]])
    try:
        certs = card.certificates()
        cert = next(c for c in certs if c.id.hex() == sys.argv[2])
        sig = card.sign(cert, Pin.from_str(sys.argv[3]), sys.argv[4], b"nonce")
        open(sys.argv[5], "wb").write(sig.cms)
        module = card._modules[sys.argv[1]]
        direct = module.lib is None  # no PyKCS11: every call on eonay's own function list
        card.close()
        print(json.dumps({"certs": len(certs), "null_init": module.null_init_args,
                          "direct": direct}))
    except Exception as err:
        print(json.dumps({"error": type(err).__name__, "message": err.user_message()}))
    """
)


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    return compile_module(SHIM_C, tmp_path_factory.mktemp("shim"), "strictinit")


def _probe(shim, softhsm_card, tmp_path, *, strict: bool):
    log = tmp_path / "init.log"
    out = tmp_path / "sig.p7s"
    env = {
        **os.environ,
        **softhsm_card.env,
        "EONAY_SHIM_TARGET": softhsm_card.module_path,
        "EONAY_SHIM_LOG": str(log),
        "LANG": "en_US.UTF-8",
    }
    if strict:
        env["EONAY_SHIM_STRICT"] = "1"
    holder = softhsm_card.holder("MEHMET ÖZTÜRK")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(shim), holder.cert_id, softhsm_card.pin,
         LOGIN_TEXT, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), log.read_text().split("\n")[:-1], out


def test_a_driver_refusing_init_args_is_initialised_with_null(shim, softhsm_card, tmp_path):
    result, calls, out = _probe(shim, softhsm_card, tmp_path, strict=False)
    assert result == {"certs": len(softhsm_card.holders), "null_init": True, "direct": False}
    # PyKCS11 passed CKF_OS_LOCKING_OK (0x2), was refused; we called with NULL;
    # PyKCS11's own call then found the module initialised.
    assert calls == ["args flags=2", "NULL", "args flags=2"]
    assert openssl_verify(out, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()


def test_a_driver_that_refuses_even_when_initialised_is_called_without_pykcs11(
    shim, softhsm_card, tmp_path
):
    """It answers CKR_ARGUMENTS_BAD where PKCS#11 asks for CKR_CRYPTOKI_ALREADY_INITIALIZED;
    initialised with NULL all the same, it lists and signs through eonay's own calls."""
    result, calls, out = _probe(shim, softhsm_card, tmp_path, strict=True)
    assert result == {"certs": len(softhsm_card.holders), "null_init": True, "direct": True}
    assert calls == ["args flags=2", "NULL", "args flags=2"]
    assert openssl_verify(out, softhsm_card.root_pem, workdir=tmp_path) == LOGIN_TEXT.encode()
