//! A hand-made extract small enough to work every figure out by hand.
//!
//! The world: four LSOAs in two districts, carried as the extract's own `reference/lsoa.csv`.
//! Each LSOA has 1,000 residents in population year 2020: 100 F and 100 M aged 10 (under 25),
//! 400 F and 400 M aged 40. Population year 2022 doubles every cell; the period 2021-01-01 to
//! 2021-12-31 has its mid-point in 2021, which is absent, so the latest earlier year (2020)
//! applies: 4,000 residents, 800 under 25 and 3,200 aged 25 and over.
//!
//! Offences (codes: 8N assault with injury and 5D GBH with intent are Violence with injury; 34B
//! robbery; 1 murder; 105A assault without injury; 49 other theft):
//!
//! | crime | code | committed | lsoa | place | dom | knife | nte | serious violence in 2021? |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | C01 | 8N | 2021-03-05 15:30 | A1 | street | | | | yes |
//! | C02 | 8N | 2021-03-06 23:10 | A1 | licensed_premises | | | nte | yes |
//! | C03 | 34B | 2021-05-01 15:05 | A2 | street | | knife | | yes |
//! | C04 | 8N | 2021-06-10 23:45 | B1 | street | | | nte | yes |
//! | C05 | 1 | 2021-07-04 02:00 | B2 | street | | knife | | yes |
//! | C06 | 8N | 2021-08-01 15:59 | null | transport | | | | yes (Unknown area) |
//! | C07 | 8N | 2021-09-09 10:00 | E01999999 (outside) | street | | | | yes (Unknown area) |
//! | C08 | 5D | 2021-10-10 23:00 | A1 | public_other | | knife | nte | yes |
//! | C09 | 8N | 2021-04-01 12:00 | A1 | dwelling | | | | no: private place |
//! | C10 | 8N | 2021-04-02 12:00 | A1 | street | dom | | | no: domestic |
//! | C11 | 105A | 2021-04-03 12:00 | A1 | street | | | | no: violence without injury |
//! | C12 | 8N | 2020-06-15 12:00 | A1 | street | | | | before the period (previous year) |
//! | C13 | 34B | 2020-11-20 20:00 | B1 | street | | | | before the period (previous year) |
//! | C14 | 8N | 2022-01-05 12:00 | A1 | street | | | | after the period |
//! | C15 | 49 | 2019-12-31 09:00 | B1 | retail | | | | no: theft (data reach back to 2019) |
//!
//! Persons on serious-violence offences in the period (age on that offence, sex):
//! victims V1 C01 (17 M) and C04 (18 M); V2 C02 (30 F); V3 C03 (40 M); V4 C05 (22 M);
//! V5 C06 (unknown age, M); V6 C07 (50, U); V7 C08 (19 F).
//! offenders O1 C01, C02 (16 M), C03 (17 M); O2 C04, C05 (35 M); O3 C08 (24 F); O4 C01 (40 M).
//! Also O5 on C09 (not serious violence) and an orphan person on a crime that does not exist.

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;

/// The extract's own LSOA lookup.
pub const LSOA_CSV: &str = "\
lsoa_code,lsoa_name,msoa_code,msoa_name,ward_code,ward_name,lad_code,lad_name,csp_code,csp_name,pfa_code,pfa_name,latitude,longitude,easting,northing,imd2019_lsoa11,imd2019_rank,imd2019_decile,imd2019_crime_decile
A1,Alpha 001A,M1,Alpha Middle,W1,Central,D1,Alpha,S1,Alpha CSP,P1,Test,52.6,-1.1,1000,1000,A1,100,1,1
A2,Alpha 001B,M1,Alpha Middle,W1,Central,D1,Alpha,S1,Alpha CSP,P1,Test,52.6,-1.1,2000,1000,A2,200,1,1
B1,Beta 001A,M2,Beta Middle,W2,North,D2,Beta,S2,Beta CSP,P1,Test,52.7,-1.2,10000,10000,B1,30000,10,10
B2,Beta 001B,M2,Beta Middle,W3,South,D2,Beta,S2,Beta CSP,P1,Test,52.7,-1.2,12000,10000,B2,31000,10,10
";

const OFFENCES: &str = "\
crime_id,offence_code,committed_at,recorded_date,lsoa_code,location_type,domestic,knife,nte,easting,northing
C01,8N,2021-03-05T15:30:00,2021-03-05,A1,street,false,false,false,1000,1000
C02,8N,2021-03-06T23:10:00,2021-03-07,A1,licensed_premises,false,false,true,1000,1000
C03,34B,2021-05-01T15:05:00,2021-05-01,A2,street,false,true,false,2000,1000
C04,8N,2021-06-10T23:45:00,2021-06-11,B1,street,false,false,true,10000,10000
C05,1,2021-07-04T02:00:00,2021-07-04,B2,street,false,true,false,12000,10000
C06,8N,2021-08-01T15:59:00,2021-08-01,,transport,false,false,false,,
C07,8N,2021-09-09T10:00:00,2021-09-09,E01999999,street,false,false,false,,
C08,5D,2021-10-10T23:00:00,2021-10-11,A1,public_other,false,true,true,1000,1000
C09,8N,2021-04-01T12:00:00,2021-04-01,A1,dwelling,false,false,false,1000,1000
C10,8N,2021-04-02T12:00:00,2021-04-02,A1,street,true,false,false,1000,1000
C11,105A,2021-04-03T12:00:00,2021-04-03,A1,street,false,false,false,1000,1000
C12,8N,2020-06-15T12:00:00,2020-06-15,A1,street,false,false,false,1000,1000
C13,34B,2020-11-20T20:00:00,2020-11-20,B1,street,false,false,false,10000,10000
C14,8N,2022-01-05T12:00:00,2022-01-05,A1,street,false,false,false,1000,1000
C15,49,2019-12-31T09:00:00,2019-12-31,B1,retail,false,false,false,10000,10000
";

pub const PERSONS: &str = "\
crime_id,person_id,role,age,sex,home_lsoa
C01,V1,victim,17,M,A1
C04,V1,victim,18,M,A1
C02,V2,victim,30,F,A1
C03,V3,victim,40,M,A2
C05,V4,victim,22,M,B2
C06,V5,victim,,M,
C07,V6,victim,50,U,B1
C08,V7,victim,19,F,A1
C01,O1,offender,16,M,A1
C02,O1,offender,16,M,A1
C03,O1,offender,17,M,A1
C04,O2,offender,35,M,B1
C05,O2,offender,35,M,B1
C08,O3,offender,24,F,A2
C01,O4,offender,40,M,A1
C09,O5,offender,20,M,A1
C99,X1,victim,30,F,A1
";

const AE: &str = "\
attendance_id,patient_id,arrived_at,age,sex,home_lsoa,site,assault,weapon,admitted
AE1,P1,2021-02-01T01:00:00,20,M,A1,RWES1,true,knife_sharp,true
AE2,P1,2021-03-01T02:00:00,20,M,A1,RWES1,true,blunt,false
AE3,P2,2021-04-01T03:00:00,40,F,B1,RWES1,true,body_part,false
AE4,P3,2021-05-01T04:00:00,30,M,E01999999,RWES1,true,unknown,false
AE5,P4,2021-06-01T05:00:00,50,F,A2,RWES1,false,other,false
AE6,P5,2020-12-31T23:00:00,21,M,A1,RWES1,true,knife_sharp,true
";

const AMBULANCE: &str = "\
incident_id,called_at,age,sex,lsoa_code,assault,conveyed
AM1,2021-03-01T01:00:00,20,M,A1,true,true
AM2,2021-04-01T01:00:00,30,F,B1,true,true
AM3,2021-05-01T01:00:00,,M,A1,true,true
AM4,2021-06-01T01:00:00,18,M,A2,true,false
AM5,2021-07-01T01:00:00,10,F,B2,false,true
AM6,2021-08-01T01:00:00,24,M,A1,true,true
";

fn population_csv() -> String {
    let mut csv = String::from("year,lsoa_code,sex,age,population\n");
    for (year, factor) in [(2020, 1), (2022, 2)] {
        for lsoa in ["A1", "A2", "B1", "B2"] {
            for sex in ["F", "M"] {
                csv.push_str(&format!("{year},{lsoa},{sex},10,{}\n", 100 * factor));
                csv.push_str(&format!("{year},{lsoa},{sex},40,{}\n", 400 * factor));
            }
        }
    }
    csv
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn timestamp(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Second, None), true)
}

fn boolean(name: &str) -> Field {
    Field::new(name, DataType::Boolean, true)
}

fn int(name: &str) -> Field {
    Field::new(name, DataType::Int32, true)
}

/// Converts CSV text to a Parquet file with the given schema.
pub fn write_parquet(path: &Path, csv: &str, fields: Vec<Field>) {
    let schema = Arc::new(Schema::new(fields));
    let reader = arrow::csv::ReaderBuilder::new(Arc::clone(&schema))
        .with_header(true)
        .build(std::io::Cursor::new(csv.as_bytes().to_vec()))
        .expect("csv reader");
    let file = std::fs::File::create(path).expect("create parquet");
    let mut writer = ArrowWriter::try_new(file, schema, None).expect("parquet writer");
    for batch in reader {
        writer
            .write(&batch.expect("csv batch"))
            .expect("write batch");
    }
    writer.close().expect("close parquet");
}

/// Writes the hand-made extract into `dir`.
pub fn write_extract(dir: &Path) {
    std::fs::create_dir_all(dir.join("reference")).expect("create extract dir");
    std::fs::write(dir.join("reference/lsoa.csv"), LSOA_CSV).expect("write lsoa.csv");
    write_parquet(&dir.join("offences.parquet"), OFFENCES, offence_fields());
    write_parquet(&dir.join("persons.parquet"), PERSONS, person_fields());
    write_parquet(&dir.join("ae_attendances.parquet"), AE, ae_fields());
    write_parquet(
        &dir.join("ambulance.parquet"),
        AMBULANCE,
        vec![
            utf8("incident_id"),
            timestamp("called_at"),
            int("age"),
            utf8("sex"),
            utf8("lsoa_code"),
            boolean("assault"),
            boolean("conveyed"),
        ],
    );
    write_parquet(
        &dir.join("population.parquet"),
        &population_csv(),
        vec![
            Field::new("year", DataType::Int64, true),
            utf8("lsoa_code"),
            utf8("sex"),
            Field::new("age", DataType::Int64, true),
            Field::new("population", DataType::Int64, true),
        ],
    );
}

/// The columns of `offences.parquet` (`CSV` text with the header of [`OFFENCES`] fits them).
pub fn offence_fields() -> Vec<Field> {
    vec![
        utf8("crime_id"),
        utf8("offence_code"),
        timestamp("committed_at"),
        Field::new("recorded_date", DataType::Date32, true),
        utf8("lsoa_code"),
        utf8("location_type"),
        boolean("domestic"),
        boolean("knife"),
        boolean("nte"),
        int("easting"),
        int("northing"),
    ]
}

/// The columns of `persons.parquet`.
pub fn person_fields() -> Vec<Field> {
    vec![
        utf8("crime_id"),
        utf8("person_id"),
        utf8("role"),
        int("age"),
        utf8("sex"),
        utf8("home_lsoa"),
    ]
}

/// The columns of `ae_attendances.parquet`.
pub fn ae_fields() -> Vec<Field> {
    vec![
        utf8("attendance_id"),
        utf8("patient_id"),
        timestamp("arrived_at"),
        int("age"),
        utf8("sex"),
        utf8("home_lsoa"),
        utf8("site"),
        boolean("assault"),
        utf8("weapon"),
        boolean("admitted"),
    ]
}

/// A config file for the fixture: the period is calendar 2021. Gi* takes each LSOA's one
/// nearest LSOA: of four LSOAs, the default 8 would take every LSOA, leaving Gi* undefined.
pub const CONFIG: &str = "\
data_dir = \"extract\"
output_dir = \"reports\"
title = \"Test assessment\"
start = 2021-01-01
end = 2021-12-31
hotspot_neighbours = 1
";
