{#- Incremental models rebuild only the waybills whose manifest rows changed since the last
    publish (stg_raw__changed_waybills, kept by ingest): this pre-hook deletes their rows, the
    model's incremental branch inserts their current versions. A waybill whose rows are all gone
    is deleted and not inserted again. A full refresh (new code) ignores both. -#}
{% macro delete_changed_waybills() %}
    {% if is_incremental() %}
        delete from {{ this }}
        where waybill_no in (select waybill_no from {{ ref('stg_raw__changed_waybills') }})
    {% endif %}
{% endmacro %}

{#- The filter of the incremental branch: only the changed waybills. -#}
{% macro only_changed_waybills(column='waybill_no') %}
    {% if is_incremental() %}
        and {{ column }} in (select waybill_no from {{ ref('stg_raw__changed_waybills') }})
    {% endif %}
{% endmacro %}
