// Replays every input under tests/fuzz/regressions/ through the fuzz target,
// so a crash the fuzzer once found stays fixed in every build, sanitized or
// not. A regression traps and fails the test.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <doctest/doctest.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST_SUITE("fuzz.regressions") {

  TEST_CASE("inputs the fuzzer once crashed on run clean") {
    size_t replayed = 0;
    for (const auto& entry : std::filesystem::directory_iterator{MESHRT_FUZZ_REGRESSIONS}) {
      std::ifstream in{entry.path(), std::ios::binary};
      std::vector<uint8_t> bytes{std::istreambuf_iterator<char>{in}, {}};
      CAPTURE(entry.path().string());
      CHECK(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()) == 0);
      ++replayed;
    }
    CHECK(replayed >= 1);
  }

} // TEST_SUITE
