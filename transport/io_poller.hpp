#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>

namespace asio {
class io_context;
} // namespace asio

namespace meshrt::transport {

/// The I/O that one thread waits for: an Asio io_context, with a shortcut
/// for plain descriptors. The I/O scheduler's worker (io_scheduler.hpp)
/// runs it whenever it has no actor to run, so that a datagram or a client's
/// frame wakes the thread that runs the actors instead of a thread of its
/// own that then wakes it. Asio code (the client gateway) uses context()
/// directly; its handlers run in that thread like those of watch().
class io_poller {
public:
  using handler = std::function<void()>;

  io_poller();
  ~io_poller();

  io_poller(const io_poller&) = delete;
  io_poller& operator=(const io_poller&) = delete;

  /// Runs `on_readable` in the polling thread while `fd` has data to read
  /// (a handler that leaves data is called again) until unwatch(fd). The
  /// descriptor stays the caller's. Throws std::system_error if the kernel
  /// refuses `fd`.
  void watch(int fd, handler on_readable);

  /// Stops calling the handler of `fd`. Outside the polling thread, returns
  /// only after a run of the handler under way has ended, so that what it
  /// uses may go away next; inside, the handler may be the caller.
  void unwatch(int fd);

  /// Waits for a handler to be ready, without limit (`timeout_us` < 0) or
  /// up to `timeout_us` microseconds (Asio waits in whole milliseconds,
  /// rounded up), then runs every handler ready by then; with 0, runs the
  /// ready ones without waiting. The calling thread becomes the polling
  /// thread. Returns how many handlers ran.
  size_t run(long timeout_us);

  /// Makes a run(-1) under way, or the next one, return (any thread).
  void wake();

  /// Whether the calling thread is the polling thread.
  bool in_polling_thread() const {
    return poller_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

  /// The io_context that the polling thread runs.
  asio::io_context& context();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::atomic<std::thread::id> poller_{};
};

} // namespace meshrt::transport
