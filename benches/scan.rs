//! Criterion benchmarks of the hot paths. Peer comparisons: scripts/bench-peers.sh.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use modelgate::inspect::{inspect_bytes, Limits};

/// A pickle like the peer corpus: a dict of lists of floats, ints and strings (~2.3 MB).
fn corpus_pickle(proto: u8) -> Vec<u8> {
    let mut p = vec![0x80, proto, b'}'];
    let memo = |p: &mut Vec<u8>, n: &mut u32| {
        if proto >= 4 {
            p.push(0x94);
        } else {
            p.push(b'r');
            p.extend(n.to_le_bytes());
        }
        *n += 1;
    };
    let mut n = 0u32;
    memo(&mut p, &mut n);
    p.push(b'(');
    for k in 0..60 {
        let key = format!("column_{k}");
        p.push(b'X');
        p.extend((key.len() as u32).to_le_bytes());
        p.extend(key.as_bytes());
        memo(&mut p, &mut n);
        p.push(b']');
        memo(&mut p, &mut n);
        for chunk in 0..4 {
            p.push(b'(');
            for i in 0..1000u32 {
                match (k + chunk) % 3 {
                    0 => {
                        p.push(b'G');
                        p.extend((f64::from(i) * 0.5).to_be_bytes());
                    }
                    1 => {
                        p.push(b'J');
                        p.extend((i as i32).to_le_bytes());
                    }
                    _ => {
                        let s = format!("value-{i}");
                        p.push(b'X');
                        p.extend((s.len() as u32).to_le_bytes());
                        p.extend(s.as_bytes());
                        memo(&mut p, &mut n);
                    }
                }
            }
            p.push(b'e');
        }
    }
    p.extend(b"u.");
    p
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    for proto in [2u8, 4] {
        let data = corpus_pickle(proto);
        let mut g = c.benchmark_group(format!("pickle_p{proto}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function("inspect", |b| {
            b.iter(|| {
                let f = inspect_bytes("x.pkl", &data, &limits);
                assert!(f.is_empty());
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
