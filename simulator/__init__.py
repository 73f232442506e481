"""A fleet of simulated OCPP 1.6-J charge points (``python manage.py simulate``).

One asyncio process drives thousands of sockets with the ``websockets`` library and raw JSON
frames. Operators and integrators test a Central System with it (ours by default, any by URL);
``make bench`` measures ours with it. Only :mod:`simulator.provision` touches the
database: everything else talks OCPP and nothing but OCPP.
"""
