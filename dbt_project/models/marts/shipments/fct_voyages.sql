{#- The voyages the shipments claims are counted from, published so that an analyst (and
    fct_claim_evidence) can list the voyages behind each figure. -#}
with

voyages as (

    select * from {{ ref('int_paired_voyages') }}

),

final as (

    select
        voyage_id,
        vessel_name,
        imo,
        origin_port_code,
        origin_country_code,
        departure_date,
        destination_port_code,
        destination_country_code,
        arrival_date,
        arrival_month,
        source_file,
        source_row,
        file_sha256,
        {{ synthetic_flag() }} as is_synthetic

    from voyages

)

select * from final
