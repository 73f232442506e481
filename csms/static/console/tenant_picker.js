/* Tenant-aware pickers (csms/console/pickers.py): select2, shipped with the admin, asking our
   picker endpoint for one tenant's objects only. The tenant is the form's tenant field, or fixed
   by the page (data-tenant). Changing the tenant clears what was picked for the other one. */
'use strict';
(function ($) {
  function tenantOf(el) {
    const fixed = el.dataset.tenant;
    if (fixed) { return fixed; }
    const field = el.form && el.form.elements[el.dataset.tenantField || 'tenant'];
    return field ? field.value : '';
  }
  function init(el) {
    if (el.dataset.pickerReady || el.name.includes('__prefix__')) { return; }
    el.dataset.pickerReady = '1';
    $(el).select2({
      width: 'style',
      allowClear: !el.required && !el.multiple,
      placeholder: el.dataset.placeholder || '',
      ajax: {
        url: el.dataset.pickerUrl,
        dataType: 'json',
        delay: 250,
        data: (params) => ({ term: params.term || '', page: params.page || 1, tenant: tenantOf(el) })
      }
    });
    const field = !el.dataset.tenant && el.form && el.form.elements[el.dataset.tenantField || 'tenant'];
    if (field && field.addEventListener) {
      field.addEventListener('change', () => { $(el).val(null).trigger('change'); });
    }
  }
  function initAll(root) { root.querySelectorAll('select.tenant-picker').forEach(init); }
  document.addEventListener('DOMContentLoaded', () => initAll(document));
  document.addEventListener('htmx:afterSwap', (event) => initAll(event.target));
})(django.jQuery);
