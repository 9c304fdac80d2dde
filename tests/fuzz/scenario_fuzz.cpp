// libFuzzer target: the scenario file parser (`meshrt bench scenario
// FILE.json`). Any text gives a scenario or one scenario_error naming what
// is wrong; nothing else may escape.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "benchmarks/scenario.hpp"

using namespace meshrt::bench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  try {
    auto s = parse_scenario(text, "fuzz");
    s.initial_nodes();
  } catch (const scenario_error& e) {
    if (std::string_view{e.what()}.empty())
      __builtin_trap(); // every refusal says why
  }
  return 0;
}
