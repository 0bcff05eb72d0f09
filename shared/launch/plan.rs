//! The launcher's pure steps: from a parsed spec and what its programs said of themselves
//! to the wired [`Graph`]. Nothing here touches the world, so every rule is unit-tested over
//! tables of specs (below) with no process spawned.
//!
//! 1. [`Shape::order`]: a topological order of the stages, or the link that closes a cycle.
//! 2. [`Shape::flows`]: kinds followed from the sources down (an `any` output carries what its
//!    input carries), every link checked against the port it feeds.
//! 3. [`Shape::wire`]: a `co-broadcast` after a stage feeding several others, a `co-merge`
//!    before a stage fed by several, their ports taken from the stages' own
//!    [`StageInfo`] constants, and every node placed in graph order.

use std::collections::VecDeque;

use super::find::{Helpers, Located};
use super::graph::{Graph, GraphError, Looked, Node, Problem, RestartUnit, Role, StageRef};
use super::spec::{command_text, Carrier, LinkSpec, Pipeline, Placement, Pos};
use crate::protocol::{Flow, Port, StageInfo};
use crate::stages::{broadcast, merge};

/// Builds the wired graph: `programs` and `infos` are, per stage of the spec, its program and
/// its `--describe` answer.
pub fn plan(
    pipeline: &Pipeline,
    programs: Vec<Located>,
    infos: Vec<Option<StageInfo>>,
    helpers: &Helpers,
) -> Result<Graph, GraphError> {
    let shape = Shape::new(pipeline);
    shape.check_restarts()?;
    let order = shape.order()?;
    let flows = shape.flows(&infos, &order)?;
    shape.wire(programs.into_iter().zip(infos).collect(), &flows, helpers)
}

/// A spec's stages with the links in and out of each.
pub struct Shape<'a> {
    pipeline: &'a Pipeline,
    /// Per stage, the indices of the links into it, in spec order.
    ins: Vec<Vec<usize>>,
    /// Per stage, the indices of the links out of it, in spec order.
    outs: Vec<Vec<usize>>,
}

impl<'a> Shape<'a> {
    pub fn new(pipeline: &'a Pipeline) -> Self {
        let n = pipeline.stages.len();
        let mut ins = vec![Vec::new(); n];
        let mut outs = vec![Vec::new(); n];
        for (l, link) in pipeline.links.iter().enumerate() {
            outs[link.from].push(l);
            ins[link.to].push(l);
        }
        Shape {
            pipeline,
            ins,
            outs,
        }
    }

    /// How messages name the `i`-th stage of the spec.
    fn stage(&self, i: usize) -> StageRef {
        StageRef {
            position: i + 1,
            command: command_text(&self.pipeline.stages[i].argv),
        }
    }

    fn link(&self, l: usize) -> &'a LinkSpec {
        &self.pipeline.links[l]
    }

    /// Kahn's topological order; what is left over sits on a cycle.
    pub fn order(&self) -> Result<Vec<usize>, GraphError> {
        let n = self.pipeline.stages.len();
        let mut pending: Vec<usize> = self.ins.iter().map(Vec::len).collect();
        let mut ready: VecDeque<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_front() {
            order.push(i);
            for &l in &self.outs[i] {
                let to = self.link(l).to;
                pending[to] -= 1;
                if pending[to] == 0 {
                    ready.push_back(to);
                }
            }
        }
        if order.len() < n {
            return Err(self.cycle(&pending));
        }
        Ok(order)
    }

    /// Walks back along links from unordered stages until a stage comes round again: the
    /// links walked since its first visit form a cycle. Reports the one written last.
    fn cycle(&self, pending: &[usize]) -> GraphError {
        let mut visited_at: Vec<Option<usize>> = vec![None; pending.len()];
        let mut walked: Vec<usize> = Vec::new();
        let mut at = (0..pending.len())
            .find(|&i| pending[i] > 0)
            .expect("an unordered stage");
        let first = loop {
            visited_at[at] = Some(walked.len());
            let l = self.ins[at]
                .iter()
                .copied()
                .find(|&l| pending[self.link(l).from] > 0)
                .expect("an unordered stage has an unordered feeder");
            walked.push(l);
            let from = self.link(l).from;
            if let Some(k) = visited_at[from] {
                break k;
            }
            at = from;
        };
        let link = walked[first..]
            .iter()
            .map(|&l| self.link(l))
            .max_by_key(|l| (l.pos.line, l.pos.column))
            .expect("a cycle has links");
        Problem::Cycle {
            from: self.stage(link.from),
            to: self.stage(link.to),
        }
        .at(link.pos)
    }

    /// What each stage writes, following kinds from the sources down in `order`, with every
    /// link checked against what it feeds.
    pub fn flows(
        &self,
        infos: &[Option<StageInfo>],
        order: &[usize],
    ) -> Result<Vec<Flow>, GraphError> {
        let mut written = vec![Flow::Unknown; infos.len()];
        for &i in order {
            let input = self.input_flow(i, infos[i].as_ref(), &written)?;
            written[i] = infos[i]
                .as_ref()
                .map_or(Flow::Unknown, |info| Flow::written(info.output, input));
            if self.outs[i].len() > 1 && written[i] == Flow::Text {
                let pos = self.link(self.outs[i][1]).pos;
                return Err(Problem::TextFanOut {
                    from: self.stage(i),
                }
                .at(pos));
            }
        }
        Ok(written)
    }

    /// What stage `i` reads, given what its feeders write: they must agree on one kind.
    fn input_flow(
        &self,
        i: usize,
        info: Option<&StageInfo>,
        written: &[Flow],
    ) -> Result<Flow, GraphError> {
        let mut input = Flow::Nothing;
        let mut first_feeder = None;
        for &l in &self.ins[i] {
            let link = self.link(l);
            let flow = written[link.from];
            self.check_feed(link, flow, info)?;
            match (input, first_feeder) {
                (Flow::Events(kind), Some(first))
                    if flow != Flow::Unknown && flow != Flow::Events(kind) =>
                {
                    return Err(Problem::MixedFeeds {
                        to: self.stage(i),
                        first: self.stage(first),
                        first_flow: input,
                        from: self.stage(link.from),
                        flow,
                    }
                    .at(link.pos));
                }
                (Flow::Nothing | Flow::Unknown, _) => {
                    input = flow;
                    first_feeder = Some(link.from);
                }
                _ => {}
            }
        }
        Ok(input)
    }

    /// Whether `link`, carrying `flow`, may feed a stage described by `info`.
    fn check_feed(
        &self,
        link: &LinkSpec,
        flow: Flow,
        info: Option<&StageInfo>,
    ) -> Result<(), GraphError> {
        let (from, to) = (self.stage(link.from), self.stage(link.to));
        let problem = match info {
            _ if flow == Flow::Nothing => Problem::WritesNothing { from, to },
            Some(info) if info.input == Port::None => Problem::ReadsNothing { from, to },
            Some(info) if !info.input.accepts(flow) => Problem::Mismatch {
                from,
                flow,
                to,
                port: info.input,
            },
            _ if flow == Flow::Text && self.ins[link.to].len() > 1 => {
                Problem::TextFanIn { from, to }
            }
            _ => return Ok(()),
        };
        Err(problem.at(link.pos))
    }

    /// Lays out the checked graph in graph order, inserting `co-broadcast` and `co-merge`.
    /// `stages` holds each spec stage's program and `--describe` answer; `written`, what each
    /// writes.
    pub fn wire(
        &self,
        stages: Vec<(Located, Option<StageInfo>)>,
        written: &[Flow],
        helpers: &Helpers,
    ) -> Result<Graph, GraphError> {
        let mut wiring = Wiring {
            graph: Graph::default(),
            entry: vec![0; stages.len()],
            exit: vec![0; stages.len()],
        };
        for (i, (program, info)) in stages.into_iter().enumerate() {
            let spec = &self.pipeline.stages[i];
            let user = Node {
                position: 0,
                role: Role::User(i),
                name: spec.name.clone(),
                argv: spec.argv.clone(),
                program,
                info,
                inputs: Vec::new(),
                outputs: Vec::new(),
            };
            self.place(i, user, written, helpers, &mut wiring)?;
        }
        let mut graph = wiring.graph;
        let mut nats_ends = vec![(None, None); self.pipeline.stages.len()];
        for link in &self.pipeline.links {
            let (from, to) = (wiring.exit[link.from], wiring.entry[link.to]);
            let flow = written[link.from];
            match &link.carrier {
                Carrier::Pipe => graph.add_link(from, to, flow, Carrier::Pipe),
                Carrier::Nats(subject) => {
                    let nats = NatsLink {
                        subject,
                        flow,
                        from: self.stage(link.from),
                        at: link.pos,
                        resumable: self.restart_of(link.from).is_some(),
                        replay: self.restart_of(link.to).is_some(),
                    };
                    let (publisher, subscriber) = nats.insert(&mut graph, from, to, helpers)?;
                    nats_ends[link.from].1 = Some(publisher);
                    nats_ends[link.to].0 = Some(subscriber);
                }
            }
        }
        for (i, ends) in nats_ends.into_iter().enumerate() {
            if let (Some(max), (Some(sub), Some(publisher))) = (self.restart_of(i), ends) {
                graph.restarts.push(RestartUnit {
                    nodes: vec![sub, wiring.exit[i], publisher],
                    max,
                });
            }
        }
        for (position, node) in graph.nodes.iter_mut().enumerate() {
            node.position = position + 1;
        }
        Ok(graph)
    }

    /// Places spec stage `i` (as `user`), with the merge before it and the broadcast after it
    /// that it needs.
    fn place(
        &self,
        i: usize,
        user: Node,
        written: &[Flow],
        helpers: &Helpers,
        wiring: &mut Wiring,
    ) -> Result<(), GraphError> {
        let merge = self.ins[i].len() > 1 && !user.many_inputs();
        // Inserted stages run where the stage they serve runs: a fan-out or fan-in among
        // stages of one remote host stays on that host, as that host's own programs.
        let host = user.program.host();
        let broadcast = self.outs[i].len() > 1 && !user.many_outputs();
        let fan_out = broadcast
            .then(|| Fan::Out.node(helpers, host, self.link(self.outs[i][1]).pos))
            .transpose()?;
        let graph = &mut wiring.graph;
        if merge {
            let at = self.link(self.ins[i][1]).pos;
            graph.nodes.push(Fan::In.node(helpers, host, at)?);
        }
        let me = graph.nodes.len();
        wiring.entry[i] = if merge { me - 1 } else { me };
        wiring.exit[i] = me;
        graph.nodes.push(user);
        if merge {
            let feeder = self.link(self.ins[i][0]).from;
            graph.add_link(me - 1, me, written[feeder], Carrier::Pipe);
        }
        if let Some(fan_out) = fan_out {
            wiring.exit[i] = graph.nodes.len();
            graph.nodes.push(fan_out);
            graph.add_link(me, me + 1, written[i], Carrier::Pipe);
        }
        Ok(())
    }
}

impl Shape<'_> {
    /// The restarts allowed to spec stage `i`, if it has a policy.
    fn restart_of(&self, i: usize) -> Option<u32> {
        self.pipeline.stages[i].restart.map(|r| r.max)
    }

    /// Refuses a restart policy where a restart could lose or double events: the stage must
    /// run here and read and write exactly one `nats:` link each.
    pub fn check_restarts(&self) -> Result<(), GraphError> {
        for (i, stage) in self.pipeline.stages.iter().enumerate() {
            if stage.restart.is_none() {
                continue;
            }
            let nats = |l: &usize| matches!(self.link(*l).carrier, Carrier::Nats(_));
            let why = if stage.placement != Placement::Local {
                Some("it runs on another host; restarts are for stages on this machine")
            } else if self.ins[i].len() != 1 || self.outs[i].len() != 1 {
                Some("a restarted stage reads one nats: link and writes one (nats:IN | stage | nats:OUT)")
            } else if !self.ins[i].iter().all(nats) {
                Some("its input is not a nats: link, so what was in flight would be lost (nats:IN | stage | nats:OUT)")
            } else if !self.outs[i].iter().all(nats) {
                Some("its output is not a nats: link, so what it wrote before would be written again (nats:IN | stage | nats:OUT)")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(Problem::RestartUnsafe {
                    stage: self.stage(i),
                    why,
                }
                .at(stage.pos));
            }
        }
        Ok(())
    }
}

/// A `nats:` link being laid out: `co-nats-pub` after its writer, `co-nats-sub` before its
/// reader.
struct NatsLink<'a> {
    subject: &'a str,
    flow: Flow,
    from: StageRef,
    at: Pos,
    /// The writer restarts: its publisher leaves no failure marker when its input breaks.
    resumable: bool,
    /// The reader restarts: its subscriber replays the subject from the start each time.
    replay: bool,
}

impl NatsLink<'_> {
    /// Adds the two ends to `graph`, joined to `from` and `to` by pipes; returns their nodes.
    fn insert(
        &self,
        graph: &mut Graph,
        from: usize,
        to: usize,
        helpers: &Helpers,
    ) -> Result<(usize, usize), GraphError> {
        let kind = match self.flow {
            Flow::Events(kind) => Some(kind),
            Flow::Text => {
                return Err(Problem::NatsText {
                    from: self.from.clone(),
                }
                .at(self.at))
            }
            Flow::Unknown | Flow::Nothing => None,
        };
        let mut pub_argv = vec!["co-nats-pub".to_owned(), self.subject.to_owned()];
        if self.resumable {
            pub_argv.push("--resumable".into());
        }
        let mut sub_argv = vec!["co-nats-sub".to_owned(), self.subject.to_owned()];
        if let Some(kind) = kind {
            sub_argv.extend(["--kind".to_owned(), kind.name().to_owned()]);
        }
        if self.replay {
            sub_argv.push("--replay".into());
        }
        let publisher = self.node(helpers, 0, pub_argv, Role::NatsPub, crate::nats::PUB_INFO)?;
        let subscriber = self.node(helpers, 1, sub_argv, Role::NatsSub, crate::nats::SUB_INFO)?;
        let p = graph.nodes.len();
        graph.nodes.push(publisher);
        graph.nodes.push(subscriber);
        graph.add_link(from, p, self.flow, Carrier::Pipe);
        graph.add_link(p + 1, to, self.flow, Carrier::Pipe);
        Ok((p, p + 1))
    }

    fn node(
        &self,
        helpers: &Helpers,
        which: usize,
        argv: Vec<String>,
        role: Role,
        info: StageInfo,
    ) -> Result<Node, GraphError> {
        let program = helpers.nats[which].clone().map_err(|looked| {
            Problem::NatsNotFound {
                program: info.name.to_string(),
                looked,
            }
            .at(self.at)
        })?;
        Ok(Node {
            position: 0,
            role,
            name: None,
            argv,
            program,
            info: Some(info),
            inputs: Vec::new(),
            outputs: Vec::new(),
        })
    }
}

/// The graph being laid out, and where each spec stage's links attach to it.
struct Wiring {
    graph: Graph,
    /// Per spec stage, the node its incoming links go to (its merge, if any).
    entry: Vec<usize>,
    /// Per spec stage, the node its outgoing links come from (its broadcast, if any).
    exit: Vec<usize>,
}

/// The two kinds of inserted stage.
#[derive(Clone, Copy)]
enum Fan {
    /// `co-broadcast`.
    Out,
    /// `co-merge`.
    In,
}

impl Fan {
    /// The inserted node on `host` (`None`: here), its ports from the stage's own
    /// `--describe` constant (a remote host's was checked against it); `at` is the link that
    /// made it needed.
    fn node(self, helpers: &Helpers, host: Option<&str>, at: Pos) -> Result<Node, GraphError> {
        let (info, role, fan) = match self {
            Fan::Out => (broadcast::INFO, Role::Broadcast, "out"),
            Fan::In => (merge::INFO, Role::Merge, "in"),
        };
        let name = info.name.to_string();
        let found = match helpers.at(host) {
            Some(programs) => match self {
                Fan::Out => programs.broadcast.clone(),
                Fan::In => programs.merge.clone(),
            },
            None => Err(Looked::OnHost {
                host: host.unwrap_or_default().to_owned(),
                places: "whose agent was not asked".into(),
            }),
        };
        let program = found.map_err(|looked| {
            Problem::HelperNotFound {
                program: name.clone(),
                fan,
                looked,
            }
            .at(at)
        })?;
        Ok(Node {
            position: 0,
            role,
            name: None,
            argv: vec![name],
            program,
            info: Some(info),
            inputs: Vec::new(),
            outputs: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::dot;
    use crate::launch::find::FanPrograms;
    use crate::launch::spec::{self, Placement};
    use std::collections::BTreeMap;

    /// What the test programs say to `--describe`; `None`: a program that does not answer.
    fn describe(program: &str) -> Option<StageInfo> {
        let (input, output) = match program {
            "co-lines" | "co-xml-text" => (Port::Text, Port::LINES),
            "co-grep" => (Port::LINES, Port::LINES),
            "co-printer" => (Port::Any, Port::Text),
            "co-xml" => (Port::Text, Port::XML),
            "co-buses" => (Port::XML, Port::RECORDS),
            "co-follow" => (Port::None, Port::LINES),
            "co-gen-buses" => (Port::None, Port::Text),
            "co-count" => (Port::Any, Port::None),
            "co-chaos" => (Port::Any, Port::Any),
            _ => return None,
        };
        Some(StageInfo::new("test", input, output))
    }

    fn helpers() -> Helpers {
        Helpers {
            local: FanPrograms {
                broadcast: Ok(Located::local("/bin/co-broadcast")),
                merge: Ok(Located::local("/bin/co-merge")),
            },
            remote: BTreeMap::new(),
            nats: [
                Ok(Located::local("/bin/co-nats-pub")),
                Ok(Located::local("/bin/co-nats-sub")),
            ],
        }
    }

    fn plan_with(text: &str, helpers: &Helpers) -> Result<Graph, String> {
        let pipeline = spec::parse(text).map_err(|e| e.to_string())?;
        let programs = (pipeline.stages.iter())
            .map(|s| match &s.placement {
                Placement::Local => Located::local(format!("/bin/{}", s.argv[0])),
                Placement::Remote(host) => Located::remote(host, &s.argv[0]),
            })
            .collect();
        let infos = (pipeline.stages.iter())
            .map(|s| describe(&s.argv[0]))
            .collect();
        plan(&pipeline, programs, infos, helpers).map_err(|e| e.to_string())
    }

    fn listing(text: &str) -> String {
        dot::to_text(&plan_with(text, &helpers()).unwrap())
    }

    #[test]
    fn graphs_are_wired_as_written() {
        let table = [
            (
                "co-lines log | co-grep python | co-printer",
                "stage 1 \"co-lines log\"\n\
                 stage 2 \"co-grep python\" <- 1 (line events)\n\
                 stage 3 \"co-printer\" <- 2 (line events)\n",
            ),
            (
                "src = co-lines log\nsrc | co-grep a | co-printer\nsrc | co-grep b | co-printer",
                "stage 1 \"co-lines log\"\n\
                 stage 2 \"co-broadcast (inserted)\" <- 1 (line events)\n\
                 stage 3 \"co-grep a\" <- 2 (line events)\n\
                 stage 4 \"co-printer\" <- 3 (line events)\n\
                 stage 5 \"co-grep b\" <- 2 (line events)\n\
                 stage 6 \"co-printer\" <- 5 (line events)\n",
            ),
            (
                "p = co-printer\nco-lines a | p\nco-follow b | p",
                "stage 1 \"co-lines a\"\n\
                 stage 2 \"co-merge (inserted)\" <- 1 (line events), 4 (line events)\n\
                 stage 3 \"co-printer\" <- 2 (line events)\n\
                 stage 4 \"co-follow b\"\n",
            ),
            (
                "co-xml f | mystery | co-chaos | co-printer",
                "stage 1 \"co-xml f\"\n\
                 stage 2 \"mystery\" <- 1 (XML events)\n\
                 stage 3 \"co-chaos\" <- 2 (unchecked)\n\
                 stage 4 \"co-printer\" <- 3 (unchecked)\n",
            ),
            (
                "co-gen-buses | co-xml | co-buses | co-count",
                "stage 1 \"co-gen-buses\"\n\
                 stage 2 \"co-xml\" <- 1 (text)\n\
                 stage 3 \"co-buses\" <- 2 (XML events)\n\
                 stage 4 \"co-count\" <- 3 (records)\n",
            ),
        ];
        for (text, expected) in table {
            assert_eq!(listing(text), expected, "{text}");
        }
    }

    #[test]
    fn inserted_stages_take_their_ports_from_their_own_describe() {
        let graph =
            plan_with("s = co-lines x\ns | co-printer\ns | co-printer", &helpers()).unwrap();
        let inserted = &graph.nodes[1];
        assert_eq!(inserted.role, Role::Broadcast);
        assert_eq!(inserted.info, Some(broadcast::INFO));
        assert_eq!(inserted.argv, ["co-broadcast"]);
        assert_eq!(inserted.outputs.len(), 2);
    }

    #[test]
    fn mistakes_are_found_at_their_place() {
        let table = [
            (
                "a = co-grep x\nb = co-grep y\na | b\nb | a",
                "4:3: this link closes a cycle (stage 2 \"co-grep y\" feeds back into stage 1 \"co-grep x\"); a graph must not loop",
            ),
            (
                "co-xml f | co-grep python",
                "1:10: type mismatch: stage 1 \"co-xml f\" writes XML events, but stage 2 \"co-grep python\" reads line events",
            ),
            (
                "co-lines f | co-count | co-printer",
                "1:23: stage 2 \"co-count\" writes nothing (its output is none), so it cannot feed stage 3 \"co-printer\"",
            ),
            (
                "co-lines f | co-follow log",
                "1:12: stage 2 \"co-follow log\" reads nothing (it is a source), so stage 1 \"co-lines f\" cannot feed it",
            ),
            (
                "s = co-gen-buses\ns | co-xml\ns | co-printer",
                "3:3: stage 1 \"co-gen-buses\" writes text, and text cannot be broadcast; fan-out needs events (put co-lines after it)",
            ),
            (
                "x = mystery\nco-gen-buses | x\nco-gen-buses | x",
                "2:14: stage 1 \"co-gen-buses\" writes text, and text cannot be merged into stage 2 \"mystery\" with others; fan-in needs events (put co-lines after it)",
            ),
            (
                "p = co-printer\nco-lines a | p\nco-xml b | p",
                "3:10: stage 2 \"co-printer\" is fed line events by stage 1 \"co-lines a\" but XML events by stage 3 \"co-xml b\"; all the stages feeding one stage must write one kind",
            ),
        ];
        for (text, expected) in table {
            assert_eq!(plan_with(text, &helpers()).unwrap_err(), expected, "{text}");
        }
    }

    #[test]
    fn a_missing_helper_is_an_error_only_where_needed() {
        let missing = Helpers {
            local: FanPrograms {
                broadcast: Err(Looked::OnPath),
                merge: Err(Looked::Beside("/opt/copipe".into())),
            },
            remote: BTreeMap::new(),
            nats: [Err(Looked::OnPath), Err(Looked::OnPath)],
        };
        assert!(plan_with("co-lines a | co-printer", &missing).is_ok());
        assert_eq!(
            plan_with("s = co-lines a\ns | co-printer\ns | co-printer", &missing).unwrap_err(),
            "3:3: this graph needs co-broadcast (fan-out), which was not found (looked on PATH)"
        );
        assert_eq!(
            plan_with("p = co-printer\nco-lines a | p\nco-lines b | p", &missing).unwrap_err(),
            "3:12: this graph needs co-merge (fan-in), which was not found (looked beside copipe in /opt/copipe or on PATH)"
        );
    }

    /// An inserted stage runs on the host of the stage it serves, as that host's own
    /// program: one the host lacks (or whose agent was never asked) is an error naming it.
    #[test]
    fn an_inserted_stage_is_its_hosts_own_program() {
        let mut helpers = helpers();
        helpers.remote.insert(
            "hostb".into(),
            FanPrograms {
                broadcast: Ok(Located::remote("hostb", "co-broadcast")),
                merge: Err(Looked::OnHost {
                    host: "hostb".into(),
                    places: "on PATH".into(),
                }),
            },
        );
        let graph = plan_with(
            "s@hostb = co-lines a\ns | co-printer\ns | co-printer",
            &helpers,
        )
        .unwrap();
        assert_eq!(graph.nodes[1].role, Role::Broadcast);
        assert_eq!(
            graph.nodes[1].program,
            Located::remote("hostb", "co-broadcast")
        );
        // The local helpers serve local stages only.
        let graph = plan_with("s = co-lines a\ns | co-printer\ns | co-printer", &helpers).unwrap();
        assert_eq!(graph.nodes[1].program, Located::local("/bin/co-broadcast"));
        assert_eq!(
            plan_with("p@hostb = co-printer\nco-lines a | p\nco-lines b | p", &helpers).unwrap_err(),
            "3:12: this graph needs co-merge (fan-in), which was not found (looked on host hostb, on PATH)"
        );
        assert_eq!(
            plan_with("s@hostc = co-lines a\ns | co-printer\ns | co-printer", &helpers).unwrap_err(),
            "3:3: this graph needs co-broadcast (fan-out), which was not found (looked on host hostc, whose agent was not asked)"
        );
    }

    #[test]
    fn the_order_puts_every_feeder_first() {
        let pipeline = spec::parse("p = co-printer\nm = co-grep x\nm | p\nco-lines a | m").unwrap();
        let order = Shape::new(&pipeline).order().unwrap();
        let at = |i: usize| order.iter().position(|&o| o == i).unwrap();
        for link in &pipeline.links {
            assert!(at(link.from) < at(link.to), "{order:?}");
        }
    }

    /// Where a drain stops a graph: the first stage on each path that writes events (issue
    /// 15, point 1), never a source in the middle of the text it writes.
    #[test]
    fn a_drain_stops_where_events_enter_the_graph() {
        let table: [(&str, &[usize]); 5] = [
            ("co-lines log | co-grep a | co-printer", &[1]),
            ("co-gen-buses | co-xml | co-buses | co-printer", &[2]),
            // co-printer writes text again: the co-lines after it is another entry.
            ("co-follow f | co-printer | co-lines | co-printer", &[1, 3]),
            // A path that never reaches events stops at its last stage.
            ("co-gen-buses | cat", &[2]),
            // A program that did not describe itself writes what it may: it is stopped.
            ("cat f | co-lines | co-printer", &[1]),
        ];
        for (text, want) in table {
            let graph = plan_with(text, &helpers()).unwrap();
            let got: Vec<usize> = (graph.drain_points().into_iter())
                .map(|i| graph.nodes[i].position)
                .collect();
            assert_eq!(got, want, "{text}");
        }
    }
}
