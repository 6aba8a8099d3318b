mod common;
use memtriage_report::*;
#[test]
fn print_outputs() {
    let r = common::sample_report();
    let mut out = Vec::new();
    write_report_json(&mut out, &r).unwrap();
    println!("=====JSON\n{}", String::from_utf8(out).unwrap());
    let mut out = Vec::new();
    write_report_jsonl(
        &mut out,
        &r,
        &JsonlOptions {
            host_name: Some("WS01".into()),
        },
    )
    .unwrap();
    println!("=====JSONL\n{}", String::from_utf8(out).unwrap());
    let mut out = Vec::new();
    write_report_table(&mut out, &r).unwrap();
    println!("=====TABLE\n{}", String::from_utf8(out).unwrap());
}
