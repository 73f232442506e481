"""The operator's console (issue 20 §1-§2): what the staff admin shows beyond model lists.

* ``tiles``: the fleet at a glance, per tenant and in total, each number a link to the list it
  counts (the admin index renders them; ``views.fleet_tiles_fragment`` re-renders them for htmx
  polling, so the page refreshes without a reload).
* ``meter_series``: power and energy over time from MeterValues, and a session's summary.
* ``pickers``: tenant-aware autocomplete pickers (a charge point is never offered to a tenant it
  does not belong to), fast on fleets of 10,000.
* ``views``/``urls``: staff-only endpoints the pages poll (tiles, chart data, pickers).

Everything here reads through selectors and writes through the apps' services: the console is an
interface, like the API.
"""
