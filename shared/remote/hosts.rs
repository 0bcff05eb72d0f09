//! The launcher's remote hosts: connected once, before anything is described, and used for
//! `--describe`, the start of their stages, signals and the end of the run.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::client::{Host, Transport};
use super::wire::{Described, RemoteStage};
use crate::error::{Error, Result};
use crate::launch::find::{FanPrograms, Helpers, Located};
use crate::launch::graph::{GraphError, Looked, Problem, StageRef};
use crate::launch::spec::{command_text, Pipeline};
use crate::protocol::StageInfo;
use crate::stages::{broadcast, merge};

/// The channel carrying the launcher's stdin to the remote source that reads it.
pub const STDIN_CHANNEL: u32 = u32::MAX - 1;
/// The channel carrying a remote sink's output to the launcher's stdout.
pub const STDOUT_CHANNEL: u32 = u32::MAX - 2;
/// Stage N's stderr travels on channel `STDERR_BASE + N`; link L on channel `L + 1`.
pub const STDERR_BASE: u32 = 1 << 30;

/// The channel of graph link `link`.
pub fn link_channel(link: usize) -> u32 {
    u32::try_from(link + 1).expect("fewer than 2^30 links")
}

/// The channel of stage `position`'s stderr.
pub fn stderr_channel(position: usize) -> u32 {
    STDERR_BASE + u32::try_from(position).expect("fewer than 2^30 stages")
}

/// What the launcher starts on one host.
#[derive(Default)]
pub struct Plan {
    pub stages: Vec<RemoteStage>,
    /// Channels from the host, and where their bytes go here.
    pub incoming: Vec<(u32, Box<dyn Write + Send>)>,
    /// Channels to the host, and where their bytes come from here.
    pub outgoing: Vec<(u32, Box<dyn Read + Send>)>,
}

/// Every remote host of a run.
pub struct Hosts {
    transport: Transport,
    connected: Vec<Host>,
    /// The pumps of the links and stderr to and from the hosts.
    pumps: Vec<JoinHandle<()>>,
}

impl Hosts {
    pub fn new(transport: Transport) -> Self {
        Hosts {
            transport,
            connected: Vec::new(),
            pumps: Vec::new(),
        }
    }

    /// Connects to every host the spec names, all at once: ssh started for each (on this
    /// thread, for the parent-death signal), then each agent's hello awaited. The first
    /// host that cannot be reached is the error; nothing is started anywhere.
    pub fn connect(&mut self, pipeline: &Pipeline) -> Result<()> {
        let mut names: Vec<&str> = Vec::new();
        for stage in &pipeline.stages {
            if let crate::launch::spec::Placement::Remote(host) = &stage.placement {
                if !names.contains(&host.as_str()) {
                    names.push(host);
                }
            }
        }
        for name in names {
            let host = Host::spawn(&self.transport, name)?;
            self.connected.push(host);
        }
        for host in &mut self.connected {
            host.hello(&self.transport)?;
        }
        Ok(())
    }

    /// The index of host `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.connected.iter().position(|h| h.name == name)
    }

    pub fn host(&self, i: usize) -> &Host {
        &self.connected[i]
    }

    pub fn host_mut(&mut self, i: usize) -> &mut Host {
        &mut self.connected[i]
    }

    pub fn len(&self) -> usize {
        self.connected.len()
    }

    pub fn is_empty(&self) -> bool {
        self.connected.is_empty()
    }

    /// Fills in `infos` for the stages placed on other hosts, and `helpers` with each
    /// host's own `co-broadcast` and `co-merge` (an inserted stage runs on the host of the
    /// stage it serves), asking each host once for all its programs. A program its host
    /// does not have is the error, naming both; a missing helper is one only if the graph
    /// needs it there ([`crate::launch::plan`]).
    pub fn describe(
        &self,
        pipeline: &Pipeline,
        programs: &[Located],
        infos: &mut [Option<StageInfo>],
        helpers: &mut Helpers,
    ) -> Result<(), GraphError> {
        for host in &self.connected {
            let mine: Vec<usize> = (0..programs.len())
                .filter(|&i| programs[i].host() == Some(host.name.as_str()))
                .collect();
            let mut names: Vec<String> = mine
                .iter()
                .map(|&i| programs[i].program.to_string_lossy().into_owned())
                .collect();
            names.extend(FANS.iter().map(|info| info.name.to_string()));
            let mut answers = host
                .describe(&names)
                .map_err(|e| describe_failed(pipeline, &mine, host, &e))?;
            let merge = answers.pop().expect("one answer per program");
            let broadcast = answers.pop().expect("one answer per program");
            let fans = FanPrograms {
                broadcast: fan_program(&host.name, &broadcast::INFO, broadcast),
                merge: fan_program(&host.name, &merge::INFO, merge),
            };
            helpers.remote.insert(host.name.clone(), fans);
            for (&i, answer) in mine.iter().zip(answers) {
                infos[i] = match answer {
                    Described::Answer(json) => StageInfo::from_json(json.as_bytes()),
                    Described::Silent => None,
                    Described::Missing { places } => {
                        return Err(not_found(pipeline, i, &host.name, places));
                    }
                };
            }
        }
        Ok(())
    }

    /// Starts each host's share of the graph.
    pub fn start(&mut self, plans: BTreeMap<usize, Plan>, stats: bool) -> Result<()> {
        for (i, plan) in plans {
            let pumps =
                self.connected[i].start(plan.stages, stats, plan.incoming, plan.outgoing)?;
            self.pumps.extend(pumps);
        }
        Ok(())
    }

    /// Waits (up to `limit`) for every byte in flight from the hosts to land, then ends
    /// every connection: each agent leaves, killing whatever it still runs.
    pub fn close(self, limit: Duration) {
        let deadline = Instant::now() + limit;
        for pump in self.pumps {
            while !pump.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        for host in self.connected {
            host.close();
        }
    }
}

/// The launcher's own stdin or stdout, as a file of its own.
pub fn launcher_stdio(stdout: bool) -> std::io::Result<File> {
    let fd = if stdout {
        std::io::stdout().as_fd().try_clone_to_owned()?
    } else {
        std::io::stdin().as_fd().try_clone_to_owned()?
    };
    Ok(File::from(fd))
}

/// The stages the launcher inserts, in the order their answers follow a host's own.
const FANS: [StageInfo; 2] = [broadcast::INFO, merge::INFO];

/// An inserted stage as host `host` has it: found, and answering `--describe` as the one
/// this launcher inserts (`expected`), whose ports the plan relies on. One that does not
/// answer is taken as it is, as any silent program is.
fn fan_program(host: &str, expected: &StageInfo, answer: Described) -> Result<Located, Looked> {
    match answer {
        Described::Missing { places } => Err(Looked::OnHost {
            host: host.to_owned(),
            places,
        }),
        Described::Answer(json) => match StageInfo::from_json(json.as_bytes()) {
            Some(info) if same_ports(&info, expected) => {
                Ok(Located::remote(host, expected.name.as_ref()))
            }
            Some(info) => Err(Looked::Unlike {
                host: host.to_owned(),
                said: info.to_json(),
            }),
            None => Ok(Located::remote(host, expected.name.as_ref())),
        },
        Described::Silent => Ok(Located::remote(host, expected.name.as_ref())),
    }
}

fn same_ports(a: &StageInfo, b: &StageInfo) -> bool {
    (a.input, a.output, a.many_inputs, a.many_outputs)
        == (b.input, b.output, b.many_inputs, b.many_outputs)
}

fn stage_ref(pipeline: &Pipeline, i: usize) -> StageRef {
    StageRef {
        position: i + 1,
        command: command_text(&pipeline.stages[i].argv),
    }
}

fn not_found(pipeline: &Pipeline, i: usize, host: &str, places: String) -> GraphError {
    Problem::ProgramNotFound {
        stage: stage_ref(pipeline, i),
        program: pipeline.stages[i].argv[0].clone(),
        looked: Looked::OnHost {
            host: host.to_owned(),
            places,
        },
    }
    .at(pipeline.stages[i].pos)
}

fn describe_failed(pipeline: &Pipeline, mine: &[usize], host: &Host, e: &Error) -> GraphError {
    let i = mine[0];
    not_found(
        pipeline,
        i,
        &host.name,
        format!("but it did not answer: {e}"),
    )
}
