//! The launcher's first edge with the world: finding the program of every stage.
//!
//! A name with a `/` is a path; any other name is looked for beside the `copipe` executable
//! first, then on `PATH`. What was found is a [`Located`] program: where it runs
//! ([`Placement`]) and what runs. [`Located::command`] is the one place a placement decides
//! how a program is started, for `--describe` and for the real run alike.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::graph::{GraphError, Looked, Problem, StageRef};
use super::spec::{command_text, Pipeline, Placement, StageSpec};

/// Where stage programs are looked for.
#[derive(Clone, Debug)]
pub struct Finder {
    /// The directory of the `copipe` executable, searched first.
    pub beside: Option<PathBuf>,
    /// `PATH`.
    pub path: Vec<PathBuf>,
}

/// A stage's program, found: where it runs and what runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Located {
    pub placement: Placement,
    pub program: PathBuf,
}

impl Located {
    /// A program on this machine.
    pub fn local(program: impl Into<PathBuf>) -> Self {
        Located {
            placement: Placement::Local,
            program: program.into(),
        }
    }

    /// A program on `host`, found there by its agent (beside the remote `copipe`, then on
    /// the remote `PATH`).
    pub fn remote(host: &str, program: impl Into<PathBuf>) -> Self {
        Located {
            placement: Placement::Remote(host.to_owned()),
            program: program.into(),
        }
    }

    /// The host the program runs on, if not this one.
    pub fn host(&self) -> Option<&str> {
        match &self.placement {
            Placement::Local => None,
            Placement::Remote(host) => Some(host),
        }
    }

    /// The command that starts the program here, with `argv0` as its name; the caller adds
    /// the arguments. `None` for a program on another host: its agent starts it
    /// ([`crate::remote`]).
    pub fn command(&self, argv0: &str) -> Option<Command> {
        match self.placement {
            Placement::Local => {
                let mut command = Command::new(&self.program);
                command.arg0(argv0);
                Some(command)
            }
            Placement::Remote(_) => None,
        }
    }
}

impl Finder {
    /// Beside the running executable, then `PATH`.
    pub fn from_env() -> Self {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        let path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        Finder { beside, path }
    }

    /// The program for `name`: a name with a `/` is a path; otherwise the first executable
    /// file of that name beside `copipe` or on `PATH`.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        if name.contains('/') {
            let path = PathBuf::from(name);
            return is_executable(&path).then_some(path);
        }
        if name.is_empty() {
            return None;
        }
        self.beside
            .iter()
            .chain(&self.path)
            .map(|dir| dir.join(name))
            .find(|p| is_executable(p))
    }

    /// Where [`Finder::find`] looks for `name`, for a message saying it found nothing.
    pub fn looked(&self, name: &str) -> Looked {
        match &self.beside {
            _ if name.contains('/') => Looked::AtPath,
            Some(dir) => Looked::Beside(dir.clone()),
            None => Looked::OnPath,
        }
    }

    /// Finds the program of one stage of the spec (`index` in spec order).
    pub fn locate(&self, stage: &StageSpec, index: usize) -> Result<Located, GraphError> {
        let name = &stage.argv[0];
        let found = match &stage.placement {
            Placement::Local => self.find(name).map(Located::local),
            // Looked for by the host's agent, with --describe.
            Placement::Remote(host) => Some(Located::remote(host, name)),
        };
        found.ok_or_else(|| {
            Problem::ProgramNotFound {
                stage: StageRef {
                    position: index + 1,
                    command: command_text(&stage.argv),
                },
                program: name.clone(),
                looked: self.looked(name),
            }
            .at(stage.pos)
        })
    }

    /// Finds every stage's program, in spec order: the first one missing is the error.
    pub fn locate_all(&self, pipeline: &Pipeline) -> Result<Vec<Located>, GraphError> {
        (pipeline.stages.iter().enumerate())
            .map(|(i, stage)| self.locate(stage, i))
            .collect()
    }

    /// The programs the launcher inserts for fan-out and fan-in, where found here. The
    /// remote hosts' are added by their agents ([`crate::remote::hosts::Hosts::describe`]).
    pub fn helpers(&self) -> Helpers {
        let find = |name: &str| match self.find(name) {
            Some(path) => Ok(Located::local(path)),
            None => Err(self.looked(name)),
        };
        Helpers {
            local: FanPrograms {
                broadcast: find("co-broadcast"),
                merge: find("co-merge"),
            },
            remote: BTreeMap::new(),
            nats: [find("co-nats-pub"), find("co-nats-sub")],
        }
    }
}

/// `co-broadcast` and `co-merge` on one machine, found or not.
#[derive(Clone, Debug)]
pub struct FanPrograms {
    pub broadcast: Result<Located, Looked>,
    pub merge: Result<Located, Looked>,
}

/// The inserted stages wherever they may run: an inserted stage runs on the host of the
/// stage it serves, so each host is asked for its own (and they are checked there, before
/// anything starts). A missing one is an error only in a graph that needs it on that host.
#[derive(Clone, Debug)]
pub struct Helpers {
    /// On this machine.
    pub local: FanPrograms,
    /// On each remote host, as its agent found them.
    pub remote: BTreeMap<String, FanPrograms>,
    /// `co-nats-pub` and `co-nats-sub`, here: the ends of `nats:` links run on this machine.
    pub nats: [Result<Located, Looked>; 2],
}

impl Helpers {
    /// The programs for stages on `host` (`None`: this machine); `None` for a host whose
    /// agent was not asked.
    pub fn at(&self, host: Option<&str>) -> Option<&FanPrograms> {
        match host {
            None => Some(&self.local),
            Some(host) => self.remote.get(host),
        }
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
