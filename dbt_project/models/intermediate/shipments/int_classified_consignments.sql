{#- The current version of every waybill with its cargo classified: the one home of the
    explosives rule, read by fct_shipments and by the claim figures (which must not read marts).
    A view (the intermediate default): it stores nothing, and the incremental marts filter it to the changed waybills. -#}
with

consignments as (

    select * from {{ ref('int_versioned_consignments') }}
    where is_current

),

cargo_codes as (

    select * from {{ ref('cargo_codes') }}

),

classified as (

    select
        consignments.waybill_no,
        consignments.dispatch_date,
        consignments.origin_station_code,
        consignments.destination_station_code,
        consignments.shipper,
        consignments.consignee,
        consignments.cargo_code,
        coalesce(consignments.cargo_description, cargo.cargo_description) as cargo_description,
        coalesce(cargo.cargo_class, 'unclassified') as cargo_class,
        coalesce(consignments.hazard_class, cargo.hazard_class) as hazard_class,
        -- codes missing from the seed fall back to the ETSNG explosives groups 4812xx / 4813xx
        coalesce(
            cargo.is_explosive,
            substr(consignments.cargo_code, 1, 4) in ('4812', '4813')
        ) as is_explosive,
        consignments.wagon_no,
        consignments.container_no,
        -- the manifest's gross weight is the declared cargo mass (packaging included, wagon
        -- tare excluded)
        consignments.gross_weight_kg / 1000.0 as gross_cargo_tonnes,
        consignments.packages,
        consignments.versions_count,
        consignments.source_file,
        consignments.source_row,
        consignments.file_sha256

    from consignments
    left join cargo_codes as cargo
        on consignments.cargo_code = cargo.cargo_code

),

final as (

    select * from classified

)

select * from final
