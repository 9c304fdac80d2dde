#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
} // namespace spdlog

namespace meshrt {

/// The logger of one component, created on first use: "transport" for this
/// room, "node", "mars", "correlator" for the cluster actors, "config" for
/// the runtime, and so on (each room names its own; nothing else is shared).
/// Every logger writes to stderr, so stdout stays free for machine-readable
/// output, and starts at spdlog's global level (runtime/logging.hpp's
/// set_log_level sets it for every logger, present and future).
std::shared_ptr<spdlog::logger> logger(const std::string& component);

} // namespace meshrt
