//! The integration suite: one test binary (one link step), a module per tool. Every test
//! runs the real binaries, as a user would.

// Test data is built for clarity, not speed.
#![allow(clippy::format_collect, clippy::format_push_string)]

mod common;

mod bus_pipeline;
mod co_broadcast;
mod co_bus_locations;
mod co_buses;
mod co_chaos;
mod co_dump;
mod co_filter;
mod co_follow;
mod co_from_csv;
mod co_from_json;
mod co_gen_buses;
mod co_grep;
mod co_head;
mod co_lines;
mod co_merge;
mod co_printer;
mod co_select;
mod co_to_csv;
mod co_xml;
mod codec_props;
mod environments;
mod examples_seed;
mod launcher;
mod link_errors;
mod nats;
mod nats_launch;
mod nats_server;
mod observe;
mod python_stages;
mod reliability;
mod remote;
mod remote_failures;
mod remote_sshd;
mod sched;
mod vectors;
mod xml_broken;
mod xml_corpus;
mod xml_hostile;
