with

source as (

    select * from {{ source('raw', 'reports') }}

),

renamed as (

    select
        report_id,
        nullif(trim(title), '') as title,
        nullif(trim(publisher), '') as publisher,
        cast(published as date) as published,
        nullif(trim(url), '') as url,
        nullif(lower(trim(language)), '') as language,
        is_synthetic,
        body,
        source_file,
        file_sha256,
        cast(ingested_at as timestamp) as ingested_at

    from source

),

final as (

    select * from renamed

)

select * from final
