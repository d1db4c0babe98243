with

quarantined as (

    select * from {{ ref('stg_raw__quarantine') }}

),

final as (

    select
        quarantine_id,
        source,
        source_file,
        source_row,
        file_sha256,
        field,
        reason_code,
        message,
        raw_record,
        ingested_at,
        {{ synthetic_flag() }} as is_synthetic

    from quarantined

)

select * from final
