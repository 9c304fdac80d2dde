// The lean worker: CAF's worker loop without the dynamic_cast per job, here
// under CAF's work stealing (meshrt's latency scheduling); the I/O
// scheduler's tests (io_scheduler_test.cpp) run it under efficiency.

#include "transport/lean_worker.hpp"

#include <chrono>
#include <vector>

#include <caf/all.hpp>
#include <caf/policy/work_stealing.hpp>
#include <doctest/doctest.h>

#include "runtime/system_config.hpp"

using namespace std::chrono_literals;
using namespace meshrt;

namespace {

using lean_stealing
  = caf::scheduler::coordinator<transport::lean_policy<caf::policy::work_stealing>>;

/// A job that is no actor, as CAF's own shutdown helper is.
class plain_job : public caf::resumable, public caf::ref_counted {
public:
  resume_result resume(caf::execution_unit*, size_t) override {
    return done;
  }
  void intrusive_ptr_add_ref_impl() override {
    intrusive_ptr_add_ref(this);
  }
  void intrusive_ptr_release_impl() override {
    intrusive_ptr_release(this);
  }
};

// With an argument: CAF 0.17 spawns a function of none through a null
// shared_ptr to an empty tuple, which UBSan reports.
caf::behavior multiplier(int factor) {
  return {[factor](int x) { return factor * x; }};
}

} // namespace

TEST_SUITE("transport.lean_worker") {
  TEST_CASE("latency scheduling runs work stealing on lean workers which run every job") {
    caf::actor_system_config cfg;
    apply_meshrt_defaults(cfg, scheduling::latency);
    cfg.set("scheduler.max-threads", 2); // stealing needs more than one worker
    caf::actor_system sys{cfg};
    auto* sched = dynamic_cast<lean_stealing*>(&sys.scheduler());
    REQUIRE(sched != nullptr);
    CHECK(sched->num_workers() == 2);
    // Many actors, each asked from outside and answering: jobs from other
    // threads, jobs that actors make, stolen ones.
    std::vector<caf::actor> actors;
    for (int i = 0; i < 200; ++i)
      actors.push_back(sys.spawn(multiplier, 2));
    caf::scoped_actor self{sys};
    int answered = 0;
    for (int round = 0; round < 5; ++round)
      for (int i = 0; i < 200; ++i)
        self->request(actors[i], 5s, i)
          .receive(
            [&](int y) {
              CHECK(y == 2 * i);
              ++answered;
            },
            [&](caf::error& err) { FAIL("no answer: " << sys.render(err)); });
    CHECK(answered == 1000);
    for (auto& a : actors)
      self->send_exit(a, caf::exit_reason::user_shutdown);
  }

  TEST_CASE("a lean worker names the actor of a job by its id and a job that is no actor by 0") {
    caf::actor_system_config cfg;
    apply_meshrt_defaults(cfg, scheduling::latency);
    caf::actor_system sys{cfg};
    auto* sched = dynamic_cast<lean_stealing*>(&sys.scheduler());
    REQUIRE(sched != nullptr);
    auto* worker = sched->worker_by_id(0);
    auto a = sys.spawn(multiplier, 2);
    auto* job = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(a));
    REQUIRE(job != nullptr);
    CHECK(worker->id_of(job) == a.id());
    caf::intrusive_ptr<plain_job> other{new plain_job, false};
    // GCC inlines id_of with the job's type known and warns about the branch
    // for actors, which a plain_job never takes.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
    CHECK(worker->id_of(other.get()) == 0);
#pragma GCC diagnostic pop
    CHECK(worker->id_of(nullptr) == 0);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
}
