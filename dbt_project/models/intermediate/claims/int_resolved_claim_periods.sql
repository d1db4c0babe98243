{#- The period each claim is compared over: as stated, or the whole data period when the claim
    gives none. Data periods are whole months (the data is complete for every month it touches). -#}
{#- The part of the claim period the data covers. -#}
{% set overlap_start = 'greatest(effective_start, data_start)' %}
{% set overlap_end = 'least(effective_end, data_end)' %}
with

claims as (

    select * from {{ ref('int_claims') }}

),

daily_flows as (

    select * from {{ ref('int_summed_daily_flows') }}
    where is_explosive

),

voyages as (

    select * from {{ ref('int_paired_voyages') }}

),

data_ranges as (

    select
        'manifests' as evidence_source,
        {{ month_start('min(dispatch_date)') }} as data_start,
        {{ month_end('max(dispatch_date)') }} as data_end
    from daily_flows

    union all

    select
        'voyages' as evidence_source,
        {{ month_start('min(arrival_date)') }} as data_start,
        {{ month_end('max(arrival_date)') }} as data_end
    from voyages

),

sourced as (

    select
        claim_id,
        metric,
        period_start,
        period_end,
        case when metric = 'shipments' then 'voyages' else 'manifests' end as evidence_source
    from claims

),

resolved as (

    select
        sourced.claim_id,
        sourced.metric,
        sourced.evidence_source,
        sourced.period_start is not null or sourced.period_end is not null as is_period_stated,
        coalesce(sourced.period_start, data_ranges.data_start) as effective_start,
        coalesce(sourced.period_end, data_ranges.data_end) as effective_end,
        data_ranges.data_start,
        data_ranges.data_end

    from sourced
    left join data_ranges
        on sourced.evidence_source = data_ranges.evidence_source

),

final as (

    select
        *,
        case
            when data_start is null or effective_start is null or effective_end is null then 0.0
            when {{ overlap_start }} > {{ overlap_end }} then 0.0
            else
                -- a double on every engine (1.0 * n is a decimal on Spark, rounded when divided)
                cast({{ days_inclusive(overlap_start, overlap_end) }} as double)
                / {{ days_inclusive('effective_start', 'effective_end') }}
        end as data_coverage
    from resolved

)

select * from final
