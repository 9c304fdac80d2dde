// libFuzzer target: the bench results reader of `meshrt bench report
// RESULTS.json`, which plans charts from a file. Any text gives a chart
// plan or one std::invalid_argument saying why not; nothing else escapes.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "benchmarks/bench_charts.hpp"

using namespace meshrt::bench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  try {
    for (const auto& c : plan_charts(text))
      gnuplot_script(c, "data.txt", "chart.png");
  } catch (const std::invalid_argument& e) {
    if (std::string_view{e.what()}.empty())
      __builtin_trap(); // every refusal says why
  }
  return 0;
}
