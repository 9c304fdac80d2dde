#include "runtime/logging.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>

namespace meshrt {

namespace {

constexpr std::string_view level_names = "trace, debug, info, warn, error, critical, off";

} // namespace

void set_log_level(std::string_view level) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> table[] = {
    {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},         {"warn", spdlog::level::warn},
    {"warning", spdlog::level::warn},      {"error", spdlog::level::err},
    {"critical", spdlog::level::critical}, {"off", spdlog::level::off},
  };
  for (const auto& [name, value] : table) {
    if (name == level) {
      // set_level applies to every registered logger and becomes the default
      // level that logger() gives to loggers created later.
      spdlog::set_level(value);
      return;
    }
  }
  throw std::invalid_argument("invalid log level '" + std::string{level}
                              + "' (expected one of: " + std::string{level_names} + ")");
}

std::string_view log_level_names() {
  return level_names;
}

} // namespace meshrt
