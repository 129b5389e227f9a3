// Work sharing on XLA's intra-op thread pool (ffi::ThreadPool) for the FFI handlers: the one threading mechanism
// galaxyfit uses. With a single-threaded (or absent) pool the tasks run inline on the calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "xla/ffi/api/ffi.h"

namespace galaxyfit {

// Runs f(0) ... f(n_tasks - 1) on the calling thread and up to num_threads() - 1 pool workers, and returns when all
// are done. Workers that start after every task is claimed touch only the shared counters.
template <class F>
void ffi_parallel_for(xla::ffi::ThreadPool& pool, int64_t n_tasks, F&& f) {
  const int64_t n_workers = std::min<int64_t>(pool.num_threads(), n_tasks) - 1;
  if (n_workers <= 0) {
    for (int64_t i = 0; i < n_tasks; ++i) f(i);
    return;
  }
  struct State {
    std::atomic<int64_t> next{0};
    int64_t done = 0;
    std::mutex mutex;
    std::condition_variable cv;
  };
  auto state = std::make_shared<State>();
  auto work = [state, n_tasks, &f]() {
    int64_t finished = 0;
    for (int64_t i = state->next.fetch_add(1); i < n_tasks; i = state->next.fetch_add(1)) {
      f(i);
      ++finished;
    }
    if (finished > 0) {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->done += finished;
      if (state->done == n_tasks) state->cv.notify_all();
    }
  };
  for (int64_t w = 0; w < n_workers; ++w) {
    auto task = work;  // Schedule takes ownership of an rvalue functor
    pool.Schedule(std::move(task));
  }
  work();
  std::unique_lock<std::mutex> lock(state->mutex);
  state->cv.wait(lock, [&] { return state->done == n_tasks; });
}

}  // namespace galaxyfit
