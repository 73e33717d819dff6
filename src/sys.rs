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
