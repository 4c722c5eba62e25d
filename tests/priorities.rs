//! Today's Priorities, as `chief priorities` prints them: on the houston export, the reader
//! U061A5N1G (Neeraj Tandon) at the end of 2015-06-09 — Micah asked him in #general for content
//! for the July meetup page and in #sponsors to contact Continuum; he promised both.

mod common;

use chief::config::Config;
use chief::features::priorities::{PrioritiesArgs, priorities_in, to_json};
use chief::platform::db::TempDb;

#[tokio::test]
async fn the_meetup_page_request_is_open_with_its_source() {
    common::init();
    let scratch = TempDb::new().await.unwrap();
    let args = PrioritiesArgs {
        export: common::fixtures().join("slack-exports/houston"),
        user: "U061A5N1G".into(),
        date: Some("2015-06-09".parse().unwrap()),
        json: true,
    };
    let made = priorities_in(&scratch, Config::for_database("sqlite::memory:"), &args)
        .await
        .unwrap();
    let json = to_json(&made);
    assert_eq!(json["user"], "U061A5N1G");
    assert_eq!(json["date"], "2015-06-09");
    let items = json["items"].as_array().unwrap();
    let meetup = items
        .iter()
        .find(|i| i["kind"] == "request" && i["text"].as_str().unwrap().contains("meetup.com page"))
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(meetup["state"], "open", "{meetup:#}");
    let source = &meetup["sources"][0];
    assert_eq!(source["channel"], "C061A2UGJ", "#general: {meetup:#}");
    assert!(
        source["permalink"]
            .as_str()
            .unwrap()
            .contains("/archives/C061A2UGJ/p"),
        "{meetup:#}"
    );
    // The Continuum ask (#sponsors, an archived channel) and the promise to email are watched.
    assert!(
        items
            .iter()
            .any(|i| i["kind"] == "request" && i["text"].as_str().unwrap().contains("Continuum")),
        "{json:#}"
    );
    assert!(
        items
            .iter()
            .any(|i| i["kind"] == "commitment" && i["text"].as_str().unwrap().contains("email")),
        "{json:#}"
    );
    // Only what concerns him: nobody else's requests.
    assert!(
        items
            .iter()
            .all(|i| i["kind"] != "request" || i["text"].as_str().unwrap().contains("Neeraj")),
        "{json:#}"
    );
}
