"""TLS served by the product itself, and what a connection's TLS says about its client.

* ``context`` — the OpenSSL server context: TLS 1.2+, the whitepaper's cipher suites, and
  client-certificate verification for security profile 3.
* ``endpoint`` — the Twisted endpoint daphne listens with (``-e csms-tls:...``, found through
  ``twisted/plugins/csms_tls.py``), and the endpoint string ``manage.py serve`` builds.
* ``extension`` — the ASGI TLS extension (``scope["extensions"]["tls"]``): its shape, and how
  it is read from an OpenSSL connection (``csms/server_patches/daphne_tls.py`` puts it there).
* ``proxy`` — the same shape read from the headers of a trusted TLS-terminating proxy.
* ``scope`` — one call for the application: the TLS facts of a scope, whichever way they came.
"""
