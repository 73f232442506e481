"""Staff-only endpoints the console's pages poll: thin views over the console's selectors."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache

from csms.console.pickers import picker_search
from csms.console.tiles import fleet_tiles


@never_cache
@staff_member_required
def fleet_tiles_fragment(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "admin/console/fleet_tiles.html", {"fleets": fleet_tiles()})


@never_cache
@staff_member_required
def picker(request: HttpRequest, kind: str) -> JsonResponse:
    """select2's format: ``{"results": [{"id", "text"}], "pagination": {"more"}}``."""
    tenant = request.GET.get("tenant", "")
    page = request.GET.get("page", "1")
    results, more = picker_search(
        kind=kind,
        tenant_id=int(tenant) if tenant.isdigit() else None,
        term=request.GET.get("term", "")[:100],
        page=int(page) if page.isdigit() else 1,
    )
    return JsonResponse({"results": results, "pagination": {"more": more}})
