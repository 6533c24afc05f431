//! The assessment bundle: running the jobs (`assess`), reading their result tables back
//! (`results`), and writing what people read from them: charts, the report laid out from the
//! metadata (`layout`, `table_view`), the key findings and the comparison with an earlier
//! bundle.

pub mod assess;
pub mod charts;
pub mod compare;
pub mod findings;
pub mod layout;
pub mod report;
pub mod results;
pub mod shareable;
pub mod table_view;
