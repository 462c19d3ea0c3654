//! With fixed CPU costs the same seed gives exactly the same call; another seed does not.

mod common;

use rtvc_codec::CodecKind;
use rtvc_netsim::Loss;

fn lossy(seed: u64) -> String {
    let r = common::call::run(CodecKind::Av1, 4.0, |c| {
        c.network.trace = "builtin:lte".into();
        c.network.jitter_ms = 5.0;
        c.network.loss = Loss::Random(0.02);
        c.seed = seed;
    });
    format!("{:?}", r.streams)
}

#[test]
fn same_seed_same_call() {
    let a = lossy(7);
    assert_eq!(a, lossy(7));
    assert_ne!(a, lossy(8));
}
