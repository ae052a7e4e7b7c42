"""PKCS#11 modules of our own for the tests, compiled from C with the system's cc.

Each one forwards to a real module (SoftHSM) and misbehaves in one place, as
vendor drivers do: refusing C_Initialize arguments, crashing or hanging in C_Sign.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


def compile_module(source: str, where: Path, name: str) -> Path:
    """`source` built as the shared library `where/lib<name>.so` (the test skips without cc)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the test module")
    c_file = where / f"{name}.c"
    c_file.write_text(source)
    module = where / f"lib{name}.so"
    subprocess.run(
        [cc, "-shared", "-fPIC", "-O1", "-o", str(module), str(c_file), "-ldl"],
        check=True,
        capture_output=True,
    )
    return module


# Forwards everything to $EONAY_FAULT_TARGET, except C_Sign, which reads the file
# $EONAY_FAULT_MODE each time: "crash" dereferences NULL (SIGSEGV), "hang" sleeps
# forever, anything else (or no file) signs. Before crashing or hanging it appends
# the mode to $EONAY_FAULT_MARK, so a test knows the driver got there. "print"
# writes a line to stdout and to stderr, as chatty drivers do, then signs.
FAULTY_SIGN_C = r"""
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef unsigned long rv_t;
typedef void *fn_t;
typedef rv_t (*sign_t)(unsigned long, void *, unsigned long, void *, unsigned long *);

#define FUNCTIONS 68 /* CK_FUNCTION_LIST (v2.x): version, then 68 function pointers */
#define C_SIGN 43    /* C_Initialize is 0; C_SignInit 42, C_Sign 43 */
static struct { unsigned char major, minor; fn_t fn[FUNCTIONS]; } list;
static sign_t real_sign;

static void mode(char *out, size_t size) {
    const char *path = getenv("EONAY_FAULT_MODE");
    FILE *f = path ? fopen(path, "r") : NULL;
    out[0] = 0;
    if (!f) return;
    if (!fgets(out, (int)size, f)) out[0] = 0;
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
}

static void mark(const char *what) {
    const char *path = getenv("EONAY_FAULT_MARK");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f) return;
    fprintf(f, "%s\n", what);
    fclose(f);
}

static rv_t faulty_sign(unsigned long session, void *data, unsigned long len,
                        void *sig, unsigned long *sig_len) {
    char now[32];
    mode(now, sizeof now);
    if (strcmp(now, "crash") == 0) {
        mark(now);
        *(volatile int *)0 = 0;
    }
    if (strcmp(now, "print") == 0) {
        printf("DRIVER SAYS HELLO ON STDOUT\n");
        fflush(stdout);
        fprintf(stderr, "DRIVER SAYS HELLO ON STDERR\n");
    }
    if (strcmp(now, "hang") == 0) {
        mark(now);
        for (;;) pause();
    }
    return real_sign(session, data, len, sig, sig_len);
}

rv_t C_GetFunctionList(void **out) {
    if (!real_sign) {
        void *lib = dlopen(getenv("EONAY_FAULT_TARGET"), RTLD_NOW | RTLD_LOCAL);
        rv_t (*get)(void **) = lib ? (rv_t (*)(void **))dlsym(lib, "C_GetFunctionList") : NULL;
        void *real = NULL;
        if (!get || get(&real) != 0 || !real) return 0x5; /* CKR_GENERAL_ERROR */
        memcpy(&list, real, sizeof list);
        real_sign = (sign_t)list.fn[C_SIGN];
        list.fn[C_SIGN] = (fn_t)faulty_sign;
    }
    *out = &list;
    return 0;
}
"""


@dataclass
class FaultyDriver:
    """The module built from FAULTY_SIGN_C, and the files that steer it and tell what it did."""

    module: Path
    mode: Path
    mark: Path

    @classmethod
    def over(
        cls, module: Path, target: str, where: Path, monkeypatch: pytest.MonkeyPatch
    ) -> FaultyDriver:
        """Processes started from now on (card processes) load `module` forwarding to `target`."""
        made = cls(module, where / "mode", where / "mark")
        monkeypatch.setenv("EONAY_FAULT_TARGET", target)
        monkeypatch.setenv("EONAY_FAULT_MODE", str(made.mode))
        monkeypatch.setenv("EONAY_FAULT_MARK", str(made.mark))
        return made

    def set(self, mode: str) -> None:
        self.mode.write_text(mode)

    def marks(self) -> list[str]:
        return self.mark.read_text().split() if self.mark.exists() else []
