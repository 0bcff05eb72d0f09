//! `co-broadcast`: the seed's `broadcast(targets)` across processes.
//!
//! Every frame of the input is copied, whole and undecoded, to each output, so the copies
//! cost a memcpy and events are never split. A branch whose reader goes away (broken pipe)
//! is dropped and the others go on; with [`OnBranchClose::Stop`] the first such branch ends
//! the broadcast instead (the others get a clean end of stream). Once no branch is left the
//! stage stops quietly, and its upstream in turn sees a closed pipe.

use std::fs::File;
use std::path::PathBuf;

use crate::args;
use crate::args::InputArgs;
use crate::error::Result;
use crate::link::endpoint;
use crate::link::FrameWriter;
use crate::protocol::{Port, StageInfo};
use crate::signals;

pub use crate::protocol::OnBranchClose;

/// `co-broadcast`'s `--describe`: the launcher inserts it for fan-out, and takes its ports
/// from here.
pub const INFO: StageInfo =
    StageInfo::new("co-broadcast", Port::Any, Port::Any).with_many_outputs();

/// `co-broadcast OUT...`: one input, copied to every output.
pub fn run_broadcast(
    outputs: &[PathBuf],
    on_branch_close: OnBranchClose,
    input: &InputArgs,
) -> Result<()> {
    let mut reader = input.open()?;
    let kind = reader.kind();
    let mut branches: Vec<Option<FrameWriter<File>>> = endpoint::open_outputs(outputs)?
        .into_iter()
        .map(|e| Some(args::frame_writer(e.file, e.label, kind)))
        .collect();

    // Applies `op` to every live branch; a branch that hit a closed pipe is dropped (or, with
    // `Stop`, ends everything). Returns whether any branch is left.
    let each = |branches: &mut Vec<Option<FrameWriter<File>>>,
                op: &mut dyn FnMut(&mut FrameWriter<File>) -> Result<()>|
     -> Result<bool> {
        let mut closed_one = false;
        for slot in branches.iter_mut() {
            if let Some(w) = slot {
                match op(w) {
                    Ok(()) => {}
                    Err(e) if e.is_broken_pipe() => {
                        *slot = None;
                        closed_one = true;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        if closed_one && on_branch_close == OnBranchClose::Stop {
            for w in branches.iter_mut().flatten() {
                let _ = w.close();
            }
            branches.clear();
        }
        Ok(branches.iter().any(Option::is_some))
    };

    loop {
        let idle = reader.would_block();
        if idle && !each(&mut branches, &mut |w| w.flush())? {
            return Ok(());
        }
        let waiting = if idle {
            match signals::Waiting::enter() {
                Some(w) => Some(w),
                None => break,
            }
        } else {
            None
        };
        if signals::stop_requested() {
            break;
        }
        let frame = reader.next_frame();
        drop(waiting);
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                // Deliver every frame already read before reporting the broken input.
                let _ = each(&mut branches, &mut |w| w.flush());
                return Err(e);
            }
        };
        let (events, payload) = (frame.events, frame.payload);
        if !each(&mut branches, &mut |w| w.write_frame(events, payload))? {
            return Ok(());
        }
    }
    each(&mut branches, &mut |w| w.close())?;
    Ok(())
}
