#pragma once

#include <string_view>

// logger(component): each room names its own component logger.
#include "transport/logger.hpp"

namespace meshrt {

/// Sets the level of every component logger, present and future. Accepts
/// trace, debug, info, warn, error, critical and off; throws
/// std::invalid_argument naming the accepted values otherwise.
void set_log_level(std::string_view level);

/// The level names set_log_level accepts, comma-separated, for help texts.
std::string_view log_level_names();

} // namespace meshrt
