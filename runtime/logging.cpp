#include "runtime/logging.hpp"

#include <mutex>
#include <stdexcept>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace meshrt {

namespace {

constexpr std::string_view level_names = "trace, debug, info, warn, error, critical, off";

std::mutex& creation_mutex() {
  static std::mutex mx;
  return mx;
}

} // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  if (auto existing = spdlog::get(component))
    return existing;
  // Two threads may ask for the same new logger; registering twice throws.
  std::lock_guard<std::mutex> guard{creation_mutex()};
  if (auto existing = spdlog::get(component))
    return existing;
  auto result = spdlog::stderr_color_mt(component);
  result->set_pattern("[%H:%M:%S.%e] [%n] [%^%l%$] %v");
  result->set_level(spdlog::get_level());
  return result;
}

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
