//! ExecuTorch programs (`.pte`, flatbuffer identifier `ET12`): the operators of every execution
//! plan and its backend delegates, read by hand with the TFLite reader's flatbuffer walker. An
//! operator outside the namespaces ExecuTorch's own kernels implement is served by whatever the
//! application registered under that name, and a delegate by a backend library: each is
//! listed (`custom-operator`, info).

use super::tflite::{Fb, Names};
use super::{Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::input::Input;

/// Operator namespaces of ExecuTorch's own kernels.
const OWN: &[&str] = &[
    "aten",
    "prim",
    "quantized_decomposed",
    "dim_order_ops",
    "executorch_prim",
    "quantized",
];
/// Execution plans, operators and delegates read, at most.
const MAX_ITEMS: u32 = 1 << 16;

fn vector(fb: &mut Fb<'_>, table: u64, field: u64) -> Result<Vec<u64>, String> {
    let Some(at) = fb.field(table, field)? else {
        return Ok(Vec::new());
    };
    let v = fb.follow(at)?;
    let n = fb.u32(v)?;
    if n > MAX_ITEMS {
        return Err(fb.limit(format!("a vector of {n} items (more than {MAX_ITEMS})")));
    }
    (0..u64::from(n))
        .map(|i| {
            fb.step()?;
            fb.follow(v.saturating_add(4).saturating_add(i.saturating_mul(4)))
        })
        .collect()
}

/// (custom operators, delegate backends).
fn program(fb: &mut Fb<'_>) -> Result<(Vec<String>, Vec<String>), String> {
    let root = fb.follow(0)?;
    let (mut ops, mut delegates) = (Names::default(), Names::default());
    for plan in vector(fb, root, 1)? {
        for op in vector(fb, plan, 5)? {
            let Some(name) = fb.field(op, 0)? else {
                continue;
            };
            let name = fb.string(name)?;
            let ns = name.split("::").next().unwrap_or("");
            if !OWN.contains(&ns) {
                ops.add(name);
            }
        }
        for d in vector(fb, plan, 6)? {
            let Some(id) = fb.field(d, 0)? else { continue };
            delegates.add(fb.string(id)?);
        }
    }
    Ok((ops.list, delegates.list))
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    let (id, found) = super::tflite::read_model(input, cx, "executorch", program);
    if let Some((ops, delegates)) = found {
        for op in ops {
            cx.report(
                Code::CustomOperator,
                None,
                format!("operator '{op}': not one of ExecuTorch's own kernels; the runtime runs whatever the application registered under this name"),
                ev! {"op" => op},
            );
        }
        for d in delegates {
            cx.report(
                Code::CustomOperator,
                None,
                format!("delegate '{d}': part of the program runs in this backend's library"),
                ev! {"delegate" => d},
            );
        }
    }
    id
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use crate::finding::Code;

    /// A flatbuffer node, for building test programs.
    enum N {
        Str(&'static str),
        Vec(Vec<N>),
        Table(Vec<(u16, N)>),
    }

    /// Emit `n` at the end of `b` (its children after it: offsets point forward); its position.
    fn emit(b: &mut Vec<u8>, n: &N) -> usize {
        let patch = |b: &mut Vec<u8>, slot: usize, to: usize| {
            b[slot..slot + 4].copy_from_slice(&((to - slot) as u32).to_le_bytes());
        };
        match n {
            N::Str(s) => {
                let at = b.len();
                b.extend((s.len() as u32).to_le_bytes());
                b.extend(s.as_bytes());
                b.push(0);
                at
            }
            N::Vec(items) => {
                let at = b.len();
                b.extend((items.len() as u32).to_le_bytes());
                let slots = b.len();
                b.extend(vec![0u8; 4 * items.len()]);
                for (i, item) in items.iter().enumerate() {
                    let to = emit(b, item);
                    patch(b, slots + 4 * i, to);
                }
                at
            }
            N::Table(fields) => {
                let max = fields.iter().map(|(f, _)| *f).max().map_or(0, |m| m + 1);
                let vt = b.len();
                b.extend((4 + 2 * max).to_le_bytes());
                b.extend((4 + 4 * fields.len() as u16).to_le_bytes());
                for f in 0..max {
                    let k = fields.iter().position(|(x, _)| *x == f);
                    b.extend(k.map_or(0u16, |k| 4 + 4 * k as u16).to_le_bytes());
                }
                let t = b.len();
                b.extend(((t - vt) as i32).to_le_bytes());
                b.extend(vec![0u8; 4 * fields.len()]);
                for (k, (_, child)) in fields.iter().enumerate() {
                    let to = emit(b, child);
                    patch(b, t + 4 + 4 * k, to);
                }
                t
            }
        }
    }

    #[test]
    fn custom_operators_and_delegates() {
        let op = |name| N::Table(vec![(0, N::Str(name)), (1, N::Str("out"))]);
        let program = N::Table(vec![(
            1,
            N::Vec(vec![N::Table(vec![
                (0, N::Str("forward")),
                (
                    5,
                    N::Vec(vec![op("aten::add"), op("my_ops::foo"), op("my_ops::foo")]),
                ),
                (
                    6,
                    N::Vec(vec![N::Table(vec![(0, N::Str("XnnpackBackend"))])]),
                ),
            ])]),
        )]);
        let mut b = vec![0u8; 8];
        b[4..8].copy_from_slice(b"ET12");
        let root = emit(&mut b, &program);
        b[0..4].copy_from_slice(&(root as u32).to_le_bytes());
        let f = super::super::inspect_bytes("model.pte", &b, &Default::default());
        let msgs: Vec<(Code, &str)> = f.iter().map(|f| (f.code, f.message.as_str())).collect();
        assert_eq!(msgs.len(), 2, "{msgs:#?}");
        assert!(msgs[0].1.contains("my_ops::foo"));
        assert!(msgs[1].1.contains("XnnpackBackend"));
        // Cut short: not inspected, no panic.
        let n = b.len();
        let f = super::super::inspect_bytes("model.pte", &b[..n - 20], &Default::default());
        assert_eq!(f[0].code, Code::NotInspected, "{f:#?}");
    }

    /// Offsets may alias: `n` execution plans that are all one plan, whose `n` operators are all
    /// one operator, in 8n bytes. Visiting n^2 operators took 190 s for n = 4000; the visits are
    /// bounded, and a program past the bound is `limit-exceeded` (an error), not a pass.
    fn aliased(n: usize) -> Vec<u8> {
        let mut b = vec![0u8; 8];
        b[4..8].copy_from_slice(b"ET12");
        // One vtable for every table: fields 0 to 6 all at table + 4.
        let vt = b.len();
        b.extend(18u16.to_le_bytes());
        b.extend(8u16.to_le_bytes());
        for _ in 0..7 {
            b.extend(4u16.to_le_bytes());
        }
        b.extend([0, 0]);
        let table = |b: &mut Vec<u8>| {
            let t = b.len();
            b.extend(((t - vt) as i32).to_le_bytes());
            b.extend([0; 4]);
            t
        };
        let vector = |b: &mut Vec<u8>| {
            let v = b.len();
            b.extend((n as u32).to_le_bytes());
            b.extend(vec![0u8; 4 * n]);
            v
        };
        let point = |b: &mut Vec<u8>, slot: usize, to: usize| {
            b[slot..slot + 4].copy_from_slice(&((to - slot) as u32).to_le_bytes());
        };
        let program = table(&mut b);
        let plans = vector(&mut b);
        let plan = table(&mut b);
        let ops = vector(&mut b);
        let op = table(&mut b);
        let name = b.len();
        b.extend(5u32.to_le_bytes());
        b.extend(b"my::x\0\0\0");
        b[0..4].copy_from_slice(&(program as u32).to_le_bytes());
        point(&mut b, program + 4, plans);
        point(&mut b, plan + 4, ops);
        point(&mut b, op + 4, name);
        for i in 0..n {
            point(&mut b, plans + 4 + 4 * i, plan);
            point(&mut b, ops + 4 + 4 * i, op);
        }
        b
    }

    #[test]
    fn aliased_offsets_are_visited_within_a_bound() {
        // Within the bound: read, and the one operator reported once.
        let f = super::super::inspect_bytes("model.pte", &aliased(100), &Default::default());
        let codes: Vec<Code> = f.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec![Code::CustomOperator, Code::CustomOperator],
            "{f:#?}"
        );
        // 1,000 x 1,000 visits: past the bound.
        let f = super::super::inspect_bytes("model.pte", &aliased(1000), &Default::default());
        let codes: Vec<Code> = f.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec![Code::LimitExceeded], "{f:#?}");
    }
}
