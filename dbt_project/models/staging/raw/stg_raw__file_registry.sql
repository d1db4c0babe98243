with

source as (

    select * from {{ source('raw', 'file_registry') }}

),

renamed as (

    select
        file_sha256,
        source,
        source_file,
        size_bytes,
        status,
        reason_code,
        message,
        rows_read,
        rows_accepted,
        rows_quarantined,
        rows_duplicate,
        columns_mapped,
        columns_unmapped,
        cast(loaded_at as timestamp) as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
