//! How deep a script value nests, and dropping one without recursion.
//!
//! Rhai drops a value by recursion: a closure that captured a closure that
//! captured a closure… a million deep overflows even the interpreter's
//! large stack when it is dropped. Within one input the operation budget
//! bounds how deep a script can build; the REPL's scope outlives inputs, so
//! there the depth is measured after each input and a value nested past
//! [`MAX_KEPT_DEPTH`] is taken apart here, level by level, on the heap.

use rhai::{Array, Dynamic, FnPtr, Map};
use std::collections::HashSet;

/// The deepest a value may nest and stay in the REPL's scope from one input
/// to the next, in levels (a closure capturing a closure is two: the
/// closure and its captured variable). No real use comes near it; the
/// interpreter's stack drops ten times as deep.
pub(crate) const MAX_KEPT_DEPTH: usize = 100_000;

/// Whether `value` nests more than `limit` levels deep (arrays, maps,
/// closures' captured values, shared variables). Each shared variable is
/// entered once, so a value that holds itself is not deep for that; the
/// walk stops at `limit`, so it never goes deeper than that itself.
pub(crate) fn deeper_than(value: &Dynamic, limit: usize) -> bool {
    walk(value, 0, limit, &mut HashSet::new())
}

fn walk(value: &Dynamic, depth: usize, limit: usize, seen: &mut HashSet<usize>) -> bool {
    if depth > limit {
        return true;
    }
    if value.is_shared() {
        // A variable held elsewhere too (a captured one): entered once.
        let Some(inner) = value.read_lock::<Dynamic>() else {
            return false;
        };
        if !seen.insert(cell(&inner)) {
            return false;
        }
        return walk(&inner, depth + 1, limit, seen);
    }
    if let Some(items) = value.read_lock::<Array>() {
        return items.iter().any(|v| walk(v, depth + 1, limit, seen));
    }
    if let Some(map) = value.read_lock::<Map>() {
        return map.values().any(|v| walk(v, depth + 1, limit, seen));
    }
    if let Some(f) = value.read_lock::<FnPtr>() {
        return f.iter_curry().any(|v| walk(v, depth + 1, limit, seen));
    }
    false
}

/// The identity of a shared variable: where its value lives.
fn cell(inner: &Dynamic) -> usize {
    std::ptr::from_ref(inner) as usize
}

/// Drops `value` without recursion, however deep it nests: what it holds is
/// taken out level by level onto a list on the heap. A shared variable that
/// something else still holds is only let go of (it stays whole for its
/// other holders); one held only here is taken apart.
pub(crate) fn dismantle(value: Dynamic) {
    let mut stack = vec![value];
    let mut seen = HashSet::new();
    while let Some(value) = stack.pop() {
        let value = if value.is_shared() {
            let id = match value.read_lock::<Dynamic>() {
                Some(inner) => cell(&inner),
                None => continue,
            };
            if !seen.insert(id) {
                // Seen before: held elsewhere as well, so letting go of
                // this reference frees nothing.
                continue;
            }
            // Its value when this was the last reference, else a copy one
            // level deep (whose parts are references to the same values).
            value.flatten()
        } else {
            value
        };
        if value.is_array() {
            if let Ok(items) = value.into_array() {
                stack.extend(items);
            }
        } else if value.is_map() {
            if let Some(map) = value.try_cast::<Map>() {
                stack.extend(map.into_values());
            }
        } else if value.is_fnptr() {
            if let Some(mut f) = value.try_cast::<FnPtr>() {
                stack.extend(f.iter_curry_mut().map(std::mem::take));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of `links` closures, each capturing the one before, as a
    /// script builds it (`let g = f; f = || g;`).
    fn chain(links: usize) -> Dynamic {
        rhai::Engine::new()
            .eval::<Dynamic>(&format!(
                "let f = || 0; for i in 0..{links} {{ let g = f; f = || g; }} f"
            ))
            .unwrap()
    }

    #[test]
    fn a_chain_of_closures_is_deep_by_two_levels_a_link() {
        let f = chain(1_000);
        assert!(deeper_than(&f, 1_900));
        assert!(!deeper_than(&f, 2_100));
        dismantle(f);
    }

    #[test]
    fn a_chain_deeper_than_the_stack_can_drop_is_dismantled_without_recursion() {
        // On a thread with a small stack: a recursive drop of this chain
        // overflows it (measured: a 200,000-link chain needs well over
        // 8 MiB), dismantling does not.
        let f = chain(200_000);
        let dropped = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                assert!(deeper_than(&f, 1_000));
                dismantle(f);
            })
            .unwrap()
            .join();
        assert!(dropped.is_ok());
    }

    #[test]
    fn values_held_elsewhere_stay_whole_and_cycles_end() {
        let engine = rhai::Engine::new();
        // `m` holds itself through a closure; `a` and `b` share `x`.
        let mut scope = rhai::Scope::new();
        let ast = engine
            .compile(
                "let m = #{}; m.f = || m; let x = [1, 2, 3]; let a = || x; let b = || x.len();",
            )
            .unwrap();
        engine.run_ast_with_scope(&mut scope, &ast).unwrap();
        let mut take = |n| std::mem::take(scope.get_mut(n).unwrap());
        let (m, a, b) = (take("m"), take("a"), take("b"));
        assert!(!deeper_than(&m, 100));
        dismantle(m);
        dismantle(a);
        let b = b.try_cast::<FnPtr>().unwrap();
        assert_eq!(b.call::<i64>(&engine, &ast, ()).unwrap(), 3);
    }

    #[test]
    fn arrays_and_maps_count_as_levels() {
        let mut v = Dynamic::from(1_i64);
        for i in 0..50 {
            v = if i % 2 == 0 {
                Dynamic::from_array(vec![v])
            } else {
                let mut m = Map::new();
                m.insert("k".into(), v);
                Dynamic::from_map(m)
            };
        }
        assert!(deeper_than(&v, 49));
        assert!(!deeper_than(&v, 50));
        dismantle(v);
    }
}
