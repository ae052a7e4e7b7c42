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


# A module that behaves as real drivers and readers do where SoftHSM does not. It
# forwards to $EONAY_DRV_TARGET; each behaviour is on when its variable is set:
# - EONAY_DRV_NO_PRESENT_LIST: C_GetSlotList(tokenPresent=TRUE) lists no slot, as AKIS's
#   libakisp11 is reported to (C_GetSlotList(FALSE) and each slot's flags are SoftHSM's).
# - EONAY_DRV_PINPAD=FILE: a PIN pad reader. Tokens set CKF_PROTECTED_AUTHENTICATION_PATH;
#   C_Login with a PIN refuses it (CKR_ARGUMENTS_BAD); with a NULL PIN it "reads the
#   keypad": FILE's first line is the PIN typed there ("cancel": the person pressed
#   Cancel, CKR_FUNCTION_CANCELED), handed to SoftHSM's C_Login.
# - EONAY_DRV_FLAGS=N: token flags added to SoftHSM's (e.g. CKF_USER_PIN_LOCKED).
# - EONAY_DRV_BUSY=FILE: while FILE exists another program holds the card: every call
#   that talks to the card answers $EONAY_DRV_BUSY_RV (default CKR_DEVICE_ERROR), while
#   the slot still shows CKF_TOKEN_PRESENT (the reader sees the card). With
#   EONAY_DRV_BUSY_SLOTINFO set, C_GetSlotInfo answers so too, as OpenSC's does; with
#   EONAY_DRV_BUSY_AT=NAMES only the functions named there do (e.g. "C_Login").
# - EONAY_DRV_SESSIONS=FILE: after every C_OpenSession, C_CloseSession and
#   C_CloseAllSessions, FILE holds "open=N opened=N closed=N": the sessions open now.
# Every C_Login and every busy answer is appended to $EONAY_DRV_LOG ("login NULL",
# "login PIN", "busy C_OpenSession", …).
DRIVER_C = r"""
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef unsigned long ul;
typedef ul rv_t;
typedef void *fn_t;

#define FUNCTIONS 68
#define C_GETSLOTLIST 4
#define C_GETSLOTINFO 5
#define C_GETTOKENINFO 6
#define C_GETMECHANISMLIST 7
#define C_OPENSESSION 12
#define C_CLOSESESSION 13
#define C_CLOSEALLSESSIONS 14
#define C_LOGIN 18
#define C_FINDOBJECTSINIT 26
#define C_SIGNINIT 42
#define C_SIGN 43
#define CKR_ARGUMENTS_BAD 0x7
#define CKR_DEVICE_ERROR 0x30
#define CKR_FUNCTION_CANCELED 0x50
#define CKF_PROTECTED_AUTHENTICATION_PATH 0x100

static struct { unsigned char major, minor; fn_t fn[FUNCTIONS]; } list;
static fn_t real[FUNCTIONS];
static ul open_handles[1024], open_slots[1024];
static int open_count;
static ul opened, closed;

static void note(const char *what, const char *detail) {
    const char *path = getenv("EONAY_DRV_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f) return;
    fprintf(f, "%s %s\n", what, detail);
    fclose(f);
}

static int busy(const char *function) {
    const char *flag = getenv("EONAY_DRV_BUSY");
    const char *only = getenv("EONAY_DRV_BUSY_AT");
    if (!flag || access(flag, F_OK) != 0) return 0;
    if (only && strstr(only, function) == NULL) return 0;
    note("busy", function);
    return 1;
}

static rv_t busy_rv(void) {
    const char *rv = getenv("EONAY_DRV_BUSY_RV");
    return rv ? strtoul(rv, NULL, 0) : CKR_DEVICE_ERROR;
}

static void count_sessions(void) {
    const char *path = getenv("EONAY_DRV_SESSIONS");
    if (!path) return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "open=%d opened=%lu closed=%lu\n", open_count, opened, closed);
    fclose(f);
    rename(tmp, path);
}

static rv_t get_slot_info(ul slot, void *info) {
    if (getenv("EONAY_DRV_BUSY_SLOTINFO") && busy("C_GetSlotInfo")) return busy_rv();
    return ((rv_t (*)(ul, void *))real[C_GETSLOTINFO])(slot, info);
}

static rv_t get_slot_list(unsigned char present, ul *slots, ul *count) {
    if (present && getenv("EONAY_DRV_NO_PRESENT_LIST")) {
        *count = 0;
        return 0;
    }
    return ((rv_t (*)(unsigned char, ul *, ul *))real[C_GETSLOTLIST])(present, slots, count);
}

static rv_t get_token_info(ul slot, unsigned char *info) {
    if (busy("C_GetTokenInfo")) return busy_rv();
    rv_t rv = ((rv_t (*)(ul, unsigned char *))real[C_GETTOKENINFO])(slot, info);
    ul *flags = (ul *)(info + 96); /* label 32, manufacturerID 32, model 16, serial 16 */
    if (rv == 0 && getenv("EONAY_DRV_PINPAD")) *flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
    if (rv == 0 && getenv("EONAY_DRV_FLAGS")) *flags |= strtoul(getenv("EONAY_DRV_FLAGS"), NULL, 0);
    return rv;
}

static rv_t get_mechanism_list(ul slot, ul *mechs, ul *count) {
    if (busy("C_GetMechanismList")) return busy_rv();
    return ((rv_t (*)(ul, ul *, ul *))real[C_GETMECHANISMLIST])(slot, mechs, count);
}

static rv_t open_session(ul slot, ul flags, void *app, void *notify, ul *session) {
    if (busy("C_OpenSession")) return busy_rv();
    rv_t rv = ((rv_t (*)(ul, ul, void *, void *, ul *))real[C_OPENSESSION])(
        slot, flags, app, notify, session);
    if (rv == 0 && open_count < 1024) {
        open_handles[open_count] = *session;
        open_slots[open_count++] = slot;
        opened++;
    }
    count_sessions();
    return rv;
}

static rv_t close_session(ul session) {
    rv_t rv = ((rv_t (*)(ul))real[C_CLOSESESSION])(session);
    for (int i = 0; rv == 0 && i < open_count; i++) {
        if (open_handles[i] == session) {
            open_handles[i] = open_handles[open_count - 1];
            open_slots[i] = open_slots[--open_count];
            closed++;
            break;
        }
    }
    count_sessions();
    return rv;
}

static rv_t close_all_sessions(ul slot) {
    rv_t rv = ((rv_t (*)(ul))real[C_CLOSEALLSESSIONS])(slot);
    for (int i = 0; rv == 0 && i < open_count;) {
        if (open_slots[i] == slot) {
            open_handles[i] = open_handles[open_count - 1];
            open_slots[i] = open_slots[--open_count];
            closed++;
        } else {
            i++;
        }
    }
    count_sessions();
    return rv;
}

static rv_t login(ul session, ul user, unsigned char *pin, ul len) {
    typedef rv_t (*login_t)(ul, ul, unsigned char *, ul);
    const char *pad = getenv("EONAY_DRV_PINPAD");
    note("login", pin ? "PIN" : "NULL");
    if (busy("C_Login")) return busy_rv();
    if (!pad) return ((login_t)real[C_LOGIN])(session, user, pin, len);
    if (pin != NULL) return CKR_ARGUMENTS_BAD; /* the PIN is typed on the reader only */
    char typed[64] = "";
    FILE *f = fopen(pad, "r");
    if (f) {
        if (!fgets(typed, sizeof typed, f)) typed[0] = 0;
        fclose(f);
    }
    typed[strcspn(typed, "\r\n")] = 0;
    if (strcmp(typed, "cancel") == 0) return CKR_FUNCTION_CANCELED;
    return ((login_t)real[C_LOGIN])(session, user, (unsigned char *)typed, strlen(typed));
}

static rv_t find_objects_init(ul session, void *template, ul count) {
    if (busy("C_FindObjectsInit")) return busy_rv();
    return ((rv_t (*)(ul, void *, ul))real[C_FINDOBJECTSINIT])(session, template, count);
}

static rv_t sign_init(ul session, void *mechanism, ul key) {
    if (busy("C_SignInit")) return busy_rv();
    return ((rv_t (*)(ul, void *, ul))real[C_SIGNINIT])(session, mechanism, key);
}

static rv_t sign(ul session, void *data, ul len, void *out, ul *out_len) {
    if (busy("C_Sign")) return busy_rv();
    return ((rv_t (*)(ul, void *, ul, void *, ul *))real[C_SIGN])(session, data, len, out, out_len);
}

rv_t C_GetFunctionList(void **out) {
    if (!real[0]) {
        void *lib = dlopen(getenv("EONAY_DRV_TARGET"), RTLD_NOW | RTLD_LOCAL);
        rv_t (*get)(void **) = lib ? (rv_t (*)(void **))dlsym(lib, "C_GetFunctionList") : NULL;
        void *table = NULL;
        if (!get || get(&table) != 0 || !table) return 0x5; /* CKR_GENERAL_ERROR */
        memcpy(&list, table, sizeof list);
        memcpy(real, list.fn, sizeof real);
        list.fn[C_GETSLOTLIST] = (fn_t)get_slot_list;
        list.fn[C_GETSLOTINFO] = (fn_t)get_slot_info;
        list.fn[C_GETTOKENINFO] = (fn_t)get_token_info;
        list.fn[C_GETMECHANISMLIST] = (fn_t)get_mechanism_list;
        list.fn[C_OPENSESSION] = (fn_t)open_session;
        list.fn[C_CLOSESESSION] = (fn_t)close_session;
        list.fn[C_CLOSEALLSESSIONS] = (fn_t)close_all_sessions;
        list.fn[C_LOGIN] = (fn_t)login;
        list.fn[C_FINDOBJECTSINIT] = (fn_t)find_objects_init;
        list.fn[C_SIGNINIT] = (fn_t)sign_init;
        list.fn[C_SIGN] = (fn_t)sign;
    }
    *out = &list;
    return 0;
}
"""


@dataclass
class RealDriver:
    """The module built from DRIVER_C over a real one, and the files that steer it.

    Set up with `over` (environment for processes started from now on, such as card
    processes), then turn behaviours on before the process loads the module.
    """

    module: Path
    where: Path

    @classmethod
    def over(
        cls, module: Path, target: str, where: Path, monkeypatch: pytest.MonkeyPatch
    ) -> RealDriver:
        made = cls(module, where)
        monkeypatch.setenv("EONAY_DRV_TARGET", target)
        monkeypatch.setenv("EONAY_DRV_LOG", str(made.log))
        for name in (
            "NO_PRESENT_LIST",
            "PINPAD",
            "FLAGS",
            "BUSY",
            "BUSY_RV",
            "BUSY_SLOTINFO",
            "BUSY_AT",
            "SESSIONS",
        ):
            monkeypatch.delenv(f"EONAY_DRV_{name}", raising=False)
        return made

    @property
    def log(self) -> Path:
        return self.where / "driver.log"

    @property
    def keypad(self) -> Path:
        """What the person types on the reader's keypad (or "cancel")."""
        return self.where / "keypad"

    @property
    def busy_flag(self) -> Path:
        return self.where / "busy"

    @property
    def sessions(self) -> Path:
        return self.where / "sessions"

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def open_sessions(self) -> int | None:
        """Sessions open now in the process that loaded the module (None before any)."""
        if not self.sessions.exists():
            return None
        fields = dict(part.split("=") for part in self.sessions.read_text().split())
        return int(fields["open"])


def driver_env(driver: RealDriver, monkeypatch: pytest.MonkeyPatch, **on: str) -> None:
    """Turn behaviours on (EONAY_DRV_<NAME>=value) for processes started from now on."""
    for name, value in on.items():
        monkeypatch.setenv(f"EONAY_DRV_{name.upper()}", value)
