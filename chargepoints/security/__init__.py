"""OCPP 1.6 security (the *Improved security for OCPP 1.6-J* whitepaper, edition 3), the
Central System's side, one module per subject:

* ``security_log`` — the security log's rows (ours and the chargers'), critical types, retention;
* ``handshake_auth`` — which security profile a charge point must connect with and whether a
  handshake meets it (Basic auth, TLS, the client certificate);
* ``brute_force`` — failed Basic-auth handshakes counted per identity and per source address;
* ``rotation`` — AuthorizationKey rotations kept pending until the charger uses the new key;
* ``profile_upgrades`` — raising a charge point's profile without locking it out;
* ``authorities`` — the tenant's certificate authorities (stored, generated, uploaded);
* ``certificates`` — SignCertificate → CertificateSigned, Install/Delete/GetInstalledCertificateIds.
"""
