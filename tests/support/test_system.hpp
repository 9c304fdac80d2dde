#pragma once

namespace caf {
class actor_system_config;
} // namespace caf

namespace meshrt::test {

/// The CAF configuration of live tests: two scheduler threads, as on the
/// machines here, and meshrt's defaults (error category, scheduler tuning).
caf::actor_system_config& test_system_config();

/// The configuration of nodes that share the cores (scheduling::efficiency):
/// one worker that also runs the sockets (transport/io_scheduler.hpp).
caf::actor_system_config& io_system_config();

} // namespace meshrt::test
