//! co-nats-pub and co-nats-sub against a real nats-server with `JetStream`: the bus pipeline
//! split by a durable link, kills and restarts of both ends and of the server, fan-in and
//! fan-out, large frames, and the one-line errors.

use std::path::Path;

use crate::common::{bin, cmd, wait_until, DEADLINE};
use crate::nats_server::{nats_cmd, numbered, printed, size, Chain, NatsServer, LONG};

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(name)
        .display()
        .to_string()
}

fn run_ok(chain: Chain) -> Vec<String> {
    let (ok, errs) = chain.wait();
    assert!(ok, "a stage failed: {errs:?}");
    errs
}

/// The one stderr line of a failed command, checked to be exactly one line.
fn one_line_error(out: &std::process::Output, stage: &str) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit status of {stage}: {out:?}"
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with(&format!("{stage}: error: ")), "{err:?}");
    err
}

#[test]
fn bus_pipeline_split_by_a_jetstream_link_prints_what_the_pipe_prints() {
    let srv = NatsServer::start();
    let url = srv.url();
    let xml = data("allroutes.xml");
    let direct = Chain::spawn(
        vec![
            cmd("co-xml", &[&xml]),
            cmd("co-buses", &[]),
            cmd("co-filter", &["route=22"]),
            cmd("co-filter", &["direction=North Bound"]),
            cmd("co-bus-locations", &[]),
        ],
        Some(&srv.dir.path().join("direct")),
    );
    run_ok(direct);
    // The consumer starts first and waits for the producer, as on two machines.
    let consumer = Chain::spawn(
        vec![
            nats_cmd("co-nats-sub", &url, &["buses", "--kind", "records"]),
            cmd("co-filter", &["route=22"]),
            cmd("co-filter", &["direction=North Bound"]),
            cmd("co-bus-locations", &[]),
        ],
        Some(&srv.dir.path().join("split")),
    );
    let producer = Chain::spawn(
        vec![
            cmd("co-xml", &[&xml]),
            cmd("co-buses", &[]),
            nats_cmd("co-nats-pub", &url, &["buses"]),
        ],
        None,
    );
    run_ok(producer);
    run_ok(consumer);
    let direct = std::fs::read(srv.dir.path().join("direct")).unwrap();
    assert!(!direct.is_empty());
    assert_eq!(std::fs::read(srv.dir.path().join("split")).unwrap(), direct);
}

/// kill -9 of the consumer twice in the middle of 2 million events, each time restarted:
/// every line arrives once.
#[test]
fn consumer_killed_mid_stream_and_restarted_loses_and_doubles_nothing() {
    let srv = NatsServer::start();
    let url = srv.url();
    let (input, text) = numbered(srv.dir.path(), "in", 2_000_000);
    let out = srv.dir.path().join("out.frames");
    let input = input.display().to_string();
    let out_s = out.display().to_string();
    let producer = Chain::spawn(
        vec![
            cmd("co-lines", &[&input]),
            nats_cmd("co-nats-pub", &url, &["seq", "--message-bytes", "65536"]),
        ],
        None,
    );
    let sub = || {
        Chain::spawn(
            vec![nats_cmd(
                "co-nats-sub",
                &url,
                &["seq", "--output", &out_s, "--max-ack-pending", "2"],
            )],
            None,
        )
    };
    for round in 1..=2u64 {
        let mut consumer = sub();
        let grew = wait_until(LONG, || {
            size(&out) > round * 4_000_000 || !consumer.running()
        });
        assert!(
            grew && consumer.running(),
            "the consumer ended before the kill (round {round}): {}",
            consumer.report()
        );
        consumer.kill();
    }
    run_ok(sub());
    run_ok(producer);
    assert!(printed(&out) == text, "the output differs from the input");
}

/// kill -9 of the publisher mid-stream, then a rerun on the same input: no duplicates.
#[test]
fn publisher_killed_mid_stream_and_rerun_doubles_nothing() {
    let srv = NatsServer::start();
    let url = srv.url();
    let (input, text) = numbered(srv.dir.path(), "in", 2_000_000);
    let input = input.display().to_string();
    let out = srv.dir.path().join("out");
    let consumer = Chain::spawn(
        vec![
            nats_cmd("co-nats-sub", &url, &["seq"]),
            cmd("co-printer", &[]),
        ],
        Some(&out),
    );
    let producer = |from_file: bool| {
        let lines = if from_file {
            cmd("co-lines", &[&input])
        } else {
            cmd("co-lines", &[])
        };
        vec![
            lines,
            nats_cmd("co-nats-pub", &url, &["seq", "--message-bytes", "65536"]),
        ]
    };
    // The first run gets half the input and its input stays open: it is mid-stream for sure
    // once the consumer has printed that half.
    let half = &text[..text.len() / 2];
    let half = &half[..=half.rfind('\n').unwrap()];
    let (mut first, mut feed) = Chain::spawn_fed(producer(false), None);
    std::io::Write::write_all(&mut feed, half.as_bytes()).unwrap();
    let started = wait_until(LONG, || size(&out) >= half.len() as u64 || !first.running());
    assert!(
        started && first.running(),
        "the publisher ended before the kill (output {} bytes): {} / {}",
        size(&out),
        first.report(),
        consumer.report()
    );
    first.kill();
    drop(feed);
    let producer = || Chain::spawn(producer(true), None);
    run_ok(producer());
    run_ok(consumer);
    let got = std::fs::read_to_string(&out).unwrap();
    assert_eq!(got.len(), text.len(), "lines lost or doubled");
    assert!(got == text);
}

/// The first half of `text`, cut after a line.
fn first_half(text: &str) -> &str {
    let half = &text[..text.len() / 2];
    &half[..=half.rfind('\n').unwrap()]
}

/// The server stopped and restarted mid-stream: both ends wait for it and finish.
#[test]
fn server_restarted_mid_stream_the_link_resumes_with_nothing_lost() {
    let mut srv = NatsServer::start();
    let url = srv.url();
    let (_, text) = numbered(srv.dir.path(), "in", 1_000_000);
    let out = srv.dir.path().join("out.frames");
    let out_s = out.display().to_string();
    let consumer = Chain::spawn(
        vec![nats_cmd(
            "co-nats-sub",
            &url,
            &["seq", "--output", &out_s, "--max-ack-pending", "2"],
        )],
        None,
    );
    let (mut producer, mut feed) = Chain::spawn_fed(
        vec![
            cmd("co-lines", &[]),
            nats_cmd("co-nats-pub", &url, &["seq", "--message-bytes", "32768"]),
        ],
        None,
    );
    let half = first_half(&text);
    std::io::Write::write_all(&mut feed, half.as_bytes()).unwrap();
    let started = wait_until(LONG, || {
        size(&out) >= half.len() as u64 || !producer.running()
    });
    assert!(
        started && producer.running(),
        "the publisher ended before the server stopped (output {} bytes): producer {} consumer {}",
        size(&out),
        producer.report(),
        consumer.report()
    );
    srv.restart();
    std::io::Write::write_all(&mut feed, &text.as_bytes()[half.len()..]).unwrap();
    drop(feed);
    run_ok(producer);
    run_ok(consumer);
    assert!(printed(&out) == text, "the output differs from the input");
}

/// The server gone for good: the publisher fails with one line saying what the stream holds.
#[test]
fn server_gone_for_good_fails_with_one_line_saying_what_was_delivered() {
    let mut srv = NatsServer::start();
    let url = srv.url();
    let (_, text) = numbered(srv.dir.path(), "in", 200_000);
    let out = srv.dir.path().join("out.frames");
    let out_s = out.display().to_string();
    let mut consumer = Chain::spawn(
        vec![nats_cmd(
            "co-nats-sub",
            &url,
            &["seq", "--output", &out_s, "--retry-for", "2"],
        )],
        None,
    );
    let (mut producer, mut feed) = Chain::spawn_fed(
        vec![
            cmd("co-lines", &[]),
            nats_cmd("co-nats-pub", &url, &["seq", "--retry-for", "2"]),
        ],
        None,
    );
    let half = first_half(&text);
    std::io::Write::write_all(&mut feed, half.as_bytes()).unwrap();
    let started = wait_until(LONG, || {
        size(&out) >= half.len() as u64 || !producer.running() || !consumer.running()
    });
    assert!(
        started && producer.running() && consumer.running(),
        "an end stopped before the server did"
    );
    srv.stop();
    // More input to publish, and no server to take it.
    let _ = std::io::Write::write_all(&mut feed, &text.as_bytes()[half.len()..]);
    drop(feed);
    let publisher = producer.children.pop().unwrap().wait_with_output().unwrap();
    let err = one_line_error(&publisher, "co-nats-pub");
    assert!(
        err.contains("gave up") && err.contains("holds this producer's first"),
        "{err}"
    );
    let consumer = consumer.children.pop().unwrap().wait_with_output().unwrap();
    let err = one_line_error(&consumer, "co-nats-sub");
    assert!(
        err.contains("gave up") && err.contains("delivered"),
        "{err}"
    );
}

#[test]
fn frames_larger_than_the_server_payload_are_split_and_rejoined() {
    let srv = NatsServer::start();
    let url = srv.url();
    let big = "x".repeat(3 << 20);
    let text = format!("first\n{big}\nlast\n");
    let input = srv.dir.path().join("in");
    std::fs::write(&input, &text).unwrap();
    let input = input.display().to_string();
    run_ok(Chain::spawn(
        vec![
            cmd("co-lines", &[&input]),
            nats_cmd("co-nats-pub", &url, &["big"]),
        ],
        None,
    ));
    let out = srv.dir.path().join("out");
    run_ok(Chain::spawn(
        vec![
            nats_cmd("co-nats-sub", &url, &["big"]),
            cmd("co-printer", &[]),
        ],
        Some(&out),
    ));
    assert!(std::fs::read_to_string(&out).unwrap() == text);
}

#[test]
fn fan_in_and_fan_out_through_the_server() {
    let srv = NatsServer::start();
    let url = srv.url();
    let (a, ta) = numbered(srv.dir.path(), "a", 50_000);
    let b = srv.dir.path().join("b");
    let tb: String = (0..50_000).map(|i| format!("b{i}\n")).collect();
    std::fs::write(&b, &tb).unwrap();
    // Two readers, each with its own durable consumer, both waiting for two producers.
    let readers: Vec<Chain> = ["one", "two"]
        .iter()
        .map(|d| {
            Chain::spawn(
                vec![
                    nats_cmd(
                        "co-nats-sub",
                        &url,
                        &["fan", "--durable", d, "--producers", "2"],
                    ),
                    cmd("co-printer", &[]),
                ],
                Some(&srv.dir.path().join(d)),
            )
        })
        .collect();
    // Both durable consumers must exist before the producers start (each sees what is in
    // the stream when it is created): the server's store shows them.
    let obs = srv
        .dir
        .path()
        .join("store/jetstream/$G/streams/COPIPE_fan/obs");
    let consumers_exist = wait_until(DEADLINE, || {
        obs.join("one").exists() && obs.join("two").exists()
    });
    assert!(consumers_exist);
    for (file, name) in [
        (a.display().to_string(), "pa"),
        (b.display().to_string(), "pb"),
    ] {
        run_ok(Chain::spawn(
            vec![
                cmd("co-lines", &[&file]),
                nats_cmd("co-nats-pub", &url, &["fan", "--producer", name]),
            ],
            None,
        ));
    }
    let mut want: Vec<&str> = ta.lines().chain(tb.lines()).collect();
    want.sort_unstable();
    for (r, d) in readers.into_iter().zip(["one", "two"]) {
        run_ok(r);
        let got = std::fs::read_to_string(srv.dir.path().join(d)).unwrap();
        let mut got: Vec<&str> = got.lines().collect();
        got.sort_unstable();
        assert!(
            got == want,
            "reader {d} did not get every line of both producers once"
        );
    }
}

#[test]
fn no_server_is_a_one_line_error_before_anything_runs() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    let out = nats_cmd("co-nats-sub", &url, &["s"]).output().unwrap();
    let err = one_line_error(&out, "co-nats-sub");
    assert!(err.contains("cannot connect to a NATS server at"), "{err}");
    assert!(out.stdout.is_empty());
    let out = crate::common::run_with_input(nats_cmd("co-nats-pub", &url, &["s"]), b"");
    let err = one_line_error(&out, "co-nats-pub");
    assert!(err.contains("cannot connect"), "{err}");
}

#[test]
fn wrong_credentials_are_refused_in_one_line_and_right_ones_work() {
    let srv = NatsServer::start_with(&["--user", "copipe", "--pass", "s3cret"]);
    let bad = format!("nats://copipe:wrong@127.0.0.1:{}", srv.port);
    let out = nats_cmd("co-nats-sub", &bad, &["s"]).output().unwrap();
    let err = one_line_error(&out, "co-nats-sub");
    assert!(err.contains("refused the credentials"), "{err}");
    assert!(!err.contains("wrong"), "the password is not printed: {err}");
    let good = format!("nats://copipe:s3cret@127.0.0.1:{}", srv.port);
    let stream = crate::common::lines_stream("hello\nworld\n");
    let out = crate::common::run_with_input(nats_cmd("co-nats-pub", &good, &["s"]), &stream);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = nats_cmd("co-nats-sub", &good, &["s"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, stream);
}

#[test]
fn a_subject_holding_another_kind_is_refused_before_anything_flows() {
    let srv = NatsServer::start();
    let url = srv.url();
    let stream = crate::common::lines_stream("a line\n");
    let out = crate::common::run_with_input(nats_cmd("co-nats-pub", &url, &["k"]), &stream);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = crate::common::run_with_input(cmd("co-xml", &[]), b"<a>text</a>");
    assert!(xml.status.success());
    let out = crate::common::run_with_input(
        nats_cmd("co-nats-pub", &url, &["k", "--producer", "x"]),
        &xml.stdout,
    );
    let err = one_line_error(&out, "co-nats-pub");
    assert!(
        err.contains("subject k holds line events, not XML events"),
        "{err}"
    );
    let out = nats_cmd("co-nats-sub", &url, &["k", "--kind", "xml"])
        .output()
        .unwrap();
    let err = one_line_error(&out, "co-nats-sub");
    assert!(
        err.contains("holds line") && err.contains("not XML"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// A slow consumer bounds the publisher: the stream holds at most --max-bytes of unconsumed
/// data, the publisher waits, and nothing is dropped.
#[test]
fn a_full_stream_makes_the_publisher_wait_and_drops_nothing() {
    let srv = NatsServer::start();
    let url = srv.url();
    let (input, text) = numbered(srv.dir.path(), "in", 300_000);
    let input = input.display().to_string();
    let mut producer = Chain::spawn(
        vec![
            cmd("co-lines", &[&input]),
            nats_cmd(
                "co-nats-pub",
                &url,
                &["bp", "--max-bytes", "300000", "--message-bytes", "65536"],
            ),
        ],
        None,
    );
    // Without a consumer the publisher fills the stream and waits, still running.
    let said = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut stderr = producer.children[1].stderr.take().unwrap();
    let into = std::sync::Arc::clone(&said);
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 256];
        while let Ok(n @ 1..) = stderr.read(&mut buf) {
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let waiting = wait_until(DEADLINE, || said.lock().unwrap().contains("is full"));
    assert!(
        waiting && producer.running(),
        "the publisher did not wait: {said:?}"
    );
    let out = srv.dir.path().join("out");
    run_ok(Chain::spawn(
        vec![
            nats_cmd("co-nats-sub", &url, &["bp"]),
            cmd("co-printer", &[]),
        ],
        Some(&out),
    ));
    run_ok(producer);
    let _ = reader.join();
    assert!(std::fs::read_to_string(&out).unwrap() == text);
}

/// Where a binary holds tokio: a function or data symbol, or the bytes of a section it loads.
/// Debug information and the names of the object files the linker looked at (which it may
/// consult without keeping anything from them) do not count.
fn tokio_in(name: &str) -> Vec<String> {
    use object::{Object, ObjectSection, ObjectSymbol};
    let bytes = std::fs::read(bin(name)).unwrap();
    let file = object::File::parse(&*bytes).expect("an ELF binary");
    let mut found: Vec<String> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() != object::SymbolKind::File)
        .filter_map(|s| s.name().ok().map(str::to_owned))
        .filter(|n| n.contains("tokio"))
        .take(3)
        .collect();
    for section in file.sections() {
        let section_name = section.name().unwrap_or_default().to_owned();
        if section_name.starts_with(".debug")
            || section_name == ".strtab"
            || section_name == ".symtab"
        {
            continue;
        }
        let data = section.data().unwrap_or_default();
        if data.windows(5).any(|w| w == b"tokio") {
            found.push(format!("section {section_name}"));
        }
    }
    found
}

/// tokio and async-nats stay inside the NATS stages.
#[test]
fn other_stage_binaries_do_not_contain_tokio() {
    assert!(
        !tokio_in("co-nats-pub").is_empty(),
        "the check must be able to find tokio"
    );
    for stage in [
        "co-grep",
        "co-lines",
        "co-printer",
        "co-xml",
        "co-buses",
        "copipe",
    ] {
        let found = tokio_in(stage);
        assert!(found.is_empty(), "{stage} contains tokio: {found:?}");
    }
}
