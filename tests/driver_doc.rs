//! docs/DRIVER.md shows two complete drivers; each listing must be the file it names
//! (`<!-- example: PATH -->` before a fenced block), so the page never shows code that was
//! not built (the Rust example) or run (the Python one, in `cli/tests/drivers.rs`).

use std::fs;

#[test]
fn every_driver_listed_in_the_doc_is_the_file_it_names() {
    let doc = fs::read_to_string("docs/DRIVER.md").expect("docs/DRIVER.md");
    let mut checked = 0;
    let mut rest = doc.as_str();
    while let Some(at) = rest.find("<!-- example: ") {
        rest = &rest[at + "<!-- example: ".len()..];
        let (path, after) = rest.split_once(" -->").expect("a closed marker");
        let fence = after.find("```").expect("a fenced block after the marker");
        let body_start = fence + after[fence..].find('\n').expect("a fence line") + 1;
        let body_len = after[body_start..].find("\n```").expect("a closing fence") + 1;
        let listed = &after[body_start..body_start + body_len];
        let file = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            listed, file,
            "docs/DRIVER.md's listing of {path} differs from the file"
        );
        checked += 1;
        rest = &after[body_start + body_len..];
    }
    assert_eq!(checked, 2, "the doc lists two drivers");
}
