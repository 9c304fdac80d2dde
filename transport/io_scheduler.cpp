#include "transport/io_scheduler.hpp"

#include <cstdint>
#include <deque>
#include <mutex>

#include <caf/all.hpp>
#include <caf/policy/unprofiled.hpp>
#include <caf/scheduler/coordinator.hpp>

#include "transport/io_poller.hpp"

namespace meshrt::transport {

namespace {

/// Actor runs between two looks at the sockets while actors have work:
/// a datagram waits at most this many runs, and an epoll_wait costs one
/// system call per this many runs.
constexpr uint32_t runs_per_look = 8;

/// A CAF scheduling policy for one worker: a central FIFO of jobs, and an
/// io_poller to wait in when it is empty. CAF calls the member templates
/// (see caf/policy/work_sharing.hpp for the concept).
class io_policy : public caf::policy::unprofiled {
public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {}
    std::mutex mtx;
    std::deque<caf::resumable*> queue;
    /// The worker waits in the poller: a new job must wake it.
    bool sleeping = false;
    io_poller poller;
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
    uint32_t runs = 0;
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
    if (++wd.runs >= runs_per_look) {
      wd.runs = 0;
      cd.poller.run(0);
    }
    for (;;) {
      {
        std::lock_guard<std::mutex> guard{cd.mtx};
        if (!cd.queue.empty()) {
          auto job = cd.queue.front();
          cd.queue.pop_front();
          return job;
        }
        cd.sleeping = true;
      }
      // Jobs that the handlers enqueue join the queue without a wake-up
      // (push() sees the polling thread).
      cd.poller.run(-1);
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

private:
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

/// The scheduler module: CAF's coordinator with the policy above, held to
/// one worker whatever scheduler.max-threads says (the poller has one
/// waiting thread).
class io_coordinator final : public caf::scheduler::coordinator<io_policy> {
public:
  using super = caf::scheduler::coordinator<io_policy>;

  using super::super;

  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new io_coordinator(sys);
  }

  void init(caf::actor_system_config& cfg) override {
    super::init(cfg);
    num_workers_ = 1;
  }
};

} // namespace

void use_io_scheduler(caf::actor_system_config& cfg) {
  cfg.load<io_coordinator>();
}

io_poller* io_poller_of(caf::actor_system& sys) {
  auto* sched = dynamic_cast<io_coordinator*>(&sys.scheduler());
  return sched != nullptr ? &sched->data().poller : nullptr;
}

} // namespace meshrt::transport
