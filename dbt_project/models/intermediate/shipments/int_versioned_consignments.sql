{#- Every manifest row with its version rank inside its waybill: a corrected re-send supersedes
    the earlier row but both stay visible here, so a correction can be audited. A view: the
    ranks of re-sent waybills come from int_ranked_resent_waybills, every other row is version
    1 of 1. A filter on waybill_no (the incremental marts' changed waybills) reaches the raw
    scan through the left join. -#}
with

manifests as (

    select * from {{ ref('stg_raw__manifests') }}

),

resent as (

    select * from {{ ref('int_ranked_resent_waybills') }}

),

versioned as (

    select
        manifests.manifest_row_id,
        manifests.waybill_no,
        coalesce(resent.version_rank, 1) as version_rank,
        coalesce(resent.versions_count, 1) as versions_count,
        manifests.dispatch_date,
        manifests.origin_station_code,
        manifests.origin_station_raw,
        manifests.destination_station_code,
        manifests.destination_station_raw,
        manifests.shipper,
        manifests.consignee,
        manifests.cargo_code,
        manifests.cargo_description,
        manifests.hazard_class,
        manifests.wagon_no,
        manifests.container_no,
        manifests.gross_weight_kg,
        manifests.weight_unit_raw,
        manifests.packages,
        manifests.source_file,
        manifests.source_row,
        manifests.file_sha256,
        manifests.ingested_at

    from manifests
    left join resent
        on manifests.file_sha256 = resent.file_sha256
        and manifests.source_row = resent.source_row

),

final as (

    select
        manifest_row_id,
        waybill_no,
        version_rank,
        versions_count,
        version_rank = 1 as is_current,
        dispatch_date,
        origin_station_code,
        origin_station_raw,
        destination_station_code,
        destination_station_raw,
        shipper,
        consignee,
        cargo_code,
        cargo_description,
        hazard_class,
        wagon_no,
        container_no,
        gross_weight_kg,
        weight_unit_raw,
        packages,
        source_file,
        source_row,
        file_sha256,
        ingested_at

    from versioned

)

select * from final
