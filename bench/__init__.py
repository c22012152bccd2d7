"""Berth's benchmark against the CNCF distribution server (Debian's docker-registry): `make bench`."""
