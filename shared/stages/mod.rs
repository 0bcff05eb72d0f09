//! The stages' logic, one module per stage. Each binary in `bins/` is a thin wrapper that
//! parses its arguments and calls the `run_*` function of its module here.

pub mod broadcast;
pub mod bus_locations;
pub mod buses;
pub mod chaos;
pub mod csv;
pub mod dump;
pub mod filter;
pub mod follow;
pub mod gen_buses;
pub mod grep;
pub mod head;
pub mod json;
pub mod lines;
pub mod merge;
pub mod printer;
pub mod record_buf;
pub mod select;
pub mod text_input;
pub mod xml;
