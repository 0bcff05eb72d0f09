//! `copipe top`: successive samples of a running graph turned into rates, with the stage that
//! bounds the graph's speed marked; drawn live with ratatui, or printed as JSON lines.
//!
//! **The bottleneck.** Every stage's time splits into waiting in the OS on its links (reading
//! an empty pipe, writing a full one) and everything else: its own work, CPU or not (a stage
//! that sleeps in its handler is busy in this sense). Upstream of the slowest stage, writers
//! block on full pipes; downstream, readers wait on empty ones; the slowest stage itself waits
//! on neither. So the stage with the largest busy share over the last interval is marked.
//! Text links (a document into `co-xml`) keep no counters; a stage with one counts as busy
//! only for the CPU it used.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use ratatui::layout::Constraint;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Row, Table};
use ratatui::Frame;
use serde::Serialize;

use super::control::Client;
use super::rundir::Found;
use super::{GraphInfo, Request, Sample};
use crate::error::{Error, Result};

/// One interval of a graph, as `copipe top` shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct View {
    pub graph: String,
    pub elapsed_s: f64,
    pub stages: Vec<StageRow>,
    pub links: Vec<LinkRow>,
    /// The position of the stage that bounds the graph's speed, if one stands out.
    pub bottleneck: Option<usize>,
    pub done: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageRow {
    pub position: usize,
    pub command: String,
    pub state: String,
    pub cpu_percent: f64,
    pub rss_bytes: u64,
    pub events_in: u64,
    pub events_out: u64,
    pub events_in_per_s: f64,
    pub events_out_per_s: f64,
    /// Share of the interval not spent waiting on links (0 to 1).
    pub busy: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LinkRow {
    pub name: String,
    pub carries: String,
    pub events: u64,
    pub bytes: u64,
    pub events_per_s: f64,
    pub mb_per_s: f64,
    /// Share of the interval its writer spent blocked on a full pipe (0 to 1).
    pub backpressure: f64,
}

/// The view of `now`, with rates since `before` (the graph's start when `None`).
pub fn view(info: &GraphInfo, before: Option<&Sample>, now: &Sample) -> View {
    let zero = Sample::default();
    let before = before.unwrap_or(&zero);
    let dt_ms = now.elapsed_ms.saturating_sub(before.elapsed_ms).max(1);
    let dt = dt_ms as f64 / 1000.0;
    let dt_ns = dt_ms as f64 * 1e6;
    let old_links: HashMap<&str, &super::LinkSample> =
        before.links.iter().map(|l| (l.name.as_str(), l)).collect();
    let links: Vec<LinkRow> = info
        .links
        .iter()
        .zip(&now.links)
        .map(|(entry, l)| {
            let old = old_links.get(l.name.as_str()).copied();
            let d = |f: fn(&super::LinkSample) -> u64| f(l).saturating_sub(old.map_or(0, f));
            LinkRow {
                name: l.name.clone(),
                carries: entry.carries.clone(),
                events: l.events,
                bytes: l.bytes,
                events_per_s: d(|l| l.events) as f64 / dt,
                mb_per_s: d(|l| l.bytes) as f64 / dt / 1e6,
                backpressure: (d(|l| l.writer_blocked_ns) as f64 / dt_ns).min(1.0),
            }
        })
        .collect();
    let stages = stage_rows(info, before, now, dt);
    let bottleneck = if now.done { None } else { bottleneck(&stages) };
    View {
        graph: info.id.clone(),
        elapsed_s: now.elapsed_ms as f64 / 1000.0,
        stages,
        links,
        bottleneck,
        done: now.done,
    }
}

fn stage_rows(info: &GraphInfo, before: &Sample, now: &Sample, dt: f64) -> Vec<StageRow> {
    let dt_ns = dt * 1e9;
    let old_cpu: HashMap<usize, u64> = before
        .stages
        .iter()
        .map(|s| (s.position, s.cpu_ns))
        .collect();
    let delta = |sample: &Sample, name: &str| sample.links.iter().find(|l| l.name == name).cloned();
    info.stages
        .iter()
        .zip(&now.stages)
        .map(|(entry, s)| {
            let mut row = StageRow {
                position: s.position,
                command: entry.command.clone(),
                state: s.state.clone(),
                cpu_percent: s
                    .cpu_ns
                    .saturating_sub(old_cpu.get(&s.position).copied().unwrap_or(0))
                    as f64
                    / dt_ns
                    * 100.0,
                rss_bytes: s.rss_bytes,
                ..StageRow::default()
            };
            let mut waited = 0.0;
            // A text link (a source's document, say) keeps no counters: a stage with one is
            // judged by its CPU share instead of by the time it did not wait.
            let mut unmeasured = false;
            for link in &info.links {
                if (link.to == s.position || link.from == s.position) && link.carries == "text" {
                    unmeasured = true;
                }
                let (Some(new), old) = (delta(now, &link.name), delta(before, &link.name)) else {
                    continue;
                };
                let old = old.unwrap_or_default();
                let events = new.events.saturating_sub(old.events) as f64 / dt;
                if link.to == s.position {
                    row.events_in += new.events;
                    row.events_in_per_s += events;
                    waited += new.reader_waiting_ns.saturating_sub(old.reader_waiting_ns) as f64;
                }
                if link.from == s.position {
                    row.events_out += new.events;
                    row.events_out_per_s += events;
                    waited += new.writer_blocked_ns.saturating_sub(old.writer_blocked_ns) as f64;
                }
            }
            let not_waiting = (1.0 - waited / dt_ns).clamp(0.0, 1.0);
            row.busy = if s.state == "exited" {
                0.0
            } else if unmeasured {
                (row.cpu_percent / 100.0).min(not_waiting)
            } else {
                not_waiting
            };
            row
        })
        .collect()
}

/// The stage with the largest busy share, if it is clearly busy.
fn bottleneck(stages: &[StageRow]) -> Option<usize> {
    stages
        .iter()
        .filter(|s| s.state != "exited" && s.busy > 0.5)
        .max_by(|a, b| a.busy.total_cmp(&b.busy))
        .map(|s| s.position)
}

/// Human-readable bytes.
fn bytes(n: u64) -> String {
    let n = n as f64;
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.1} kB", n / 1e3),
        n => format!("{n} B"),
    }
}

/// Draws a view: a table of stages above a table of links.
pub fn draw(frame: &mut Frame, view: &View) {
    let [top, bottom] = ratatui::layout::Layout::vertical([
        Constraint::Length(view.stages.len() as u16 + 3),
        Constraint::Min(3),
    ])
    .areas(frame.area());
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let stage_rows = view.stages.iter().map(|s| {
        let mark = if view.bottleneck == Some(s.position) {
            "◀ bottleneck"
        } else {
            ""
        };
        let row = Row::new(vec![
            s.position.to_string(),
            s.command.clone(),
            s.state.clone(),
            format!("{:.0}%", s.cpu_percent),
            bytes(s.rss_bytes),
            format!("{:.0}", s.events_in_per_s),
            format!("{:.0}", s.events_out_per_s),
            format!("{:.0}%", s.busy * 100.0),
            mark.to_owned(),
        ]);
        if mark.is_empty() {
            row
        } else {
            row.style(bold)
        }
    });
    let title = format!(
        " copipe top: graph {} · {:.1} s{} · q quits ",
        view.graph,
        view.elapsed_s,
        if view.done { " · ended" } else { "" }
    );
    let stages = Table::new(
        stage_rows,
        [
            Constraint::Length(3),
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(11),
            Constraint::Length(5),
            Constraint::Length(12),
        ],
    )
    .header(
        Row::new([
            "#", "stage", "state", "CPU", "memory", "in ev/s", "out ev/s", "busy", "",
        ])
        .style(bold),
    )
    .block(Block::bordered().title(Line::from(title)));
    frame.render_widget(stages, top);
    let link_rows = view.links.iter().map(|l| {
        Row::new(vec![
            l.name.clone(),
            l.carries.clone(),
            format!("{:.0}", l.events_per_s),
            format!("{:.2}", l.mb_per_s),
            l.events.to_string(),
            bytes(l.bytes),
            format!("{:.0}%", l.backpressure * 100.0),
        ])
    });
    let links = Table::new(
        link_rows,
        [
            Constraint::Length(8),
            Constraint::Fill(1),
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Length(12),
            Constraint::Length(10),
            Constraint::Length(9),
        ],
    )
    .header(
        Row::new([
            "link", "carries", "ev/s", "MB/s", "events", "bytes", "pressure",
        ])
        .style(bold),
    )
    .block(Block::bordered().title(" links "));
    frame.render_widget(links, bottom);
}

/// How `copipe top` shows what it sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The live table (a terminal).
    Screen,
    /// One JSON object per interval on stdout.
    Json,
}

/// Runs `copipe top` on `graph` until it ends (or, on screen, until `q`).
pub fn run(graph: &Found, interval: Duration, output: Output, count: Option<u64>) -> Result<()> {
    let mut client = Client::connect(&graph.dir)?;
    client.send(&Request::Info)?;
    let info: GraphInfo = client
        .receive()?
        .ok_or_else(|| Error::Usage("the graph ended before it could be watched".into()))?;
    let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
    client.send(&Request::Watch { interval_ms })?;
    match output {
        Output::Json => run_json(&info, &mut client, count),
        Output::Screen => super::top_screen::run(&info, &mut client, count),
    }
}

fn run_json(info: &GraphInfo, client: &mut Client, count: Option<u64>) -> Result<()> {
    let mut before: Option<Sample> = None;
    let mut out = std::io::stdout().lock();
    let mut shown = 0;
    while let Some(sample) = client.receive::<Sample>()? {
        let view = view(info, before.as_ref(), &sample);
        let line = serde_json::to_string(&view).map_err(|e| Error::Encode(e.to_string()))?;
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("writing output", e))?;
        shown += 1;
        if sample.done || count.is_some_and(|c| shown >= c) {
            break;
        }
        before = Some(sample);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{LinkEntry, LinkSample, StageEntry, StageSample};
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn info() -> GraphInfo {
        let stage = |position: usize, command: &str| StageEntry {
            position,
            command: command.into(),
            inserted: false,
            pid: Some(1),
        };
        let link = |from: usize, to: usize| LinkEntry {
            name: format!("{from}->{to}"),
            from,
            to,
            writer_label: "standard output".into(),
            reader_label: "standard input".into(),
            carries: "line events".into(),
        };
        GraphInfo {
            id: "g1".into(),
            pid: 1,
            spec: "a | b | c".into(),
            started_unix_ms: 0,
            stages: vec![
                stage(1, "co-lines f"),
                stage(2, "co-chaos --sleep-ms 5"),
                stage(3, "co-printer"),
            ],
            links: vec![link(1, 2), link(2, 3)],
        }
    }

    fn sample(ms: u64, events: [u64; 2], blocked: [(u64, u64); 2]) -> Sample {
        let st = |position| StageSample {
            position,
            state: "sleeping".into(),
            cpu_ns: ms * 1_000_000 / 10,
            rss_bytes: 2 << 20,
        };
        let ln = |i: usize, name: &str| LinkSample {
            name: name.into(),
            events: events[i],
            bytes: events[i] * 10,
            writer_blocked_ns: blocked[i].0,
            reader_waiting_ns: blocked[i].1,
        };
        Sample {
            elapsed_ms: ms,
            stages: vec![st(1), st(2), st(3)],
            links: vec![ln(0, "1->2"), ln(1, "2->3")],
            done: false,
        }
    }

    #[test]
    fn rates_come_from_the_difference_of_two_samples() {
        let a = sample(1000, [100, 100], [(0, 0); 2]);
        let b = sample(2000, [300, 250], [(0, 0); 2]);
        let v = view(&info(), Some(&a), &b);
        assert!((v.links[0].events_per_s - 200.0).abs() < 1e-9);
        assert!((v.links[1].events_per_s - 150.0).abs() < 1e-9);
        assert!((v.links[0].mb_per_s - 0.002).abs() < 1e-9);
        assert_eq!(v.stages[1].events_in, 300);
        assert!((v.stages[1].events_out_per_s - 150.0).abs() < 1e-9);
        assert!((v.stages[0].cpu_percent - 10.0).abs() < 1e-6);
    }

    #[test]
    fn the_stage_that_waits_on_no_link_is_the_bottleneck() {
        // Over one second: stage 1's writes block 900 ms, stage 3's reads wait 950 ms,
        // stage 2 (between them) waits on neither: it bounds the graph.
        let a = sample(1000, [0, 0], [(0, 0); 2]);
        let b = sample(
            2000,
            [10, 10],
            [(900_000_000, 20_000_000), (10_000_000, 950_000_000)],
        );
        let v = view(&info(), Some(&a), &b);
        assert_eq!(v.bottleneck, Some(2));
        assert!((v.links[0].backpressure - 0.9).abs() < 1e-9);
        assert!(v.stages[0].busy < 0.2 && v.stages[2].busy < 0.1);
    }

    #[test]
    fn the_table_renders_stages_links_and_the_mark() {
        let a = sample(1000, [0, 0], [(0, 0); 2]);
        let b = sample(2000, [10, 10], [(900_000_000, 0), (0, 950_000_000)]);
        let v = view(&info(), Some(&a), &b);
        let mut terminal = Terminal::new(TestBackend::new(110, 14)).unwrap();
        terminal.draw(|f| draw(f, &v)).unwrap();
        let screen: String = terminal
            .backend()
            .buffer()
            .content()
            .chunks(110)
            .map(|row| {
                row.iter()
                    .map(ratatui::buffer::Cell::symbol)
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        assert!(screen.contains("copipe top: graph g1"), "{screen}");
        assert!(screen.contains("co-chaos --sleep-ms 5"), "{screen}");
        let marked = screen.lines().find(|l| l.contains("bottleneck")).unwrap();
        assert!(marked.contains("co-chaos"), "{screen}");
        assert!(
            screen.contains("1->2") && screen.contains("2->3"),
            "{screen}"
        );
        assert!(screen.contains("90%"), "back-pressure of 1->2: {screen}");
    }
}
