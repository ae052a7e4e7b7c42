"""The setup wing: configuration, PKCS#11 module discovery, logs and `eonay doctor`."""
