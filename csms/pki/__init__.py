"""Certificates of the OCPP 1.6 security whitepaper (edition 3), as pure functions.

Everything here works on the ``cryptography`` package's objects and PEM text, with no ORM and no
network: the tenant models, the API and the OCPP handlers (a later task, issue 19) store what
these functions return and decide what to do with the problems they report.

* ``keys`` — which keys a certificate may carry (A00.FR.501-503) and how a CA signs (A00.FR.505).
* ``authorities`` — a Central System root and a Charge Point CA: generate one, or load and check
  an uploaded one.
* ``signing_requests`` — a charge point's CSR (SignCertificate.req): check it, sign it.
* ``subjects`` — the one rule a charge point's subject obeys (CN and O), for CSRs and certificates.
* ``client_certificates`` — verify the certificate a charge point presents (security profile 3).
* ``server_certificates`` — the Central System's own TLS certificate (development CA).
* ``hash_data`` — ``CertificateHashDataType`` for DeleteCertificate / GetInstalledCertificateIds.
* ``key_storage`` — CA private keys encrypted at rest with a key from settings.
"""
