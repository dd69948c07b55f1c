//! The fused AdamW update on f32 slices: one pass reads each weight, gradient and moment once.

use rayon::prelude::*;

use super::AdamWStep;

/// Values per rayon task: a task should outweigh handing it to another thread, so a
/// BatchNorm's few hundred values stay on one and a convolution's are split.
const MIN_VALUES_PER_TASK: usize = 32 * 1024;

/// The per-update scalars, as the loop uses them.
#[derive(Clone, Copy)]
struct Scalars {
    beta_1: f32,
    beta_2: f32,
    f1: f32,
    f2: f32,
    c1: f32,
    c2: f32,
    epsilon: f32,
    decay: f32,
    lr: f32,
}

/// Updates `param`, `m` and `v` in place from `grad`, the same arithmetic as
/// [`super::burn_adamw`] in the same order, so each value rounds as it does there.
pub fn adamw_update(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], step: AdamWStep) {
    assert!(
        grad.len() == param.len() && m.len() == param.len() && v.len() == param.len(),
        "adamw: parameter, gradient and moments differ in length"
    );
    let (beta_1, beta_2) = (step.adamw.beta_1, step.adamw.beta_2);
    let (c1, c2) = step.corrections();
    let s = Scalars {
        beta_1,
        beta_2,
        f1: 1.0 - beta_1,
        f2: 1.0 - beta_2,
        c1,
        c2,
        epsilon: step.adamw.epsilon,
        // Multiplying by exactly 1 leaves a weight as Burn's skipped decay does.
        decay: step.decay_factor().map_or(1.0, |d| d as f32),
        lr: step.lr as f32,
    };
    param
        .par_chunks_mut(MIN_VALUES_PER_TASK)
        .zip(grad.par_chunks(MIN_VALUES_PER_TASK))
        .zip(m.par_chunks_mut(MIN_VALUES_PER_TASK))
        .zip(v.par_chunks_mut(MIN_VALUES_PER_TASK))
        .for_each(|(((p, g), m), v)| update(p, g, m, v, s));
}

crate::vectors::widest! {
    /// Separate multiplies and adds (no fused multiply-add), as Burn's tensor ops round;
    /// compiled for the widest vectors the CPU has (otherwise the divisions and roots stay
    /// scalar).
    fn update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: Scalars) {
        let n = p.len();
        let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
        for i in 0..n {
            let gi = g[i];
            let mi = m[i] * s.beta_1 + gi * s.f1;
            let vi = v[i] * s.beta_2 + gi * gi * s.f2;
            m[i] = mi;
            v[i] = vi;
            let delta = (mi / s.c1) / ((vi / s.c2).sqrt() + s.epsilon);
            p[i] = p[i] * s.decay - delta * s.lr;
        }
    }
}
