#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
} // namespace spdlog

namespace meshrt {

/// Returns the logger of one component ("transport", "mars", "node", "dm",
/// ...), creating it on first use. All loggers write to stderr so that stdout
/// stays free for machine-readable output.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

/// Sets the level of every component logger, present and future. Accepts
/// trace, debug, info, warn, error, critical and off; throws
/// std::invalid_argument naming the accepted values otherwise.
void set_log_level(std::string_view level);

/// The level names set_log_level accepts, comma-separated, for help texts.
std::string_view log_level_names();

} // namespace meshrt
