with

source as (

    select * from {{ source('raw', 'report_claims') }}

),

renamed as (

    select
        claim_id,
        report_id,
        metric,
        cast(value as double) as claim_value,
        cast(coalesce(value_low, value) as double) as claim_low,
        cast(coalesce(value_high, value) as double) as claim_high,
        qualifier,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        upper(direction_from) as direction_from,
        upper(direction_to) as direction_to,
        char_start,
        char_end,
        sentence,
        is_curated,
        source_file,
        file_sha256,
        cast(ingested_at as timestamp) as ingested_at

    from source

),

final as (

    select * from renamed

)

select * from final
