#include "benchmarks/request_driver.hpp"

#include <algorithm>
#include <memory>

#include <caf/all.hpp>

#include "benchmarks/bench_util.hpp"

namespace meshrt::bench {

namespace {

using namespace std::chrono_literals;
using start_atom = caf::atom_constant<caf::atom("start")>;

struct drive_state {
  issue_fn issue;
  int total = 0;
  int issued = 0;
  int finished = 0;
  int failed = 0;
  std::vector<double> latencies_us;
  clock_type::time_point started;
  caf::response_promise rp;
};

void fire(caf::event_based_actor* self, const std::shared_ptr<drive_state>& st) {
  ++st->issued;
  auto t0 = clock_type::now();
  st->issue(self, [self, st, t0](bool ok) {
    st->latencies_us.push_back(seconds_since(t0) * 1e6);
    ++st->finished;
    if (!ok)
      ++st->failed;
    if (st->issued < st->total)
      fire(self, st);
    else if (st->finished == st->total)
      st->rp.deliver(seconds_since(st->started), st->latencies_us, st->failed);
  });
}

/// (start_atom, int total, int window) -> (double seconds, std::vector<double>
/// latencies_us, int failed).
caf::behavior driver(caf::event_based_actor* self, const issue_fn& issue) {
  return {
    [=](start_atom, int total, int window) {
      auto st = std::make_shared<drive_state>();
      st->issue = issue;
      st->total = total;
      st->latencies_us.reserve(static_cast<size_t>(total));
      st->rp = self->make_response_promise();
      st->started = clock_type::now();
      for (int i = 0; i < std::min(window, total); ++i)
        fire(self, st);
      return st->rp;
    },
  };
}

} // namespace

drive_result drive(caf::actor_system& sys, const issue_fn& issue, int total, int window) {
  auto d = sys.spawn(driver, issue);
  caf::scoped_actor self{sys};
  drive_result r;
  self->request(d, 60s, start_atom::value, total, window)
    .receive(
      [&](double s, std::vector<double>& latencies, int failed) {
        r.seconds = s;
        r.latencies_us = std::move(latencies);
        r.failed = failed;
      },
      [&](caf::error&) { r.failed = total; });
  self->send_exit(d, caf::exit_reason::user_shutdown);
  return r;
}

} // namespace meshrt::bench
