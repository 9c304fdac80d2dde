#include "transport/io_poller.hpp"

#include <mutex>
#include <unordered_map>

#include <asio.hpp>

namespace meshrt::transport {

namespace {

/// One watched descriptor. Its Asio object is touched by the polling thread
/// in the handler and by unwatch(), one at a time under `running`.
struct watch_entry {
  explicit watch_entry(asio::io_context& io, int fd) : sd(io, fd) {}

  asio::posix::stream_descriptor sd;
  io_poller::handler on_readable;
  /// Held while the handler runs or the wait is armed or let go.
  std::mutex running;
  bool removed = false;
};

void arm(const std::shared_ptr<watch_entry>& e) {
  e->sd.async_wait(asio::posix::stream_descriptor::wait_read,
                   [weak = std::weak_ptr<watch_entry>{e}](asio::error_code ec) {
                     auto e = weak.lock();
                     if (ec || !e)
                       return;
                     std::lock_guard<std::mutex> guard{e->running};
                     if (e->removed)
                       return;
                     e->on_readable();
                     if (!e->removed) // the handler may have let it go
                       arm(e);
                   });
}

/// Gives the descriptor back to its owner: the wait is cancelled, the
/// descriptor stays open.
void let_go(watch_entry& e) {
  e.removed = true;
  e.sd.release();
}

} // namespace

struct io_poller::impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::mutex mtx; // entries
  std::unordered_map<int, std::shared_ptr<watch_entry>> entries;
};

io_poller::io_poller() : impl_(std::make_unique<impl>()) {}

io_poller::~io_poller() {
  // The descriptors go back before the io_context ends.
  std::lock_guard<std::mutex> guard{impl_->mtx};
  for (auto& [fd, e] : impl_->entries) {
    std::lock_guard<std::mutex> running{e->running};
    let_go(*e);
  }
  impl_->entries.clear();
}

void io_poller::watch(int fd, handler on_readable) {
  auto e = std::make_shared<watch_entry>(impl_->io, fd);
  e->on_readable = std::move(on_readable);
  {
    std::lock_guard<std::mutex> guard{e->running};
    arm(e);
  }
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->entries[fd] = std::move(e);
}

void io_poller::unwatch(int fd) {
  std::shared_ptr<watch_entry> e;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    auto i = impl_->entries.find(fd);
    if (i == impl_->entries.end())
      return;
    e = std::move(i->second);
    impl_->entries.erase(i);
  }
  if (in_polling_thread()) {
    let_go(*e); // no run of its handler is under way but maybe the caller's
    return;
  }
  std::lock_guard<std::mutex> guard{e->running};
  let_go(*e);
}

size_t io_poller::run(long timeout_us) {
  poller_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  if (timeout_us == 0)
    return impl_->io.poll();
  auto ran = timeout_us < 0 ? impl_->io.run_one()
                            : impl_->io.run_one_for(std::chrono::microseconds{timeout_us});
  // One epoll_wait may have made many handlers ready: run them all now, so
  // that what they hand to actors is there before any actor runs (one
  // packet for a burst of frames rather than one each).
  if (ran > 0)
    ran += impl_->io.poll();
  return ran;
}

void io_poller::wake() {
  asio::post(impl_->io, [] {});
}

asio::io_context& io_poller::context() {
  return impl_->io;
}

} // namespace meshrt::transport
