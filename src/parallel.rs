//! One work queue over the machine's cores, for the places where connref has independent
//! pieces of work: the files to parse, the rule families to run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// `work(0)`, `work(1)`, … `work(count - 1)`, in that order, computed on one thread per core
/// at most: each thread takes the next index when it is done, so long and short pieces even
/// out. More threads than cores only made the pieces wait for each other (the rule families
/// took 4.6 ms side by side on two cores, 3.6 ms one after another). The calling thread only
/// waits: making it one of the workers was measured, and took 4 % longer.
pub fn map<T: Send>(count: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count);
    if threads <= 1 {
        return (0..count).map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return mine;
                        }
                        mine.push((i, work(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// `work` on each item of `start` and on each item that work adds to its second argument, on
/// one thread per core: for trees whose shape is only known as they are walked (folders).
/// Results come in no particular order.
///
/// The calling thread works alone for the first [`ALONE`], and starts helpers after that
/// when more items wait than it can take next. A repository of a few hundred flows is listed
/// in about 0.3 ms on one thread, and starting a helper for it made that 0.4 to 0.6 ms; the
/// size of a folder is only known once it is listed, so the time spent so far stands for what
/// is left (on a slow disk, even a small tree gets its helpers).
pub fn explore<T: Send, R: Send>(start: Vec<T>, work: impl Fn(T, &mut Vec<T>) -> R + Sync) -> Vec<R> {
    let started = std::time::Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The items waiting, and how many are being worked on (each may add more).
    let queue = Mutex::new((start, 0usize));
    let changed = Condvar::new();
    let lock = || queue.lock().unwrap_or_else(|e| e.into_inner());
    // Works until nothing waits and nothing is worked on; after each item, `waiting` is told
    // how many items wait.
    let worker = |mine: &mut Vec<R>, waiting: &mut dyn FnMut(usize)| {
        let mut found = Vec::new();
        loop {
            let item = {
                let mut q = lock();
                loop {
                    if let Some(item) = q.0.pop() {
                        q.1 += 1;
                        break Some(item);
                    }
                    if q.1 == 0 {
                        break None;
                    }
                    q = changed.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            let Some(item) = item else {
                // Nothing waits and nothing is worked on: no more can come.
                changed.notify_all();
                return;
            };
            let working = Working {
                queue: &queue,
                changed: &changed,
            };
            mine.push(work(item, &mut found));
            let left = {
                let mut q = lock();
                q.0.append(&mut found);
                q.0.len()
            };
            drop(working);
            waiting(left);
        }
    };
    std::thread::scope(|scope| {
        let mut helpers = Vec::new();
        let mut mine = Vec::new();
        worker(&mut mine, &mut |left| {
            // One item is the caller's next; each further one may go to a helper.
            while left > helpers.len() + 1 && helpers.len() + 1 < threads && started.elapsed() >= ALONE {
                helpers.push(scope.spawn(|| {
                    let mut theirs = Vec::new();
                    worker(&mut theirs, &mut |_| {});
                    theirs
                }));
            }
        });
        for helper in helpers {
            mine.extend(helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        mine
    })
}

/// How long [`explore`] works on the calling thread alone.
const ALONE: std::time::Duration = std::time::Duration::from_micros(500);

/// One item being worked on: done when dropped, even by a panic (the other threads would
/// otherwise wait for it forever instead of ending and passing the panic on).
struct Working<'q, T> {
    queue: &'q Mutex<(Vec<T>, usize)>,
    changed: &'q Condvar,
}

impl<T> Drop for Working<'_, T> {
    fn drop(&mut self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).1 -= 1;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exploring_reaches_every_item_that_work_adds() {
        // A tree of numbers: each below 1,000 has children 2n + 1 and 2n + 2.
        let mut seen = explore(vec![0usize], |n, more| {
            if n < 1000 {
                more.extend([2 * n + 1, 2 * n + 2]);
            }
            n
        });
        seen.sort_unstable();
        assert_eq!(seen, (0..=2000).collect::<Vec<_>>());
        assert!(explore(Vec::<usize>::new(), |n, _| n).is_empty());
    }

    #[test]
    fn a_panic_while_exploring_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            explore(vec![0usize], |n, more| {
                assert!(n != 7, "seven");
                if n < 100 {
                    more.extend([2 * n + 1, 2 * n + 2]);
                }
            })
        });
        assert!(caught.is_err());
    }

    #[test]
    fn a_chain_is_walked_on_the_calling_thread_and_a_wide_tree_on_more() {
        let me = std::thread::current().id();
        // Each item adds the next: never more than one waits.
        let chain = explore(vec![0usize], |n, more| {
            if n < 50 {
                more.push(n + 1);
            }
            std::thread::current().id()
        });
        assert_eq!(chain.len(), 51);
        assert!(chain.iter().all(|&id| id == me), "a chain started helper threads");
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // A root with many slow leaves: with more than one core, helpers take some.
        let wide = explore(vec![None], |leaf: Option<usize>, more| {
            match leaf {
                None => more.extend((0..40).map(Some)),
                Some(_) => std::thread::sleep(std::time::Duration::from_millis(2)),
            }
            std::thread::current().id()
        });
        assert_eq!(wide.len(), 41);
        let threads: std::collections::HashSet<_> = wide.into_iter().collect();
        assert_eq!(threads.len() > 1, cores > 1, "{} threads on {cores} cores", threads.len());
        assert!(threads.len() <= cores);
    }

    #[test]
    fn results_come_in_the_order_of_the_work() {
        // Uneven pieces, so that threads finish out of order.
        let squares = map(200, |i| {
            std::thread::sleep(std::time::Duration::from_micros((i % 7) as u64 * 50));
            i * i
        });
        assert_eq!(squares, (0..200).map(|i| i * i).collect::<Vec<_>>());
        assert!(map(0, |i| i).is_empty());
        assert_eq!(map(1, |i| i + 1), vec![1]);
    }
}
