"""The offline emulator: moto on loopback with narrow, explained extensions (see ``server``)."""
