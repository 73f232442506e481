"""Template tags of the operator's console."""

from typing import Any

from django import template

from csms.console.tiles import fleet_tiles

register = template.Library()


@register.inclusion_tag("admin/console/fleet_tiles.html")
def fleet_tiles_panel() -> dict[str, Any]:
    """The tiles as the admin index first renders them; htmx then polls the same fragment."""
    return {"fleets": fleet_tiles()}
