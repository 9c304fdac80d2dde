#include "runtime/config_error.hpp"

namespace meshrt {

namespace {

std::string format(const std::string& source, const std::string& key, const std::string& problem) {
  std::string result = "config error: " + source + ": ";
  if (!key.empty())
    result += (source == "environment" ? "variable '" : "key '") + key + "': ";
  return result + problem;
}

} // namespace

config_error::config_error(std::string source, std::string key, const std::string& problem) :
  std::runtime_error(format(source, key, problem)), source_(std::move(source)),
  key_(std::move(key)) {
  // nop
}

} // namespace meshrt
