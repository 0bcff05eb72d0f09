//! co-gen-buses: deterministic, well-formed, realistic synthetic snapshots.

use crate::common::Bounded;
use crate::common::{cmd, pipeline};

fn generate(args: &[&str]) -> Vec<u8> {
    let out = cmd("co-gen-buses", args).bounded();
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

#[test]
fn the_same_seed_gives_the_same_file() {
    let a = generate(&["--buses", "500", "--seed", "11"]);
    let b = generate(&["--buses", "500", "--seed", "11"]);
    let c = generate(&["--buses", "500", "--seed", "12"]);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn writes_the_requested_buses_in_the_real_format() {
    let doc = String::from_utf8(generate(&["--buses", "1000", "--seed", "3"])).unwrap();
    assert!(doc.starts_with("<?xml version=\"1.0\"?>\r\n<buses>"));
    assert_eq!(doc.matches("<bus>").count(), 1000);
    assert_eq!(doc.matches("</bus>").count(), 1000);
    for feature in [
        "<route>22</route>",
        "<route>X49</route>",
        "<route>49B</route>",
        "<route>OR</route>",
        "<direction>North Bound</direction>",
        "<patternDirection>",
        "<![CDATA[Paulina & Howard Terminal]]>",
        "&amp;",
        "\r\n",
        "\t",
    ] {
        assert!(doc.contains(feature), "no {feature:?}");
    }
    // Off-route buses say where they really are, right after their route.
    let off_route = doc.matches("<route>OR</route>").count();
    assert_eq!(doc.matches("<actualRoute>").count(), off_route);
    // Every line ends with CRLF, as in the real snapshot.
    let (last, lines) = doc
        .split('\n')
        .collect::<Vec<_>>()
        .split_last()
        .map(|(l, r)| (*l, r.to_vec()))
        .unwrap();
    assert_eq!(last, "");
    assert!(lines.iter().all(|l| l.ends_with('\r')));
}

#[test]
fn every_bus_parses_into_a_full_record() {
    let doc = generate(&["--buses", "300", "--seed", "4"]);
    let out = pipeline(
        vec![
            cmd("co-xml", &[]),
            cmd("co-buses", &[]),
            cmd("co-dump", &["--json"]),
        ],
        &doc,
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    let records: Vec<serde_json::Value> = out
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 300);
    for r in &records {
        let lat: f64 = r["latitude"].as_str().unwrap().parse().unwrap();
        let lon: f64 = r["longitude"].as_str().unwrap().parse().unwrap();
        assert!(
            (41.7..42.0).contains(&lat) && (-87.9..-87.5).contains(&lon),
            "{r}"
        );
        assert_eq!(r["id"].as_str().unwrap().len(), 4);
        assert!(r["finalStop"].is_string());
    }
    let north_22 = records
        .iter()
        .filter(|r| r["route"] == "22" && r["direction"] == "North Bound")
        .count();
    assert!(north_22 > 0);
}

#[test]
fn out_writes_a_file_and_arguments_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.xml");
    let out = cmd(
        "co-gen-buses",
        &[
            "--buses",
            "20",
            "--seed",
            "1",
            "--output",
            path.to_str().unwrap(),
        ],
    )
    .bounded();
    assert!(out.status.success() && out.stdout.is_empty());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        generate(&["--buses", "20", "--seed", "1"])
    );
    assert_eq!(cmd("co-gen-buses", &[]).bounded().status.code(), Some(2));
    let bad = cmd("co-gen-buses", &["--buses", "many"]).bounded();
    assert_eq!(bad.status.code(), Some(2));
}
