-- Under-cutoff vs cutoff-plus rates of victims and offenders, overall and by offence group. Documentation, column tests and report placement: rate_ratio_by_group.toml
WITH linked AS (
    SELECT 'victim' AS role, ho_group, person_id, crime_id, committed_at, age FROM sv_victims
    UNION ALL
    SELECT 'offender' AS role, ho_group, person_id, crime_id, committed_at, age FROM sv_offenders
),
scoped AS (
    SELECT role, ho_group, person_id, crime_id, committed_at, age FROM linked
    UNION ALL
    SELECT role, 'All serious violence', person_id, crime_id, committed_at, age FROM linked
),
firsts AS (
    SELECT role, ho_group, person_id, age,
        ROW_NUMBER() OVER (PARTITION BY role, ho_group, person_id ORDER BY committed_at, crime_id, age) AS nth
    FROM scoped
),
counts AS (
    SELECT
        f.ho_group,
        f.role,
        -- Offenders from 10, the age of criminal responsibility in England and Wales.
        SUM(CASE WHEN f.age < p.young_age_cutoff AND (f.role = 'victim' OR f.age >= 10) THEN 1 ELSE 0 END) AS young_persons,
        SUM(CASE WHEN f.age >= p.young_age_cutoff THEN 1 ELSE 0 END) AS older_persons
    FROM firsts f CROSS JOIN params p
    WHERE f.nth = 1
    GROUP BY f.ho_group, f.role
),
res AS (
    SELECT roles.role,
        SUM(CASE WHEN r.age < p.young_age_cutoff AND (roles.role = 'victim' OR r.age >= 10) THEN r.population ELSE 0 END) AS young,
        SUM(CASE WHEN r.age >= p.young_age_cutoff THEN r.population ELSE 0 END) AS older
    FROM age_sex_residents r CROSS JOIN params p CROSS JOIN (VALUES ('victim'), ('offender')) AS roles(role)
    GROUP BY roles.role
),
py AS (
    -- The same residents' person-years in the period: the denominators of the rates a year.
    SELECT roles.role,
        SUM(CASE WHEN r.age < p.young_age_cutoff AND (roles.role = 'victim' OR r.age >= 10) THEN r.person_days ELSE 0 END) / 365.25 AS young,
        SUM(CASE WHEN r.age >= p.young_age_cutoff THEN r.person_days ELSE 0 END) / 365.25 AS older
    FROM age_sex_residents r CROSS JOIN params p CROSS JOIN (VALUES ('victim'), ('offender')) AS roles(role)
    GROUP BY roles.role
),
rates AS (
    SELECT
        c.ho_group,
        c.role,
        c.young_persons,
        res.young AS young_population,
        py.young AS young_person_years,
        1000.0 * c.young_persons / NULLIF(py.young, 0) AS young_rate_per_1000_year,
        c.older_persons,
        res.older AS older_population,
        py.older AS older_person_years,
        1000.0 * c.older_persons / NULLIF(py.older, 0) AS older_rate_per_1000_year
    FROM counts c JOIN res ON res.role = c.role JOIN py ON py.role = c.role
)
SELECT
    *,
    young_rate_per_1000_year / NULLIF(older_rate_per_1000_year, 0) AS rate_ratio,
    ratio_lower(young_persons, older_persons, young_rate_per_1000_year / NULLIF(older_rate_per_1000_year, 0)) AS lower_95,
    ratio_upper(young_persons, older_persons, young_rate_per_1000_year / NULLIF(older_rate_per_1000_year, 0)) AS upper_95
FROM rates
ORDER BY ho_group = 'All serious violence' DESC, ho_group, role DESC;
