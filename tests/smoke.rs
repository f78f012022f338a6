mod common;
use common::*;

#[test]
fn clean_solution_passes() {
    let f = Fixture::new();
    solution(
        &f,
        "src",
        "Billing",
        "contoso",
        &[("contoso_invoiceapproval_outlook", "Invoice approval mail", "shared_office365")],
    );
    flow(
        &f,
        "src",
        "Send invoice",
        "625ac674-7d13-2184-4d44-fb6c6d48c11c",
        1,
        &[("shared_office365", "contoso_invoiceapproval_outlook", "shared_office365")],
    );
    let out = connref(f.path(), &["check"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "connref: no findings (1 solution, 1 flow, 1 reference checked; no connref.toml)\n"
    );
}
