//! The file connector on a real directory: rolling by count and by age,
//! CSV columns, what a reader sees, and refusals.

use std::fs;
use std::path::{Path, PathBuf};

use takt_core::store::DeliveryState;
use takt_testkit::eventually;

use crate::hub::{Hub, WAIT, eventually_async, subscription};

/// The completed files (sorted by name) and the `.part` files in `dir`.
fn files(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut done = Vec::new();
    let mut parts = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if name.ends_with(".part") {
            parts.push(path);
        } else {
            done.push(path);
        }
    }
    done.sort();
    (done, parts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_files_roll_by_count_and_by_age_and_hold_each_message_once() {
    let out = tempfile::tempdir().unwrap();
    let connector = format!(
        "kind = \"file\"\ndir = \"{}\"\nprefix = \"goods\"\nroll_records = 3\nroll_secs = 2",
        out.path().display()
    );
    let mut hub = Hub::new(subscription(&connector, true, "")).await;
    for _ in 0..7 {
        hub.accept(&["A"]).await;
    }
    // The sixth line completes the second file before the seventh is
    // written: wait for both.
    assert!(
        eventually(WAIT, || {
            let (done, parts) = files(out.path());
            done.len() == 2 && parts.len() == 1
        })
        .await,
        "two full files of three, and the seventh line waits in a hidden .part file: {:?}",
        files(out.path())
    );
    assert!(
        eventually(WAIT, || {
            let (done, parts) = files(out.path());
            parts.is_empty() && done.len() == 3
        })
        .await,
        "the last file is completed by age"
    );
    let (done, _) = files(out.path());
    let mut numbers = Vec::new();
    for file in &done {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("goods-") && name.ends_with(".ndjson"),
            "{name}"
        );
        for line in fs::read_to_string(file).unwrap().lines() {
            let body: serde_json::Value = serde_json::from_str(line).unwrap();
            numbers.push(body["data"]["n"].as_u64().unwrap());
        }
    }
    assert_eq!(
        numbers,
        (1..=7).collect::<Vec<_>>(),
        "every message once, in order"
    );
    assert!(hub.records(DeliveryState::Pending).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_files_have_a_header_and_the_configured_columns() {
    let out = tempfile::tempdir().unwrap();
    let connector = format!(
        "kind = \"file\"\ndir = \"{}\"\nformat = \"csv\"\ndelimiter = \";\"\nroll_records = 2\ncolumns = [{{ name = \"event\", pointer = \"/id\" }}, {{ name = \"order\", pointer = \"/data/key\" }}, {{ name = \"n\", pointer = \"/data/n\" }}, {{ name = \"missing\", pointer = \"/data/none\" }}]",
        out.path().display()
    );
    let mut hub = Hub::new(subscription(&connector, true, "")).await;
    hub.accept(&["A;1", "A;1"]).await;
    assert!(eventually(WAIT, || files(out.path()).0.len() == 1).await);
    let (done, _) = files(out.path());
    assert!(done[0].to_str().unwrap().ends_with(".csv"));
    assert_eq!(
        fs::read_to_string(&done[0]).unwrap(),
        "event;order;n;missing\nevt-0001;\"A;1\";1;\nevt-0002;\"A;1\";2;\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_hub_completes_its_open_file_and_a_bad_line_is_dead_lettered() {
    let out = tempfile::tempdir().unwrap();
    let connector = format!(
        "kind = \"file\"\ndir = \"{}\"\nformat = \"csv\"\ncolumns = [{{ name = \"order\", pointer = \"/data/key\" }}]",
        out.path().display()
    );
    let mut hub = Hub::new(subscription(&connector, true, "")).await;
    // The second order number holds a line break (JSON "X\nY"); the
    // others share a key, so their lines keep their order.
    hub.accept(&["A", "X\\nY", "A"]).await;
    let settled = eventually_async(WAIT, || async {
        let status = hub.engine().status().await.unwrap();
        status[0].cursor >= 3 && status[0].dead_lettered == 1
    })
    .await;
    assert!(settled, "{:?}", hub.engine().status().await);
    let dead = hub.records(DeliveryState::DeadLettered).await;
    assert_eq!(dead[0].attempts, 1, "refused at once");
    assert!(
        dead[0].last_response.contains("line break"),
        "{:?}",
        dead[0]
    );
    assert_eq!(
        files(out.path()).0.len(),
        0,
        "nothing visible before the file is complete"
    );

    hub.engine().stop().await;
    drop(hub.engine.take());
    let (done, parts) = files(out.path());
    assert_eq!((done.len(), parts.len()), (1, 0), "completed at shutdown");
    assert_eq!(fs::read_to_string(&done[0]).unwrap(), "order\nA\nA\n");
}
