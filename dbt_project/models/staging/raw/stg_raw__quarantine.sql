with

source as (

    select * from {{ source('raw', 'quarantine') }}

),

renamed as (

    select
        {{ surrogate_key(['file_sha256', 'source_row', 'field', 'reason_code', 'message']) }}
            as quarantine_id,
        source,
        source_file,
        cast(source_row as bigint) as source_row,
        file_sha256,
        field,
        reason_code,
        message,
        raw_record,
        cast(ingested_at as timestamp) as ingested_at

    from source

),

final as (

    select * from renamed

)

select * from final
