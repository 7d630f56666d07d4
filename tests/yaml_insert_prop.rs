//! Property: for generated compose files (indent unit, line endings, final
//! newline, all kinds of last values, trailing comments and blank lines),
//! appending a key to any service re-parses to exactly the original value
//! plus that key, and changes no byte outside the insertion.

use prodsafe::discover::FileKind;
use prodsafe::edit::{self, yaml_insert::append_key};
use prodsafe::formats::compose;
use prodsafe::source::SourceFile;
use proptest::prelude::*;
use std::path::Path;

#[derive(Debug, Clone)]
enum Last {
    Plain,
    Double,
    MultiDouble,
    Single,
    Literal,
    LiteralHash,
    Keep,
    Folded,
    FlowSeq,
    BlockSeq { indentless: bool },
    NestedMap,
    Empty,
    Alias,
}

fn last_value(l: &Last, ind: &str, unit: &str, eol: &str) -> String {
    let c = format!("{ind}{unit}");
    match l {
        Last::Plain => format!("{ind}cmd: node dist/main.js # trailing{eol}"),
        Last::Double => format!("{ind}cmd: \"a # b\"{eol}"),
        Last::MultiDouble => format!("{ind}cmd: \"a{eol}{c}# inside{eol}{c}b\"{eol}"),
        Last::Single => format!("{ind}cmd: 'it''s'{eol}"),
        Last::Literal => format!("{ind}cmd: |{eol}{c}line1{eol}{c}  line2{eol}"),
        Last::LiteralHash => format!("{ind}cmd: |{eol}{c}x{eol}{c}# hash line{eol}"),
        Last::Keep => format!("{ind}cmd: |+{eol}{c}keep{eol}{eol}"),
        Last::Folded => format!("{ind}cmd: >-{eol}{c}a{eol}{eol}{c}b{eol}"),
        Last::FlowSeq => format!("{ind}cmd: [\"node\",{eol}{c}\"x\"]{eol}"),
        Last::BlockSeq { indentless: true } => format!("{ind}cmd:{eol}{ind}- a{eol}{ind}- b{eol}"),
        Last::BlockSeq { indentless: false } => format!("{ind}cmd:{eol}{c}- a{eol}{c}- b{eol}"),
        Last::NestedMap => format!("{ind}labels:{eol}{c}a: 1{eol}{c}b: \"2\"{eol}"),
        Last::Empty => format!("{ind}volumes:{eol}"),
        Last::Alias => format!("{ind}environment: *env{eol}"),
    }
}

fn arb_last() -> impl Strategy<Value = Last> {
    prop_oneof![
        Just(Last::Plain),
        Just(Last::Double),
        Just(Last::MultiDouble),
        Just(Last::Single),
        Just(Last::Literal),
        Just(Last::LiteralHash),
        Just(Last::Keep),
        Just(Last::Folded),
        Just(Last::FlowSeq),
        any::<bool>().prop_map(|indentless| Last::BlockSeq { indentless }),
        Just(Last::NestedMap),
        Just(Last::Empty),
        Just(Last::Alias),
    ]
}

fn arb_trailer() -> impl Strategy<Value = u8> {
    0u8..4
}

prop_compose! {
    fn arb_compose()(
        unit in prop_oneof![Just(2usize), Just(4usize)],
        crlf in any::<bool>(),
        final_nl in any::<bool>(),
        services in prop::collection::vec((arb_last(), arb_trailer(), 0u8..5), 1..5),
    ) -> String {
        let eol = if crlf { "\r\n" } else { "\n" };
        let u = " ".repeat(unit);
        let ind = " ".repeat(unit * 2);
        let mut s = format!("x-env: &env{eol}{u}A: \"1\"{eol}services:{eol}");
        for (i, (last, trailer, style)) in services.iter().enumerate() {
            if *style == 0 {
                // a service written in flow style, possibly over two lines
                s.push_str(&format!("{u}svc{i}: {{image: \"node:20\", ports: [\"80:80\"],{eol}{ind}labels: {{a: \"}} #\"}}}} # c{eol}"));
            } else {
                s.push_str(&format!("{u}svc{i}:{eol}{ind}image: node:20 # é{eol}"));
                s.push_str(&last_value(last, &ind, &u, eol));
            }
            match trailer {
                1 => s.push_str(eol),
                2 => s.push_str(&format!("{ind}# commented: out{eol}")),
                3 => s.push_str(&format!("{eol}{u}# about the next one{eol}{eol}")),
                _ => {}
            }
        }
        if !final_nl {
            while s.ends_with('\n') {
                s.truncate(s.len() - if s.ends_with("\r\n") { 2 } else { 1 });
            }
        }
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn append_key_reparses_to_original_plus_key(text in arb_compose()) {
        let src = SourceFile::from_text("c.yml", Path::new("c.yml"), &text, 0o644);
        let c = compose::parse(0, &src).unwrap();
        let snippet = "healthcheck:\n  test: [\"CMD\", \"true\"]\n  retries: 3";
        for s in &c.services {
            let (e, x) = append_key(&src, &c.doc, &s.node, vec!["services".into(), s.name.clone()], "healthcheck", snippet).unwrap();
            let edits = vec![e];
            let new = edit::apply(&src.text, &edits);
            let r = edit::verify(&src, FileKind::Compose, &edits, &new, &[x]);
            prop_assert!(r.is_ok(), "service {}: {:?}\n--- input ---\n{}\n--- output ---\n{}", s.name, r, text, new);
        }
    }
}
