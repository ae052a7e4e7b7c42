"""The portal wing: the httpx client and the wire format of the portal API."""
