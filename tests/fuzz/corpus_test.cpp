// Replays every input kept under tests/corpus/TARGET/ (seeds, and each input
// a fuzzer once crashed on) through that libFuzzer target, compiled into the
// suite with its entry point renamed meshrt_fuzz_TARGET (tests/CMakeLists.txt),
// so a crash found once stays fixed in every build, sanitized or not. A
// regression traps and fails the test.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dm/dm_wire.hpp"
#include "dm/store_wire.hpp"

#define MESHRT_FUZZ_TARGET(name) extern "C" int meshrt_fuzz_##name(const uint8_t*, size_t);
MESHRT_FUZZ_TARGET(session)
MESHRT_FUZZ_TARGET(mars)
MESHRT_FUZZ_TARGET(mesh)
MESHRT_FUZZ_TARGET(store)
MESHRT_FUZZ_TARGET(dm)
MESHRT_FUZZ_TARGET(client)
MESHRT_FUZZ_TARGET(command)
MESHRT_FUZZ_TARGET(config)
MESHRT_FUZZ_TARGET(scenario)
MESHRT_FUZZ_TARGET(report)
#undef MESHRT_FUZZ_TARGET

namespace {

struct fuzz_target {
  const char* name;
  int (*run)(const uint8_t*, size_t);
};

const fuzz_target targets[] = {
  {"session", meshrt_fuzz_session},
  {"mars", meshrt_fuzz_mars},
  {"mesh", meshrt_fuzz_mesh},
  {"store", meshrt_fuzz_store},
  {"dm", meshrt_fuzz_dm},
  {"client", meshrt_fuzz_client},
  {"command", meshrt_fuzz_command},
  {"config", meshrt_fuzz_config},
  {"scenario", meshrt_fuzz_scenario},
  {"report", meshrt_fuzz_report},
};

} // namespace

TEST_SUITE("fuzz.corpus") {

  TEST_CASE("every kept input of every fuzz target runs clean") {
    namespace fs = std::filesystem;
    std::set<std::string> known;
    for (const auto& t : targets) {
      known.insert(t.name);
      fs::path dir = fs::path{MESHRT_FUZZ_CORPUS} / t.name;
      CAPTURE(dir.string());
      REQUIRE(fs::is_directory(dir));
      size_t replayed = 0;
      for (const auto& entry : fs::directory_iterator{dir}) {
        std::ifstream in{entry.path(), std::ios::binary};
        std::vector<uint8_t> bytes{std::istreambuf_iterator<char>{in}, {}};
        CAPTURE(entry.path().string());
        CHECK(t.run(bytes.data(), bytes.size()) == 0);
        ++replayed;
      }
      CHECK(replayed >= 1); // each target keeps at least one seed
    }
    // A corpus folder without a target would never be replayed.
    for (const auto& entry : fs::directory_iterator{MESHRT_FUZZ_CORPUS}) {
      CAPTURE(entry.path().string());
      CHECK(known.count(entry.path().filename().string()) == 1);
    }
  }

  TEST_CASE("the seeds of the wire formats decode as what their names say") {
    // A seed that no longer decodes (its format moved on) only feeds the
    // fuzzer the decoders' first refusal.
    namespace fs = std::filesystem;
    auto read = [](const std::string& target, const std::string& name) {
      std::ifstream in{fs::path{MESHRT_FUZZ_CORPUS} / target / name, std::ios::binary};
      return std::vector<uint8_t>{std::istreambuf_iterator<char>{in}, {}};
    };
    auto view = [](const std::vector<uint8_t>& v) { return meshrt::byte_view{v.data(), v.size()}; };
    for (const char* name : {"set-request", "incr-request"}) {
      CAPTURE(name);
      CHECK(meshrt::decode_store_request(view(read("store", name))));
    }
    for (const char* name : {"response", "error-response"}) {
      CAPTURE(name);
      CHECK(meshrt::decode_store_response(view(read("store", name))));
    }
    CHECK(meshrt::decode_migration(view(read("store", "migration-batch"))));
    CHECK(meshrt::decode_dm_deliver(view(read("dm", "deliver"))));
    CHECK(meshrt::decode_dm_deliver(view(read("dm", "find"))));
    CHECK(meshrt::decode_dm_answer(view(read("dm", "answer"))));
    CHECK(meshrt::decode_dm_closed(view(read("dm", "closed"))));
    CHECK(meshrt::decode_dm_locations(view(read("dm", "locations"))));
  }

} // TEST_SUITE
