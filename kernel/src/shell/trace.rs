//! The monitor's `trace` command: the trace events (trace/) without user
//! space. `trace on [event|group...]` enables events (all by default) and
//! empties the buffers, `trace off [event|group...]` disables them (all by
//! default), `trace show [event...]` prints the held entries, oldest first,
//! only of the named events if any are named; `trace clear` empties them.

use crate::println;
use crate::trace::{self, Event, EVENTS};
use alloc::vec::Vec;

/// The events `names` stand for (event or group names; none: all).
fn selected(names: &[&str]) -> Result<Vec<Event>, &'static str> {
    if names.is_empty() {
        return Ok(trace::events_of(None).collect());
    }
    let mut out = Vec::new();
    for name in names {
        if let Some(e) = trace::event_by_name(name) {
            out.push(e);
        } else if EVENTS.iter().any(|(g, _)| g == name) {
            out.extend(trace::events_of(Some(name)));
        } else {
            return Err("unknown event or group");
        }
    }
    Ok(out)
}

/// `trace on|off|show|clear [event...]`.
pub fn trace_cmd(args: &[&str]) -> Result<(), &'static str> {
    let (cmd, names) = args.split_first().ok_or("usage: trace on|off|show|clear [event...]")?;
    match *cmd {
        "on" | "off" => {
            let on = *cmd == "on";
            if on {
                trace::clear();
            }
            for e in selected(names)? {
                trace::set_enabled(e, on).map_err(|_| "no memory for the trace buffers")?;
            }
            trace::set_tracing_on(true);
            let enabled: Vec<&str> =
                trace::events_of(None).filter(|e| trace::is_enabled(*e)).map(|e| EVENTS[e as usize].1).collect();
            println!("enabled: {}", if enabled.is_empty() { "none".into() } else { enabled.join(" ") });
        }
        "show" => {
            let wanted = if names.is_empty() { Vec::new() } else { selected(names)? };
            let entries = trace::snapshot(|e| wanted.is_empty() || wanted.iter().any(|w| *w as u8 == e.event))
                .map_err(|_| "no memory for a copy of the buffers")?;
            let mut line = alloc::string::String::new();
            line.try_reserve(trace::MAX_LINE).map_err(|_| "no memory")?;
            for e in &entries {
                line.clear();
                trace::format_entry(e, &mut line);
                crate::print!("{line}");
            }
            println!("{} entries", entries.len());
        }
        "clear" => trace::clear(),
        _ => return Err("usage: trace on|off|show|clear [event...]"),
    }
    Ok(())
}
