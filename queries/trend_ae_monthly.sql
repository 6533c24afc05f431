-- Monthly assault-related A&E attendances per 1,000 residents in the month, all ages and the priority cohort. Documentation, column tests and report placement: trend_ae_monthly.toml
WITH pop AS (
    SELECT
        pop.year,
        SUM(pop.population) AS all_ages,
        SUM(CASE WHEN pop.age < p.young_age_cutoff THEN pop.population ELSE 0 END) AS young
    FROM area_population pop
    CROSS JOIN params p
    GROUP BY pop.year
),
monthly AS (
    SELECT
        a.month,
        COUNT(*) AS attendances,
        SUM(CASE WHEN a.age < p.young_age_cutoff THEN 1 ELSE 0 END) AS young_attendances
    FROM ae_assaults a
    CROSS JOIN params p
    WHERE a.arrived_date BETWEEN p.period_start AND p.period_end
    GROUP BY a.month
),
series AS (
    SELECT m.month, 'all' AS cohort, COALESCE(mo.attendances, 0) AS attendances, pop.all_ages AS population
    FROM period_months m
    JOIN pop ON pop.year = m.population_year
    LEFT JOIN monthly mo ON mo.month = m.month
    UNION ALL
    SELECT m.month, 'under_' || CAST(p.young_age_cutoff AS VARCHAR), COALESCE(mo.young_attendances, 0), pop.young
    FROM period_months m
    CROSS JOIN params p
    CROSS JOIN available av
    JOIN pop ON pop.year = m.population_year
    LEFT JOIN monthly mo ON mo.month = m.month
    -- The cohort's residents need a population by age: without one there is no cohort series.
    WHERE av.residents_by_age_sex
)
SELECT
    month,
    cohort,
    attendances,
    population,
    1000.0 * attendances / NULLIF(population, 0) AS rate_per_1000,
    rate_lower(attendances, population, 1000) AS lower_95,
    rate_upper(attendances, population, 1000) AS upper_95
FROM series
ORDER BY month, cohort = 'all' DESC, cohort;
