//! Seeded randomness. Every random choice in the data side comes from a ChaCha8 generator whose
//! seed is mixed from the run seed and the choice's coordinates (purpose, epoch, sample index), so
//! results never depend on thread scheduling or on the order in which samples are processed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Purposes, so that e.g. the split and the epoch-0 shuffle of the same seed are unrelated.
pub(crate) const SPLIT: u64 = 0x5350_4c49;
pub(crate) const SHUFFLE: u64 = 0x5348_5546;
pub(crate) const AUGMENT: u64 = 0x4155_474d;

/// splitmix64 finaliser: a cheap, well-mixing bijection on u64.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A generator for the choice at `parts` (e.g. `[run_seed, AUGMENT, epoch, sample]`).
pub fn seeded_rng(parts: &[u64]) -> ChaCha8Rng {
    let mut h = 0u64;
    for &p in parts {
        h = mix(h ^ mix(p));
    }
    ChaCha8Rng::seed_from_u64(h)
}
