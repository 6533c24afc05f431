//! vrn-sna: a serious-violence Strategic Needs Assessment (SNA) pipeline for Violence Reduction
//! Networks.
//!
//! Data flows one way: [`config`] → [`catalog`] (the extract checked against [`contract`],
//! the [`reference`] lookups, the [`udf`] statistics functions and the views in `queries/`) →
//! [`assess`] (the SQL jobs) → [`charts`] and [`report`] → the bundle written through
//! [`staging`]. [`refresh`] keeps a dashboard of the latest months current for a scheduler.
//! Partners reach the same catalog through [`query`] and [`shell`].

pub mod assess;
pub mod catalog;
pub mod charts;
pub mod compare;
pub mod config;
pub mod contract;
pub mod disclosure;
pub mod findings;
pub mod funding;
pub mod generate;
pub mod import;
pub mod inequality;
pub mod jobs;
pub mod layout;
pub mod metadata;
pub mod output;
pub mod pack;
pub mod queries;
pub mod query;
pub mod readable;
pub mod reference;
pub mod refresh;
pub mod report;
pub mod results;
pub mod shell;
pub mod staging;
pub mod stats;
pub mod table_view;
pub mod text;
pub mod udf;
pub mod validate;
