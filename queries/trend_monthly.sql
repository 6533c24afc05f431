-- Monthly serious violence per 1,000 residents in the month, all ages and the priority cohort. Documentation, column tests and report placement: trend_monthly.toml
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
        s.month,
        COUNT(*) AS offences,
        SUM(CASE WHEN y.crime_id IS NOT NULL THEN 1 ELSE 0 END) AS young_offences
    FROM sv_offences s
    LEFT JOIN young_crimes y ON y.crime_id = s.crime_id
    GROUP BY s.month
),
series AS (
    SELECT m.month, 'all' AS cohort, COALESCE(mo.offences, 0) AS offences, pop.all_ages AS population
    FROM period_months m
    JOIN pop ON pop.year = m.population_year
    LEFT JOIN monthly mo ON mo.month = m.month
    UNION ALL
    SELECT m.month, 'under_' || CAST(p.young_age_cutoff AS VARCHAR), COALESCE(mo.young_offences, 0), pop.young
    FROM period_months m
    CROSS JOIN params p
    CROSS JOIN available a
    JOIN pop ON pop.year = m.population_year
    LEFT JOIN monthly mo ON mo.month = m.month
    -- Ages come from the persons extract, and the cohort's residents from a population by
    -- age: without either there is no cohort series.
    WHERE a.persons AND a.residents_by_age_sex
)
SELECT
    month,
    cohort,
    offences,
    population,
    1000.0 * offences / NULLIF(population, 0) AS rate_per_1000,
    rate_lower(offences, population, 1000) AS lower_95,
    rate_upper(offences, population, 1000) AS upper_95
FROM series
ORDER BY month, cohort = 'all' DESC, cohort;
