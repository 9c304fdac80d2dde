#include "transport/io_scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>

#include <sched.h>

#include <caf/all.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/unprofiled.hpp>
#include <caf/scheduler/coordinator.hpp>

#include "transport/atoms.hpp"
#include "transport/idle_spin_window.hpp"
#include "transport/io_poller.hpp"
#include "transport/lean_worker.hpp"

namespace meshrt::transport {

namespace {

/// Actor runs between two looks at the sockets while actors have work:
/// a datagram waits at most this many runs, and an epoll_wait costs one
/// system call per this many runs.
constexpr uint32_t runs_per_look = 8;

/// Most actor runs a flush asked for with flush_when_idle() waits while
/// other jobs keep coming (the queue never empties under overload).
constexpr uint32_t runs_per_idle_flush = 32;

/// Where set_idle_spin() leaves the idle spin for the coordinator: its
/// base and the longest it may grow to.
constexpr char idle_spin_key[] = "meshrt.idle-spin-us";
constexpr char idle_spin_max_key[] = "meshrt.idle-spin-max-us";

/// CAF's timers (delayed messages, request and receive timeouts) kept for
/// the worker instead of for a clock thread: the worker ships what is due
/// before it looks for a job and waits in the poller only until the next
/// one is due. So an actor that arms a timer, which most message exchanges
/// do (retransmission ticks, request timeouts), wakes no thread, and a
/// timer that fires wakes only the worker. Other threads' timers wake it
/// when they are due before it would wake anyway.
///
/// It must be a thread_safe_actor_clock to stand in for CAF's (the
/// coordinator returns that type); it uses only the schedule of the simple
/// clock underneath, under its own lock, never the queue and thread of the
/// thread-safe one.
// The calls to the simple clock's members skip the thread-safe clock's on
// purpose (above): NOLINTBEGIN(bugprone-parent-virtual-call)
class worker_clock final : public caf::detail::thread_safe_actor_clock {
public:
  using base = caf::detail::simple_actor_clock;

  explicit worker_clock(io_poller& poller) : poller_(poller) {}

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override {
    add([&] { base::set_ordinary_timeout(t, self, type, id); });
  }

  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    add([&] { base::set_request_timeout(t, self, id); });
  }

  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override {
    add([&] { base::set_multi_timeout(t, self, type, id); });
  }

  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    add([&] { base::schedule_message(t, std::move(receiver), std::move(content)); });
  }

  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override {
    add(
      [&] { base::schedule_message(t, std::move(target), std::move(sender), std::move(content)); });
  }

  // A cancellation never needs the worker earlier.

  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override {
    std::lock_guard<std::mutex> guard{mtx_};
    base::cancel_ordinary_timeout(self, type);
  }

  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override {
    std::lock_guard<std::mutex> guard{mtx_};
    base::cancel_request_timeout(self, id);
  }

  void cancel_timeouts(caf::abstract_actor* self) override {
    std::lock_guard<std::mutex> guard{mtx_};
    base::cancel_timeouts(self);
  }

  void cancel_all() override {
    std::lock_guard<std::mutex> guard{mtx_};
    base::cancel_all();
  }

  /// Ships what is due (the worker, before it looks for a job).
  void ship_due() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!schedule_.empty())
      trigger_expired_timeouts(); // compares the head with now() itself
  }

  /// How long the worker may wait, in microseconds (-1: until woken); from
  /// now on a timer due earlier wakes it.
  long begin_wait() {
    std::lock_guard<std::mutex> guard{mtx_};
    waiting_ = true;
    if (schedule_.empty()) {
      waiting_until_ = time_point::max();
      return -1;
    }
    waiting_until_ = schedule_.begin()->first;
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(waiting_until_ - now());
    return std::max<long>(left.count(), 1);
  }

  /// The worker woke up.
  void end_wait() {
    std::lock_guard<std::mutex> guard{mtx_};
    waiting_ = false;
  }

private:
  template<class F>
  void add(F f) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      f();
      wake = waiting_ && schedule_.begin()->first < waiting_until_ && !poller_.in_polling_thread();
      if (wake)
        waiting_until_ = schedule_.begin()->first;
    }
    if (wake)
      poller_.wake();
  }

  io_poller& poller_;
  std::mutex mtx_;
  bool waiting_ = false;
  time_point waiting_until_;
};
// NOLINTEND(bugprone-parent-virtual-call)

class io_policy;

/// The coordinator of the policy below; its workers are lean ones
/// (lean_worker.hpp).
using io_coordinator_base = caf::scheduler::coordinator<lean_policy<io_policy>>;

/// A CAF scheduling policy for one worker: a central FIFO of jobs, and an
/// io_poller to wait in when it is empty. CAF calls the member templates
/// (see caf/policy/work_sharing.hpp for the concept).
class io_policy : public caf::policy::unprofiled {
public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator* parent) :
      idle_spin(caf::get_or(parent->system().config(), idle_spin_key, int64_t{0})),
      idle_spin_max(caf::get_or(parent->system().config(), idle_spin_max_key, int64_t{0})) {}
    /// How long the worker looks for work before it sleeps (0: not at all),
    /// and the longest that grows to (idle_spin_window).
    std::chrono::microseconds idle_spin;
    std::chrono::microseconds idle_spin_max;
    std::mutex mtx;
    std::deque<caf::resumable*> queue;
    /// The worker waits in the poller: a new job must wake it.
    bool sleeping = false;
    /// How many times it went to sleep (io_worker_sleeps).
    std::atomic<int64_t> sleeps{0};
    io_poller poller;
    worker_clock clock{poller};
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator* parent) :
      coordinator(&static_cast<io_coordinator_base*>(parent)->data()),
      spin(coordinator->idle_spin, coordinator->idle_spin_max) {}
    coordinator_data* coordinator;
    uint32_t runs = 0;
    /// Actors waiting for (flush_atom) when the queue empties, in the order
    /// they asked (the worker's thread only).
    std::vector<caf::strong_actor_ptr> idle_flushes;
    /// Runs since the oldest of them asked.
    uint32_t idle_flush_runs = 0;
    /// How long the worker, out of work, keeps looking before it sleeps.
    idle_spin_window spin;
    /// Since when it has been out of work, and until when it keeps looking
    /// (the clock's epoch: it has not run dry since its last job).
    std::chrono::steady_clock::time_point dry_since;
    std::chrono::steady_clock::time_point spin_until;
  };

  template<class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    push(d(self), job);
  }

  template<class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job);
  }

  template<class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job);
  }

  template<class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job);
  }

  template<class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& cd = d(self->parent());
    auto& wd = d(self);
    current_worker = &wd;
    if (++wd.runs >= runs_per_look) {
      wd.runs = 0;
      cd.poller.run(0);
    }
    if (!wd.idle_flushes.empty() && ++wd.idle_flush_runs >= runs_per_idle_flush)
      send_idle_flushes(wd);
    for (;;) {
      cd.clock.ship_due();
      bool spin = false;
      {
        std::lock_guard<std::mutex> guard{cd.mtx};
        if (!cd.queue.empty()) {
          auto job = cd.queue.front();
          cd.queue.pop_front();
          if (wd.dry_since != std::chrono::steady_clock::time_point{}) {
            wd.spin.work_came_after(std::chrono::steady_clock::now() - wd.dry_since);
            wd.dry_since = {};
            wd.spin_until = {};
          }
          return job;
        }
        spin = wd.idle_flushes.empty() && spinning(wd);
        // A spinning worker sees new jobs without being woken.
        cd.sleeping = wd.idle_flushes.empty() && !spin;
      }
      if (!wd.idle_flushes.empty()) { // the newest one's flush is the next job
        send_newest_idle_flush(wd);
        continue;
      }
      if (spin) {
        // Nothing ready: give the core to whatever else wants it, then look
        // again (timers and the queue at the top of the loop).
        if (cd.poller.run(0) == 0)
          sched_yield();
        continue;
      }
      // Jobs that the handlers enqueue join the queue without a wake-up
      // (push() sees the polling thread).
      cd.sleeps.fetch_add(1, std::memory_order_relaxed);
      cd.poller.run(cd.clock.begin_wait());
      cd.clock.end_wait();
      {
        std::lock_guard<std::mutex> guard{cd.mtx};
        cd.sleeping = false;
      }
      wd.runs = 0;
    }
  }

  template<class Worker, class UnaryFunction>
  void foreach_resumable(Worker*, UnaryFunction) {
    // the worker keeps no jobs of its own
  }

  template<class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator* self, UnaryFunction f) {
    // The jobs left at shutdown; f runs without the lock (it may enqueue).
    auto& cd = d(self);
    std::deque<caf::resumable*> left;
    {
      std::lock_guard<std::mutex> guard{cd.mtx};
      left.swap(cd.queue);
    }
    for (auto job : left)
      f(job);
  }

  /// The data of the worker running on this thread, if any.
  static thread_local worker_data* current_worker;

private:
  /// Whether the worker, out of work, looks once more instead of sleeping:
  /// for its spin window after it ran dry, then not until it has run a job.
  static bool spinning(worker_data& wd) {
    if (wd.spin.current().count() <= 0)
      return false;
    auto now = std::chrono::steady_clock::now();
    if (wd.dry_since == std::chrono::steady_clock::time_point{}) {
      wd.dry_since = now;
      wd.spin_until = now + wd.spin.current();
    }
    return now < wd.spin_until;
  }

  /// Under overload: every actor waiting flushes now, the newest first.
  static void send_idle_flushes(worker_data& wd) {
    std::vector<caf::strong_actor_ptr> due;
    due.swap(wd.idle_flushes);
    wd.idle_flush_runs = 0;
    for (auto i = due.rbegin(); i != due.rend(); ++i)
      caf::anon_send(caf::actor_cast<caf::actor>(*i), flush_atom::value);
  }

  /// The queue ran dry: the actor that asked last flushes, and the others
  /// wait until the queue is dry again. What arrives from the wire asks
  /// first (the peer link, with an ack to send) and what answers it asks
  /// later (a service, whose flush hands the answer to the peer link), so
  /// this order lets the answer join the ack in one packet; flushing all at
  /// once sent the ack alone and then the answer.
  static void send_newest_idle_flush(worker_data& wd) {
    auto who = std::move(wd.idle_flushes.back());
    wd.idle_flushes.pop_back();
    if (wd.idle_flushes.empty())
      wd.idle_flush_runs = 0;
    caf::anon_send(caf::actor_cast<caf::actor>(who), flush_atom::value);
  }

  static void push(coordinator_data& cd, caf::resumable* job) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> guard{cd.mtx};
      cd.queue.push_back(job);
      wake = cd.sleeping && !cd.poller.in_polling_thread();
      if (wake)
        cd.sleeping = false;
    }
    if (wake)
      cd.poller.wake();
  }
};

thread_local io_policy::worker_data* io_policy::current_worker = nullptr;

/// The scheduler module: CAF's coordinator with the policy above, held to
/// one worker whatever scheduler.max-threads says (the poller has one
/// waiting thread).
class io_coordinator final : public io_coordinator_base {
public:
  using super = io_coordinator_base;

  using super::super;

  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new io_coordinator(sys);
  }

  void init(caf::actor_system_config& cfg) override {
    super::init(cfg);
    num_workers_ = 1;
  }

  caf::detail::thread_safe_actor_clock& clock() noexcept override {
    return data().clock;
  }

protected:
  void stop() override {
    super::stop();
    // Timers still set and flushes still asked for hold their receivers:
    // let them go with the workers.
    data().clock.cancel_all();
    worker_by_id(0)->data().idle_flushes.clear();
  }
};

} // namespace

void use_io_scheduler(caf::actor_system_config& cfg, std::chrono::microseconds idle_spin,
                      std::chrono::microseconds idle_spin_max) {
  set_idle_spin(cfg, idle_spin, idle_spin_max);
  cfg.load<io_coordinator>();
}

void set_idle_spin(caf::actor_system_config& cfg, std::chrono::microseconds idle_spin,
                   std::chrono::microseconds idle_spin_max) {
  // Into the settings themselves: set() stores only options CAF declared.
  // (idle_spin_window reads them: negative as 0, a maximum below the base
  // as the base.)
  caf::put(cfg.content, idle_spin_key, static_cast<int64_t>(idle_spin.count()));
  caf::put(cfg.content, idle_spin_max_key, static_cast<int64_t>(idle_spin_max.count()));
}

bool flush_when_idle(caf::abstract_actor* self) {
  auto* wd = io_policy::current_worker;
  if (wd == nullptr)
    return false;
  if (wd->idle_flushes.empty()) {
    std::lock_guard<std::mutex> guard{wd->coordinator->mtx};
    if (wd->coordinator->queue.empty())
      return false; // nothing that runs before the flush would join it
  }
  wd->idle_flushes.emplace_back(self->ctrl());
  return true;
}

io_poller* io_poller_of(caf::actor_system& sys) {
  auto* sched = dynamic_cast<io_coordinator*>(&sys.scheduler());
  return sched != nullptr ? &sched->data().poller : nullptr;
}

int64_t io_worker_sleeps(caf::actor_system& sys) {
  auto* sched = dynamic_cast<io_coordinator*>(&sys.scheduler());
  return sched != nullptr ? sched->data().sleeps.load(std::memory_order_relaxed) : -1;
}

} // namespace meshrt::transport
