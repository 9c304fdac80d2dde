#pragma once

// For the scheduler modules only (transport/io_scheduler.cpp,
// runtime/system_config.cpp): it includes CAF's scheduler headers.

#include <cstddef>
#include <thread>

#include <caf/detail/set_thread_name.hpp>
#include <caf/execution_unit.hpp>
#include <caf/logger.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace meshrt::transport {

/// A CAF scheduling policy `Policy` whose workers run jobs through the loop
/// below instead of CAF's own (caf/scheduler/worker.hpp). Load it as
/// `caf::scheduler::coordinator<lean_policy<Policy>>`.
///
/// Why: before each job CAF 0.17's worker finds the actor behind it for its
/// logger, whatever the log level, with a `dynamic_cast` from `resumable`
/// to `abstract_actor`: a cross-cast through an event-based actor's mixin
/// hierarchy, about 1,300 instructions. A direct message between users on
/// two nodes takes about six jobs on each; under callgrind the casts were
/// 17-19% of the instructions the two nodes ran, and with this loop the
/// nodes ran 22% and 24% fewer. Debian's CAF logs nothing
/// (CAF_LOG_LEVEL_QUIET), so this loop does not look the actor up at all;
/// built against a CAF that logs, it does so with a virtual call and a
/// static cast.
template<class Policy>
struct lean_policy : Policy {
  using Policy::Policy;
};

} // namespace meshrt::transport

namespace caf::scheduler {

/// The worker of a lean_policy: the same interface and duties as CAF's
/// `worker<Policy>`, which coordinator<Policy> and the policies use.
template<class Policy>
class worker<meshrt::transport::lean_policy<Policy>> : public execution_unit {
public:
  using job_ptr = resumable*;
  using policy_type = meshrt::transport::lean_policy<Policy>;
  using coordinator_ptr = coordinator<policy_type>*;
  using policy_data = typename policy_type::worker_data;

  worker(size_t worker_id, coordinator_ptr parent, const policy_data& init, size_t throughput) :
    execution_unit(&parent->system()), max_throughput_(throughput), id_(worker_id), parent_(parent),
    data_(init) {}

  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  void start() {
    this_thread_ = std::thread{[this] {
      CAF_SET_LOGGER_SYS(&system());
      detail::set_thread_name("caf.multiplexer");
      system().thread_started();
      run();
      system().thread_terminates();
    }};
  }

  /// A job from another thread.
  void external_enqueue(job_ptr job) {
    policy_.external_enqueue(this, job);
  }

  /// A job from the job this worker runs (its thread only).
  void exec_later(job_ptr job) override {
    policy_.internal_enqueue(this, job);
  }

  coordinator_ptr parent() {
    return parent_;
  }

  size_t id() const {
    return id_;
  }

  std::thread& get_thread() {
    return this_thread_;
  }

  actor_id id_of(resumable* job) {
    auto kind = job != nullptr ? job->subtype() : resumable::unspecified;
    if (kind == resumable::scheduled_actor || kind == resumable::io_actor)
      return static_cast<caf::scheduled_actor*>(job)->id();
    return 0;
  }

  policy_data& data() {
    return data_;
  }

  size_t max_throughput() {
    return max_throughput_;
  }

private:
  void run() {
    for (;;) {
      auto job = policy_.dequeue(this);
#if CAF_LOG_LEVEL > CAF_LOG_LEVEL_QUIET
      // Names the actor in what CAF's logger writes meanwhile.
      CAF_PUSH_AID(id_of(job));
#endif
      policy_.before_resume(this, job);
      auto res = job->resume(this, max_throughput_);
      policy_.after_resume(this, job);
      switch (res) {
        case resumable::resume_later:
          policy_.resume_job_later(this, job); // it keeps its reference
          break;
        case resumable::done:
          policy_.after_completion(this, job);
          intrusive_ptr_release(job);
          break;
        case resumable::awaiting_message:
          intrusive_ptr_release(job); // enqueued again by its next message
          break;
        case resumable::shutdown_execution_unit:
          policy_.after_completion(this, job);
          policy_.before_shutdown(this);
          return;
      }
    }
  }

  size_t max_throughput_;
  std::thread this_thread_;
  size_t id_;
  coordinator_ptr parent_;
  policy_data data_;
  policy_type policy_;
};

} // namespace caf::scheduler
