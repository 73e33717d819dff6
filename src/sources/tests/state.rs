//! The state directory side of sources: kept copies, restarts, a state
//! directory that cannot be written, contents dropped from memory.

use super::*;

#[test]
fn kept_copies_serve_a_broken_file_after_a_restart() {
    let f = Fixture::new(&[
        ("rec/a.hosts", "10.0.0.1 one.blob.core.windows.net\n"),
        ("rec/b.hosts", "10.0.0.2 two.blob.core.windows.net\n"),
    ]);
    let cfg = f.config(THREE_ZONES);
    let state = StateDir::at(f.path("state"));
    let mut set = SourceSet::new(Some(state.clone()), true);
    f.build(&mut set, &cfg);
    set.persist();
    assert_eq!(set.state_error(), None);
    let kept = state
        .namespace("records")
        .path(&crate::statedir::key_of(&f.path("rec/a.hosts")))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "10.0.0.1 one.blob.core.windows.net\n"
    );

    // "Restart" with a.hosts broken: its kept copy serves.
    f.write(
        "rec/a.hosts",
        "10.0.0.1 one.blob.core.windows.net\nbroken\n",
    );
    let mut set = SourceSet::new(Some(state.clone()), true);
    let o = f.build(&mut set, &cfg);
    set.persist();
    assert_eq!(o.errors, ["rec/a.hosts:2: invalid IP address \"broken\""]);
    assert_eq!(a(&o, "one.privatelink.blob.core.windows.net"), ["10.0.0.1"]);
    assert!(set.status()[0].from_state);
    // The kept copy is not overwritten by the broken file.
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "10.0.0.1 one.blob.core.windows.net\n"
    );

    // A file removed from the directory leaves the table and the state.
    std::fs::remove_file(f.path("rec/b.hosts")).unwrap();
    let o = f.build(&mut set, &cfg);
    set.persist();
    assert!(a(&o, "two.privatelink.blob.core.windows.net").is_empty());
    let keys = state.namespace("records").keys(None).unwrap();
    assert_eq!(keys, [crate::statedir::key_of(&f.path("rec/a.hosts"))]);

    // A records directory that cannot be read: its files keep their copies.
    std::fs::rename(f.path("rec"), f.path("rec.away")).unwrap();
    let mut set = SourceSet::new(Some(state), false);
    let o = f.build(&mut set, &cfg);
    assert_eq!(a(&o, "one.privatelink.blob.core.windows.net"), ["10.0.0.1"]);
    assert!(
        o.errors[0].starts_with("rec: No such file"),
        "{:?}",
        o.errors
    );
}

#[test]
fn an_unwritable_state_directory_is_reported_not_fatal() {
    let f = Fixture::new(&[("rec/a.hosts", "10.0.0.1 one.blob.core.windows.net\n")]);
    f.write("state", "a file where the directory should be");
    let cfg = f.config(THREE_ZONES);
    let mut set = SourceSet::new(Some(StateDir::at(f.path("state"))), true);
    let o = f.build(&mut set, &cfg);
    set.persist();
    assert_eq!(a(&o, "one.privatelink.blob.core.windows.net"), ["10.0.0.1"]);
    let e = set.state_error().unwrap();
    assert!(e.starts_with("cannot keep a copy of"), "{e}");
    // Fixed: the next persist writes the copy and clears the error.
    std::fs::remove_file(f.path("state")).unwrap();
    f.build(&mut set, &cfg);
    set.persist();
    assert_eq!(set.state_error(), None);
}

#[test]
fn big_sources_leave_memory_and_come_back_from_their_copy() {
    let f = Fixture::new(&[
        (
            "rec/big.hosts",
            "10.0.0.1 one.blob.core.windows.net\n10.0.0.2 two.blob.core.windows.net\n",
        ),
        ("rec/small.hosts", "10.0.0.3 three.blob.core.windows.net\n"),
    ]);
    let cfg = f.config(THREE_ZONES);
    let mut set = SourceSet::new(Some(StateDir::at(f.path("state"))), true);
    set.set_cache_limit(0);
    f.build(&mut set, &cfg);
    set.persist();
    // Both dropped (no entry may stay), counted all the same.
    let st = set.status();
    assert_eq!((st[0].entries, st[1].entries), (2, 1));
    assert!(set.sources.values().all(|s| s.current.is_none()));
    // The next reload reads them again; an edit of one applies.
    f.write("rec/small.hosts", "10.0.0.33 three.blob.core.windows.net\n");
    let o = f.build(&mut set, &cfg);
    assert_eq!(a(&o, "one.privatelink.blob.core.windows.net"), ["10.0.0.1"]);
    assert_eq!(
        a(&o, "three.privatelink.blob.core.windows.net"),
        ["10.0.0.33"]
    );
    set.persist();
    // A dropped file that breaks serves its copy.
    f.write(
        "rec/big.hosts",
        "10.0.0.1 one.blob.core.windows.net\nbroken\n",
    );
    let o = f.build(&mut set, &cfg);
    assert_eq!(o.errors, ["rec/big.hosts:2: invalid IP address \"broken\""]);
    assert_eq!(a(&o, "two.privatelink.blob.core.windows.net"), ["10.0.0.2"]);
    assert_eq!(set.status()[0].entries, 2);
    // Held (being written) and dropped: its copy serves.
    set.persist();
    f.write("rec/big.hosts", "10.0.0.9 nine.blob.core.windows.net\n");
    set.refresh_files(&cfg, &[f.path("rec/big.hosts")]);
    let built = set.build(&cfg);
    assert!(
        built
            .records
            .table
            .get(&name("two.privatelink.blob.core.windows.net"))
            .is_some()
    );
}
