#include "support/test_system.hpp"

#include <caf/actor_system_config.hpp>

#include "runtime/system_config.hpp"

namespace meshrt::test {

caf::actor_system_config& test_system_config() {
  static caf::actor_system_config cfg = [] {
    caf::actor_system_config c;
    // Latency mode whatever the machine: its two work-stealing workers are
    // what these tests run on (io_system_config() is the other mode).
    apply_meshrt_defaults(c, scheduling::latency);
    c.set("scheduler.max-threads", 2);
    return c;
  }();
  return cfg;
}

caf::actor_system_config& io_system_config() {
  static caf::actor_system_config cfg = [] {
    caf::actor_system_config c;
    apply_meshrt_defaults(c, scheduling::efficiency);
    return c;
  }();
  return cfg;
}

} // namespace meshrt::test
