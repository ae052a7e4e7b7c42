"""The card wing: PKCS#11 access, certificates as a person sees them, CAdES and DER.

Nothing outside this package calls PyKCS11; screens reach the card only through
`tui.core.services.CardService`.
"""
