//! `copipe top` on a terminal: the live table, redrawn on each sample, `q` to quit.

use std::sync::mpsc;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use super::control::Client;
use super::top::{draw, view, View};
use super::{GraphInfo, Sample};
use crate::error::{Error, Result};

/// Draws samples as they arrive until `q` (or Esc, or Ctrl-C); after the graph ends the last
/// view stays on screen until then.
pub fn run(info: &GraphInfo, client: &mut Client, count: Option<u64>) -> Result<()> {
    let (tx, rx) = mpsc::channel::<Sample>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Ok(Some(sample)) = client.receive::<Sample>() {
                if tx.send(sample).is_err() {
                    break;
                }
            }
        });
        let mut terminal = ratatui::try_init().map_err(|e| Error::io("opening the terminal", e))?;
        let outcome = screen_loop(&mut terminal, info, &rx, count);
        ratatui::restore();
        // The reader thread ends with the launcher's channel; do not wait for it.
        drop(rx);
        outcome
    })
}

fn screen_loop(
    terminal: &mut ratatui::DefaultTerminal,
    info: &GraphInfo,
    rx: &mpsc::Receiver<Sample>,
    count: Option<u64>,
) -> Result<()> {
    let mut before: Option<Sample> = None;
    let mut shown: Option<View> = None;
    let mut views = 0;
    let draw_err = |e| Error::io("drawing", e);
    terminal
        .draw(|f| draw(f, &view(info, None, &Sample::default())))
        .map_err(draw_err)?;
    loop {
        while let Ok(sample) = rx.try_recv() {
            let v = view(info, before.as_ref(), &sample);
            terminal.draw(|f| draw(f, &v)).map_err(draw_err)?;
            shown = Some(v);
            views += 1;
            before = Some(sample);
        }
        if count.is_some_and(|c| views >= c) {
            return Ok(());
        }
        if quit_pressed(Duration::from_millis(100))? {
            return Ok(());
        }
        if let Some(v) = &shown {
            terminal.draw(|f| draw(f, v)).map_err(draw_err)?;
        }
    }
}

fn quit_pressed(wait: Duration) -> Result<bool> {
    let io = |e| Error::io("reading the keyboard", e);
    if !event::poll(wait).map_err(io)? {
        return Ok(false);
    }
    Ok(match event::read().map_err(io)? {
        Event::Key(k) if k.kind == KeyEventKind::Press => {
            matches!(k.code, KeyCode::Char('q') | KeyCode::Esc)
                || (k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL))
        }
        _ => false,
    })
}
