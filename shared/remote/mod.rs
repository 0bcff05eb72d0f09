//! Stages on other hosts, over ssh.
//!
//! A spec may place a stage on another host; the launcher then runs one agent per host
//! (`copipe agent`, [`agent`]) through `ssh` (or `--rsh`), and everything a local stage
//! gets, a remote one gets through that agent: `--describe` before anything starts, pipes to
//! its same-host neighbours, links to other hosts carried by the connection ([`mux`],
//! [`wire`]), stderr relayed with its host, its exit and figures reported, the launcher's
//! signals delivered, and death when the connection goes.
//!
//! * [`wire`]: the protocol, defined once for both sides.
//! * [`mux`]: channels with flow control over one connection.
//! * [`agent`]: the remote side.
//! * [`client`]: the launcher's side of one host.
//! * [`quote`]: words for the remote shell.

pub mod agent;
pub mod client;
pub mod hosts;
pub mod mux;
pub mod quote;
pub mod wire;
