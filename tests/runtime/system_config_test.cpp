// The scheduling modes by name, as `meshrt node --scheduling` and
// `meshrt bench --scheduling` take them; the allocator's settings for large
// messages.

#include "runtime/system_config.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <sys/resource.h>

#include <doctest/doctest.h>

#include "transport/wire.hpp"

using namespace meshrt;

TEST_SUITE("runtime.system_config") {
  TEST_CASE("a scheduling mode's name reads back as that mode, and no other name does") {
    for (auto mode : {scheduling::latency, scheduling::efficiency})
      CHECK(parse_scheduling(to_string(mode)) == mode);
    CHECK(std::string{to_string(scheduling::latency)} == "latency");
    CHECK(std::string{to_string(scheduling::efficiency)} == "efficiency");
    for (const char* bad : {"", "Latency", "fast", "efficiency "})
      CHECK_THROWS_AS(parse_scheduling(bad), std::invalid_argument);
  }

  TEST_CASE("after tune_allocator() a second message-sized buffer reuses the first one's pages") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    MESSAGE("a sanitizer's allocator: glibc's settings do not apply");
#else
    REQUIRE(tune_allocator());
    // Page faults of one buffer of the largest message, written page by page
    // (through a volatile pointer, so that the compiler keeps the writes).
    auto faults_of_one_buffer = [] {
      rusage before{};
      getrusage(RUSAGE_SELF, &before);
      {
        auto buf = std::make_unique<uint8_t[]>(transport::max_message_size);
        volatile uint8_t* p = buf.get();
        for (size_t i = 0; i < transport::max_message_size; i += 4096)
          p[i] = 1;
      }
      rusage after{};
      getrusage(RUSAGE_SELF, &after);
      return after.ru_minflt - before.ru_minflt;
    };
    // With glibc's defaults each of these is mapped afresh: ~2,440 faults
    // (10 MB in 4 KiB pages) for the first and for the second.
    CHECK(faults_of_one_buffer() > 1000);
    CHECK(faults_of_one_buffer() < 100);
#endif
  }
}
