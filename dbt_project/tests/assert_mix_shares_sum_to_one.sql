-- Every tonne and every container is assigned to exactly one munition profile.
select sum(mix_share) as total_share
from {{ ref('munition_profiles') }}
having abs(sum(mix_share) - 1) > 1e-9
