"""CSV import in the admin: an "Import CSV" page on the idTag and charge point lists, for one
tenant, with the same row-by-row validation and all-or-nothing rule as the API
(``chargepoints.imports``); refused files are shown with every problem by line."""

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from chargepoints.imports import ImportKind, ImportRefusedError, bulk_create, csv_rows
from csms.tenancy.models import Tenant


class CsvImportForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.all())
    file = forms.FileField(help_text="UTF-8 CSV with a header row.")


class CsvImportAdminMixin:
    """Mixed into a ModelAdmin whose rows ``import_kind`` describes."""

    import_kind: ClassVar[ImportKind]
    change_list_template = "admin/csv_import_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta  # type: ignore[attr-defined]
        custom = [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv_view),  # type: ignore[attr-defined]
                name=f"{opts.app_label}_{opts.model_name}_import_csv",
            )
        ]
        return custom + super().get_urls()  # type: ignore[misc]

    def import_csv_view(self, request: HttpRequest) -> HttpResponse:
        opts = self.model._meta  # type: ignore[attr-defined]
        if not self.has_add_permission(request):  # type: ignore[attr-defined]
            return HttpResponseRedirect(reverse("admin:index"))
        form = CsvImportForm(request.POST or None, request.FILES or None)
        problems: list[dict[str, Any]] = []
        summary: list[str] = []
        if request.method == "POST" and form.is_valid():
            kind = self.import_kind
            try:
                text = form.cleaned_data["file"].read().decode("utf-8")
                report = bulk_create(
                    tenant=form.cleaned_data["tenant"], kind=kind, rows=csv_rows(text, kind=kind)
                )
            except UnicodeDecodeError:
                form.add_error("file", "The CSV file must be UTF-8.")
            except ImportRefusedError as refused:
                detail: Any = refused.detail
                summary = [str(message) for message in detail.get("file", [])]
                for line, fields in sorted(
                    refused.report.errors.items(), key=lambda item: int(item[0])
                ):
                    for attr, texts in fields.items():
                        problems.append({"line": line, "field": attr, "messages": texts})
            else:
                messages.success(
                    request,
                    f"Imported {len(report.created)} {kind.name} for "
                    f"{form.cleaned_data['tenant']}.",
                )
                return HttpResponseRedirect(
                    reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
                )
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": f"Import {opts.verbose_name_plural} from CSV",
            "form": form,
            "opts": opts,
            "columns": self.import_kind.columns,
            "required": self.import_kind.required,
            "summary": summary,
            "problems": problems,
        }
        return TemplateResponse(request, "admin/csv_import.html", context)
