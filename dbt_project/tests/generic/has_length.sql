{#- Fixed-width codes (ETSNG cargo codes, station codes, port codes, hashes) must keep their
    width. Nulls pass unless required=true. -#}
{% test has_length(model, column_name, length, required=false) %}
select {{ column_name }}
from {{ model }}
where {% if required %}{{ column_name }} is null or {% endif %}{{ dbt.length(column_name) }} <> {{ length }}
{% endtest %}
