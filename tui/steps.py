"""The app's steps, apart from the flow's rules so the first screen can name them cheaply.

"Step" here always means one of the app's six screens, numbered as the
person sees them ("Adım 2/6"). The Kamu SM guide numbers its own steps
differently (../shared/guide): `guide_steps` says which of the guide's steps
each of ours stands for.
"""

from __future__ import annotations

from enum import Enum


class Step(Enum):
    CODE_ENTRY = "code_entry"
    CERTIFICATE_SELECT = "certificate_select"
    LOGIN_PIN = "login_pin"
    E_ONAY_CONFIRM = "e_onay_confirm"
    E_ONAY_PIN = "e_onay_pin"
    DONE = "done"

    @property
    def number(self) -> int:
        """Its place on screen, "Adım n/6": the order the steps are declared in."""
        return list(Step).index(self) + 1

    @property
    def guide_steps(self) -> str:
        """The steps of Kamu SM's guide this one stands for."""
        return _GUIDE_STEPS[self]


STEP_COUNT = len(Step)
PIN_STEPS = frozenset({Step.LOGIN_PIN, Step.E_ONAY_PIN})  # the two that ask for the PIN

_GUIDE_STEPS = {
    Step.CODE_ENTRY: "2-4",  # the Doğrulama Kodu typed into the app
    Step.CERTIFICATE_SELECT: "5",  # "Sertifika Seçiniz"
    Step.LOGIN_PIN: "5",  # PIN Kodu and İMZALA
    Step.E_ONAY_CONFIRM: "6-7",  # "E-ONAY İşlemleri", "Devam Et"
    Step.E_ONAY_PIN: "8",  # signing again
    Step.DONE: "8",  # the confirmation
}
