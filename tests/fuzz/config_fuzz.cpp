// libFuzzer target: the node config parser (the JSON of `meshrt node
// --config` and `meshrt config check`). Any text gives a config or one
// config_error with a message; nothing else may escape. A config that loads
// writes JSON that loads again to the same.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/config.hpp"
#include "runtime/config_error.hpp"

using namespace meshrt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // No environment: the input alone decides (and `nic` is not looked up
  // through overrides).
  env_lookup no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  std::string_view text{reinterpret_cast<const char*>(data), size};
  // Key file keys read the file they name: keep the fuzzer off the disk.
  if (text.find("KeyFile") != std::string_view::npos)
    return 0;
  try {
    auto cfg = parse_config(text, "fuzz", no_env);
    auto json = to_json(cfg);
    auto again = parse_config(json, "fuzz-again", no_env);
    if (to_json(again) != json)
      __builtin_trap();
  } catch (const config_error& e) {
    if (std::string_view{e.what()}.empty())
      __builtin_trap(); // every refusal says why
  }
  return 0;
}
