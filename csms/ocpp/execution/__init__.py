"""Where and when the OCPP path's database work runs (PERFORMANCE.md, "Traps" and "Storms").

* :mod:`~csms.ocpp.execution.hops`: the threads that database work runs in, off the event loop,
  and the count of work under way;
* :mod:`~csms.ocpp.execution.group_commit`: inbound CALLs that queue while those threads are
  busy share one hop and one transaction;
* :mod:`~csms.ocpp.execution.admission`: while the process is saturated, BootNotification is
  answered Pending so that a reconnecting fleet comes back in waves.
"""
