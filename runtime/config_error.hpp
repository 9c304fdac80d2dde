#pragma once

#include <stdexcept>
#include <string>

namespace meshrt {

/// A configuration that cannot be used. what() is one line naming the source
/// (file path or "environment"), the key and what was expected, e.g.
///   config error: node.json: key 'port': expected a port number from 1 to
///   65535 (number or numeric string), got "80x"
class config_error : public std::runtime_error {
public:
  config_error(std::string source, std::string key, const std::string& problem);

  /// The file path, "environment", or "<string>" for in-memory text.
  const std::string& source() const noexcept {
    return source_;
  }

  /// The offending key or environment variable; empty for file-level errors.
  const std::string& key() const noexcept {
    return key_;
  }

private:
  std::string source_;
  std::string key_;
};

} // namespace meshrt
