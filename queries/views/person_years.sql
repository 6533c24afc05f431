-- Person-years at risk in the period, the denominator of every rate a year. Documentation: person_years.toml
CREATE VIEW person_years AS
-- Each month's residents (its own population year) × the month's days in the period, summed in
-- whole person-days (exact, so the same in any order) and then over 365.25 days a year. The
-- months of one population year are summed first, so each population row is read once
-- (residents × the year's days in the period equals the sum over its months: whole numbers),
-- and the lookup's names are joined after summing. Jobs sum person_days and divide at the end,
-- for the same reason.
WITH year_days AS (
    SELECT population_year, SUM(days) AS days
    FROM period_months
    GROUP BY population_year
),
by_lsoa_sex_age AS (
    SELECT
        pop.lsoa_code,
        pop.sex,
        pop.age,
        SUM(CAST(pop.population AS BIGINT) * y.days) AS person_days
    FROM year_days y
    JOIN population pop ON pop.year = y.population_year
    GROUP BY pop.lsoa_code, pop.sex, pop.age
)
SELECT
    s.lsoa_code,
    l.lsoa_name,
    l.ward_name AS ward,
    l.lad_name AS district,
    l.csp_name AS csp,
    s.sex,
    CAST(s.age AS BIGINT) AS age,
    CASE
        WHEN s.age >= 90 THEN '90+'
        ELSE CAST(CAST(s.age AS BIGINT) / 5 * 5 AS VARCHAR) || '-' || CAST(CAST(s.age AS BIGINT) / 5 * 5 + 4 AS VARCHAR)
    END AS age_band,
    CASE
        -- A population of all ages has no age: no cohort, rather than the older one.
        WHEN s.age IS NULL THEN NULL
        WHEN s.age < p.young_age_cutoff THEN 'under_' || CAST(p.young_age_cutoff AS VARCHAR)
        ELSE CAST(p.young_age_cutoff AS VARCHAR) || '_plus'
    END AS cohort,
    s.person_days,
    s.person_days / 365.25 AS person_years
FROM by_lsoa_sex_age s
JOIN lsoa l ON l.lsoa_code = s.lsoa_code
CROSS JOIN params p;
