#include "runtime/system_config.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <caf/actor_system_config.hpp>
#include <caf/policy/work_stealing.hpp>

#include "actors/mesh_error.hpp"
#include "dm/dm_error.hpp"
#include "dm/store_error.hpp"
#include "transport/io_scheduler.hpp"
#include "transport/lean_worker.hpp"
#include "transport/wire.hpp"

namespace meshrt {

void apply_meshrt_defaults(caf::actor_system_config& cfg) {
  apply_meshrt_defaults(cfg, scheduling_for_cores(std::thread::hardware_concurrency()));
}

scheduling scheduling_for_cores(unsigned cores) {
  return cores != 0 && cores <= 2 ? scheduling::efficiency : scheduling::latency;
}

void apply_meshrt_defaults(caf::actor_system_config& cfg, scheduling mode) {
  add_mesh_error_category(cfg);
  add_store_error_category(cfg);
  add_dm_error_category(cfg);
  // Busy-poll longer before sleeping: the next message of a conversation
  // usually comes within a round trip, and a sleeping worker costs a wakeup.
  // A server that answers independent small messages (MARS) has no next
  // message to wait for and keeps CAF's short poll.
  cfg.set("work-stealing.aggressive-poll-attempts", mode == scheduling::latency ? 20000 : 100);
  // Then sleep on a condition variable at once, not in 50 us naps.
  cfg.set("work-stealing.moderate-poll-attempts", 0);
  if (mode == scheduling::latency) {
    // Each node has a receive thread of its own: leave it a core. Polling
    // workers that outnumber the cores take CPU from the threads with work.
    auto cores = std::max(2u, std::thread::hardware_concurrency());
    cfg.set("scheduler.max-threads", cores - 1);
    // CAF's work stealing, its workers without the cast per job.
    cfg.load<caf::scheduler::coordinator<transport::lean_policy<caf::policy::work_stealing>>>();
  } else {
    // One worker, which also runs the sockets (the transport's, the client
    // gateway's) when its actors are idle: a datagram or a client's frame
    // wakes this one thread instead of a reader that would then wake the
    // worker (transport/io_scheduler.hpp). With CAF's scheduler and four
    // workers, each job from such a reader went to the next worker in turn,
    // mostly asleep: a wake-up per job while another worker was running.
    cfg.set("scheduler.max-threads", 1);
    transport::use_io_scheduler(cfg);
  }
}

void set_idle_spin(caf::actor_system_config& cfg, std::chrono::microseconds spin,
                   std::chrono::microseconds max) {
  transport::set_idle_spin(cfg, spin, max);
}

bool tune_allocator() {
#if defined(__GLIBC__)
  // Both settings, or neither works: setting one stops glibc's adjustment of
  // the mmap threshold, and the other stays at 128 KB.
  constexpr int mmap_threshold = 32 << 20; // glibc's largest on 64-bit
  constexpr int trim_threshold = 64 << 20;
  static_assert(transport::max_message_size < static_cast<size_t>(mmap_threshold));
  return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
         && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
#else
  return false;
#endif
}

const char* to_string(scheduling mode) {
  return mode == scheduling::latency ? "latency" : "efficiency";
}

scheduling parse_scheduling(const std::string& name) {
  if (name == "latency")
    return scheduling::latency;
  if (name == "efficiency")
    return scheduling::efficiency;
  if (name == "auto")
    return scheduling_for_cores(std::thread::hardware_concurrency());
  throw std::invalid_argument("expected a scheduling mode (latency, efficiency or auto), got '"
                              + name + "'");
}

} // namespace meshrt
