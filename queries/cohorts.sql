-- Cohort deep-dives: women and girls, under-18s against 18-24s. Documentation, column tests and report placement: cohorts.toml
WITH groups AS (
    -- The cohorts compared, each with the residents it is a rate of.
    SELECT * FROM (VALUES
        (1, 'sex', 'female', 'F', CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)),
        (2, 'sex', 'male', 'M', CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)),
        (3, 'age', 'under 18', CAST(NULL AS VARCHAR), 0, 17),
        (4, 'age', '18-24', CAST(NULL AS VARCHAR), 18, 24)
    ) AS g(position, breakdown, cohort, sex, age_from, age_to)
),
people AS (
    -- sv_persons: each person once, with age and sex on their first offence of the period.
    SELECT role, person_id, age, sex FROM sv_persons
),
counts AS (
    SELECT g.position, g.breakdown, g.cohort, r.role, COUNT(p.person_id) AS persons
    FROM groups g
    CROSS JOIN (VALUES ('victim'), ('offender')) AS r(role)
    LEFT JOIN people p
        ON p.role = r.role
        AND (g.sex IS NULL OR p.sex = g.sex)
        AND (g.age_from IS NULL OR p.age BETWEEN g.age_from AND g.age_to)
    GROUP BY g.position, g.breakdown, g.cohort, r.role
),
known AS (
    -- The denominators of shares: persons whose sex (or age) is recorded.
    SELECT role,
        SUM(CASE WHEN sex IN ('F', 'M') THEN 1 ELSE 0 END) AS with_sex,
        SUM(CASE WHEN age IS NOT NULL THEN 1 ELSE 0 END) AS with_age
    FROM people GROUP BY role
),
population AS (
    SELECT g.position, SUM(r.population) AS residents
    FROM groups g
    JOIN age_sex_residents r
        ON (g.sex IS NULL OR r.sex = g.sex)
        AND (g.age_from IS NULL OR r.age BETWEEN g.age_from AND g.age_to)
    GROUP BY g.position
),
py AS (
    SELECT g.position, SUM(r.person_days) / 365.25 AS person_years
    FROM groups g
    JOIN age_sex_residents r
        ON (g.sex IS NULL OR r.sex = g.sex)
        AND (g.age_from IS NULL OR r.age BETWEEN g.age_from AND g.age_to)
    GROUP BY g.position
)
SELECT
    c.breakdown,
    c.cohort,
    c.role,
    c.persons,
    CASE c.breakdown WHEN 'sex' THEN k.with_sex ELSE k.with_age END AS role_total,
    100.0 * c.persons / NULLIF(CASE c.breakdown WHEN 'sex' THEN k.with_sex ELSE k.with_age END, 0) AS pct,
    100.0 * wilson_lower(c.persons, CASE c.breakdown WHEN 'sex' THEN k.with_sex ELSE k.with_age END) AS pct_lower_95,
    100.0 * wilson_upper(c.persons, CASE c.breakdown WHEN 'sex' THEN k.with_sex ELSE k.with_age END) AS pct_upper_95,
    pop.residents,
    py.person_years,
    1000.0 * c.persons / py.person_years AS rate_per_1000_year,
    rate_lower(c.persons, py.person_years, 1000) AS lower_95,
    rate_upper(c.persons, py.person_years, 1000) AS upper_95
FROM counts c
LEFT JOIN known k ON k.role = c.role
LEFT JOIN population pop ON pop.position = c.position
LEFT JOIN py ON py.position = c.position
CROSS JOIN params p
ORDER BY c.position, CASE c.role WHEN 'victim' THEN 1 ELSE 2 END;
