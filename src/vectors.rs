//! Hot loops compiled for the widest vectors the CPU has. The binary targets plain x86-64
//! (so it runs anywhere), whose 4-wide SSE the compiler often does not use for a loop with
//! divisions, roots or f64 sums; the same loop inlined into a function compiled for AVX-512
//! or AVX2, chosen at run time, is vectorised 16 or 8 wide.

/// Defines `fn $name(args) -> ret { body }` whose body is compiled three times (AVX-512F,
/// AVX2, plain) and run in the widest the CPU has (`is_x86_feature_detected!` caches its
/// answer). A function rather than a closure: a closure's body was not inlined into the
/// feature-enabled copy, and stayed scalar.
macro_rules! widest {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has just been found to have AVX-512F.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has just been found to have AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

pub(crate) use widest;
