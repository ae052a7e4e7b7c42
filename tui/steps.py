"""The guide's steps, apart from the flow's rules so the first screen can name them cheaply."""

from __future__ import annotations

from enum import Enum


class Step(Enum):
    CODE_ENTRY = "code_entry"  # guide steps 2-4
    CERTIFICATE_SELECT = "certificate_select"  # step 5, "Sertifika Seçiniz"
    LOGIN_PIN = "login_pin"  # step 5, PIN and İMZALA
    E_ONAY_CONFIRM = "e_onay_confirm"  # steps 6-7
    E_ONAY_PIN = "e_onay_pin"  # step 8, signing again
    DONE = "done"  # step 8, the confirmation
