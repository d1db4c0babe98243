{#- Qualifier rule: a claim states an interval for the true value, widened by the
    claim_qualifier_band parameter (b):
      exact  [low, high]          about  [low x (1 - b), high x (1 + b)]
      over   [low, unbounded)     nearly [low x (1 - b), high]
      up to  [0, high]
    The claim is consistent when that interval overlaps [computed_low, computed_high]; above_range
    when it lies wholly above, below_range when wholly below. conflicting_direction (the claim's
    stated flow contradicts the voyages' KP -> RU direction), not_comparable (the data does not
    touch the claim period) and partial_coverage (the data covers only part of it: a total over
    part of the period cannot confirm or refute a total over all of it) are decided first. -#}

{#- Rounds are shown to the thousand in the sentence: the estimate has no precision below that. -#}
{% set shown = "case when metric = 'rounds' then round(COLUMN, -3) else COLUMN end" %}
with

figures as (

    select * from {{ ref('int_claim_figures') }}

),

parameters as (

    select * from {{ ref('method_parameters') }}

),

band as (

    select central as qualifier_band
    from parameters
    where parameter = 'claim_qualifier_band'

),

implied as (

    select
        figures.*,
        case figures.qualifier
            when 'about' then figures.claim_low * (1 - band.qualifier_band)
            when 'nearly' then figures.claim_low * (1 - band.qualifier_band)
            when 'up to' then 0
            else figures.claim_low
        end as implied_low,
        case figures.qualifier
            when 'about' then figures.claim_high * (1 + band.qualifier_band)
            when 'over' then cast(null as double)
            else figures.claim_high
        end as implied_high

    from figures
    cross join band

),

classified as (

    select
        *,
        case
            when is_direction_conflict then 'conflicting_direction'
            when data_coverage = 0 then 'not_comparable'
            when data_coverage < 1 then 'partial_coverage'
            when implied_high is not null and implied_high < computed_low then 'below_range'
            when implied_low > computed_high then 'above_range'
            else 'consistent'
        end as status
    from implied

),

phrased as (

    select
        *,
        case qualifier
            when 'over' then 'more than '
            when 'about' then 'about '
            when 'nearly' then 'nearly '
            when 'up to' then 'up to '
            else ''
        end
        || {{ format_number('claim_value') }}
        || case metric
            when 'explosives_tonnes' then ' tonnes of explosives'
            when 'shipments' then ' shipments (voyages)'
            else ' ' || metric
        end as claim_text,
        case
            when computed_low = computed_high
                then {{ format_number(shown | replace('COLUMN', 'computed_central')) }}
            else
                {{ format_number(shown | replace('COLUMN', 'computed_low')) }}
                || ' to ' || {{ format_number(shown | replace('COLUMN', 'computed_high')) }}
                || ' (central '
                || {{ format_number(shown | replace('COLUMN', 'computed_central')) }}
                || ')'
        end as computed_text,
        {{ format_number('evidence_rows') }}
        || case when metric = 'shipments' then ' voyages' else ' shipments' end as evidence_text
    from classified

),

described as (

    select
        *,
        'Claim: ' || claim_text
        || ' for ' || cast(period_start as {{ dbt.type_string() }})
        || ' to ' || cast(period_end as {{ dbt.type_string() }})
        || case when is_period_stated then '' else ' (whole data period)' end
        || '. '
        || case status
            when 'conflicting_direction'
                then
                    'It states the flow as '
                    || coalesce(direction_from, '?') || ' -> ' || coalesce(direction_to, '?')
                    || ', but the data shows '
                    || coalesce(data_direction_from, '?')
                    || ' -> '
                    || coalesce(data_direction_to, '?')
                    || '.'
            when 'not_comparable' then 'The data has no records in that period.'
            when 'partial_coverage'
                then
                    'Not comparable: the data covers only '
                    || {{ format_percent('data_coverage') }} || ' of the period (computed '
                    || computed_text || ' from ' || evidence_text || ' for the part it covers).'
            else
                case status
                    when 'consistent' then 'Consistent with the data'
                    when 'above_range' then 'Higher than the data supports'
                    else 'Lower than the data shows'
                end
                || ': computed ' || computed_text || ' from ' || evidence_text || '.'
        end as explanation
    from phrased

),

final as (

    select
        claim_id,
        report_id,
        metric,
        claim_value,
        claim_low,
        claim_high,
        qualifier,
        period_start,
        period_end,
        is_period_stated,
        data_coverage,
        evidence_rows,
        computed_low,
        computed_central,
        computed_high,
        round(claim_value / nullif(computed_central, 0), 3) as ratio_to_central,
        coalesce(claim_value between computed_low and computed_high, false) as within_range,
        implied_low,
        implied_high,
        direction_from,
        direction_to,
        data_direction_from,
        data_direction_to,
        status,
        explanation,
        is_synthetic

    from described

)

select * from final
