// The scheduling modes by name, as `meshrt node --scheduling` and
// `meshrt bench --scheduling` take them, and the one a machine's cores
// choose; the allocator's settings for large messages.

#include "runtime/system_config.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

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
    for (const char* bad : {"", "Latency", "fast", "efficiency ", "Auto"})
      CHECK_THROWS_AS(parse_scheduling(bad), std::invalid_argument);
  }

  TEST_CASE("auto scheduling is efficiency on two cores or fewer and latency above") {
    CHECK(scheduling_for_cores(1) == scheduling::efficiency);
    CHECK(scheduling_for_cores(2) == scheduling::efficiency);
    CHECK(scheduling_for_cores(3) == scheduling::latency);
    CHECK(scheduling_for_cores(64) == scheduling::latency);
    // A machine that does not say how many cores it has keeps the mode
    // that was the default before there was a choice.
    CHECK(scheduling_for_cores(0) == scheduling::latency);
    CHECK(parse_scheduling("auto") == scheduling_for_cores(std::thread::hardware_concurrency()));
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
