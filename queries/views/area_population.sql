-- Residents of the area by population year, sex and single year of age. Documentation: area_population.toml
CREATE VIEW area_population AS
SELECT pop.year, pop.sex, pop.age, SUM(pop.population) AS population
FROM population pop
JOIN lsoa l ON l.lsoa_code = pop.lsoa_code
GROUP BY pop.year, pop.sex, pop.age;
