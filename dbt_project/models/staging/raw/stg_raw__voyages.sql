with

source as (

    select * from {{ source('raw', 'voyages') }}

),

renamed as (

    select
        {{ surrogate_key(['file_sha256', 'source_row']) }} as port_call_id,
        trim(vessel_name) as vessel_name,
        nullif(trim(imo), '') as imo,
        port as port_code,
        port_raw,
        cast(arrival as date) as arrival_date,
        cast(departure as date) as departure_date,
        laden as is_laden,
        source_file,
        cast(source_row as bigint) as source_row,
        file_sha256,
        cast(ingested_at as timestamp) as ingested_at

    from source

),

final as (

    select * from renamed

)

select * from final
