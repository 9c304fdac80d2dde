#include "transport/logger.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace meshrt {

namespace {

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

} // namespace meshrt
