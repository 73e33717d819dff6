//! Operating-system calls std does not wrap. Each is a single call whose
//! safety needs no more than its arguments being plain integers.
#![allow(unsafe_code)]

/// Lowers the calling thread to nice 19, so work it does (rebuilding the
/// table on reload) yields the CPU to the query threads. Linux applies
/// `setpriority(PRIO_PROCESS, 0, ..)` to the calling thread only.
pub fn lower_thread_priority() {
    // SAFETY: setpriority takes integers only and touches no memory of ours.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

/// The effective user and group ids, for messages about files the daemon
/// cannot read.
pub fn ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid take no arguments and cannot fail.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// Gives memory that is free in the allocator back to the system. A reload
/// parses every changed file into entries and drops them after the build;
/// without this, glibc keeps those pages and the daemon's RSS stays at its
/// peak. Cheap (a walk of the free lists), called after a reload.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes an integer and only touches the allocator's
    // own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Raises the soft limit on open files to the hard limit, as services
/// need: systemd starts them with 1024 soft (and a far higher hard limit),
/// and the TCP front end alone may hold `tcp_max_connections` sockets.
/// Returns the soft limit in force afterwards, `None` if it cannot be read.
pub fn raise_open_files_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit, which we own, and reads nothing.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return None;
    }
    if r.rlim_cur < r.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: r.rlim_max,
            rlim_max: r.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit, which we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Some(raised.rlim_cur);
        }
    }
    Some(r.rlim_cur)
}

/// Restores the default SIGPIPE disposition (Rust ignores it), for the
/// commands that print: piped into `head` and the like, they end quietly
/// when the reader goes, as other Unix tools do, instead of panicking on
/// EPIPE. Call it before any other thread exists.
pub fn end_on_closed_pipe() {
    // SAFETY: signal takes integers only; SIG_DFL is a valid disposition
    // for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
