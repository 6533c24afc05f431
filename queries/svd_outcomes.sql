-- Serious Violence Duty success measures by financial year. Documentation, column tests and report placement: svd_outcomes.toml
-- A financial year (April to March) is named by the year it starts, and an instant falls in the
-- financial year starting in the calendar year of the instant three months earlier.
WITH fy_of AS (
    SELECT
        o.crime_id,
        CAST(date_part('year', o.committed_at - INTERVAL '3 months') AS BIGINT) AS fy_start
    FROM offences o
),
ae_fy AS (
    SELECT
        CAST(date_part('year', arrived_at - INTERVAL '3 months') AS BIGINT) AS fy_start,
        age, admitted, weapon
    FROM ae_assaults
),
years AS (
    SELECT DISTINCT fy_start FROM fy_of
    UNION
    SELECT DISTINCT fy_start FROM ae_fy
),
pop_years AS (
    -- Every year of the population table, as the period's population year is chosen (params).
    SELECT DISTINCT CAST(year AS BIGINT) AS pop_year FROM population
),
fy_population_year AS (
    SELECT
        y.fy_start,
        COALESCE(MAX(CASE WHEN p.pop_year <= y.fy_start THEN p.pop_year END), MIN(p.pop_year)) AS population_year
    FROM years y CROSS JOIN pop_years p
    GROUP BY y.fy_start
),
pop AS (
    SELECT
        CAST(pop.year AS BIGINT) AS pop_year,
        SUM(pop.population) AS all_ages,
        SUM(CASE WHEN pop.age <= 25 THEN pop.population ELSE 0 END) AS aged_25_and_under,
        SUM(CASE WHEN pop.age < 25 THEN pop.population ELSE 0 END) AS under_25
    FROM area_population pop
    GROUP BY CAST(pop.year AS BIGINT)
),
knife_offences AS (
    -- The financial year from the offence's own date (not a join to fy_of, which is every
    -- offence of the extract).
    SELECT
        s.crime_id,
        CAST(date_part('year', s.committed_at - INTERVAL '3 months') AS BIGINT) AS fy_start,
        MAX(CASE WHEN v.age <= 25 THEN 1 ELSE 0 END) AS young_victim
    FROM sv_offences_all s
    JOIN persons v ON v.crime_id = s.crime_id AND v.role = 'victim'
    WHERE s.knife
    GROUP BY s.crime_id, s.committed_at
),
homicides AS (
    SELECT
        o.crime_id,
        CAST(date_part('year', o.committed_at - INTERVAL '3 months') AS BIGINT) AS fy_start,
        o.knife,
        MAX(CASE WHEN v.age < 25 THEN 1 ELSE 0 END) AS victim_under_25
    FROM offences o
    JOIN offence_codes c ON c.offence_code = o.offence_code
    LEFT JOIN persons v ON v.crime_id = o.crime_id AND v.role = 'victim'
    WHERE c.ho_group = 'Homicide' AND NOT o.domestic
    GROUP BY o.crime_id, o.committed_at, o.knife
),
ae_counts AS (
    SELECT fy_start,
        SUM(CASE WHEN admitted AND weapon = 'knife_sharp' THEN 1 ELSE 0 END) AS all_ages,
        SUM(CASE WHEN admitted AND weapon = 'knife_sharp' AND age <= 25 THEN 1 ELSE 0 END) AS young
    FROM ae_fy GROUP BY fy_start
),
knife_counts AS (
    SELECT fy_start, COUNT(*) AS all_ages, SUM(young_victim) AS young FROM knife_offences GROUP BY fy_start
),
homicide_counts AS (
    SELECT fy_start, COUNT(*) AS all_ages,
        SUM(CASE WHEN knife AND victim_under_25 = 1 THEN 1 ELSE 0 END) AS young
    FROM homicides GROUP BY fy_start
),
measure_counts AS (
    SELECT fy_start, 'ae_knife_assault_admissions' AS measure, all_ages, young FROM ae_counts
    UNION ALL
    SELECT fy_start, 'knife_sv_offences', all_ages, young FROM knife_counts
    UNION ALL
    SELECT fy_start, 'homicides', all_ages, young FROM homicide_counts
),
measure_groups AS (
    SELECT * FROM (VALUES
        ('ae_knife_assault_admissions', 1, 'all', 1),
        ('ae_knife_assault_admissions', 1, 'victims_25_and_under', 2),
        ('knife_sv_offences', 2, 'all', 1),
        ('knife_sv_offences', 2, 'victims_25_and_under', 2),
        ('homicides', 3, 'all', 1),
        ('homicides', 3, 'victim_under_25_knife', 3)
    ) AS g(measure, measure_order, age_group, group_order)
),
counts AS (
    -- Every year × measure × group, zero where nothing was counted, each year with its
    -- population year: `years` (a scan of every offence) read once, through
    -- fy_population_year, not once for each measure and group or again for the population.
    SELECT y.fy_start, y.population_year, g.measure, g.measure_order, g.age_group, g.group_order,
        COALESCE(CASE WHEN g.age_group = 'all' THEN m.all_ages ELSE m.young END, 0) AS count
    FROM fy_population_year y
    CROSS JOIN measure_groups g
    LEFT JOIN measure_counts m ON m.fy_start = y.fy_start AND m.measure = g.measure
),
cells AS (
    SELECT
        c.*,
        CASE c.age_group WHEN 'all' THEN pop.all_ages WHEN 'victims_25_and_under' THEN pop.aged_25_and_under ELSE pop.under_25 END AS population,
        -- Days of the financial year: 366 when it holds 29 February (of its second calendar year).
        CASE
            WHEN ((c.fy_start + 1) % 4 = 0 AND (c.fy_start + 1) % 100 <> 0) OR (c.fy_start + 1) % 400 = 0 THEN 366
            ELSE 365
        END AS days
    FROM counts c
    JOIN pop ON pop.pop_year = c.population_year
    CROSS JOIN available av
    -- Rows of young victims need residents by age: with a population of all ages only, the
    -- rows of all ages are given.
    WHERE c.age_group = 'all' OR av.residents_by_age_sex
)
SELECT
    CAST(fy_start AS VARCHAR) || '/' || lpad(CAST((fy_start + 1) % 100 AS VARCHAR), 2, '0') AS financial_year,
    measure,
    age_group,
    count,
    population,
    population * days / 365.25 AS person_years,
    1000.0 * count / NULLIF(population * days / 365.25, 0) AS rate_per_1000_year,
    rate_lower(count, population * days / 365.25, 1000) AS lower_95,
    rate_upper(count, population * days / 365.25, 1000) AS upper_95
FROM cells
ORDER BY fy_start, measure_order, group_order;
