// A deliberate data race, run by the TSan build to show that ThreadSanitizer
// is live there: two actors write one plain int, unsynchronized. The test
// passes only when TSan reports it (tests/CMakeLists.txt, tsan.race_canary).
// Beside it, a value handed from actor to actor through CAF's mailboxes must
// not be reported: CAF itself is instrumented (scripts/build-caf-tsan.sh).

#include <caf/all.hpp>

#include <atomic>
#include <cstdio>

namespace {

int shared_counter = 0; // written by two actors without a lock: the race

// Both racers start writing only once both run; the relaxed counter makes
// them overlap without ordering them, so the race is real and TSan's to see.
std::atomic<int> racers_running{0};

caf::behavior racer(caf::event_based_actor* self, int rounds) {
  racers_running.fetch_add(1, std::memory_order_relaxed);
  while (racers_running.load(std::memory_order_relaxed) < 2) {
    // spin: bounded by the other racer's start
  }
  for (int i = 0; i < rounds; ++i)
    ++shared_counter;
  self->quit();
  return {};
}

// Owns its payload alone once received: the hand-off is CAF's, not a race.
caf::behavior receiver(caf::event_based_actor* self) {
  return {[self](std::vector<int>& values) {
    values.push_back(1);
    self->quit();
    return static_cast<int>(values.size());
  }};
}

} // namespace

int main() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  {
    caf::scoped_actor self{sys};
    std::vector<int> payload(64, 7);
    auto r = sys.spawn(receiver);
    self->request(r, caf::infinite, std::move(payload))
      .receive([](int n) { std::fprintf(stderr, "hand-off: %d values\n", n); },
               [](caf::error&) { std::fprintf(stderr, "hand-off failed\n"); });
  }
  // Detached: each racer has a thread of its own, so both run at once.
  sys.spawn<caf::detached>(racer, 100000);
  sys.spawn<caf::detached>(racer, 100000);
  sys.await_all_actors_done();
  std::fprintf(stderr, "counter: %d\n", shared_counter);
}
