#include "transport/secret_key.hpp"

#include <sys/stat.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

#include "support/temp_dir.hpp"

using namespace meshrt;

namespace {

std::string message_of(const std::string& path) {
  try {
    load_secret_key(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_SUITE("transport.secret_key") {

  TEST_CASE("a key file's key is its content hashed, trailing whitespace aside") {
    test::temp_dir dir;
    auto a = load_secret_key(dir.write("a", "correct horse battery staple"));
    auto b = load_secret_key(dir.write("b", "correct horse battery staple\n\n"));
    auto c = load_secret_key(dir.write("c", "correct horse battery stapler"));
    CHECK(a.bytes == b.bytes);
    CHECK(a.bytes != c.bytes);
    CHECK(a.bytes != secret_key{}.bytes);
    // a binary key's trailing NUL bytes are key, not whitespace
    auto nul = load_secret_key(dir.write("d", std::string{"correct horse battery staple\0", 29}));
    CHECK(nul.bytes != a.bytes);
  }

  TEST_CASE("keygen writes a fresh key readable by its owner only, never over another") {
    test::temp_dir dir;
    auto path = dir.path() + "/cluster.key";
    write_new_key_file(path);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    std::ifstream in{path};
    std::string line;
    std::getline(in, line);
    CHECK(line.size() == 64);
    CHECK(line.find_first_not_of("0123456789abcdef") == std::string::npos);
    auto key = load_secret_key(path);
    CHECK_THROWS_WITH_AS(write_new_key_file(path), doctest::Contains("File exists"),
                         std::runtime_error);
    CHECK(load_secret_key(path).bytes == key.bytes);
    auto other = dir.path() + "/other.key";
    write_new_key_file(other);
    CHECK(load_secret_key(other).bytes != key.bytes);
  }

  TEST_CASE("a missing, short or huge key file is one line naming it") {
    test::temp_dir dir;
    CHECK(message_of(dir.path() + "/none").find("/none: cannot read") != std::string::npos);
    CHECK(message_of(dir.write("short", "tooshort\n")).find("8 bytes; a key file holds at least 16")
          != std::string::npos);
    CHECK(message_of(dir.write("huge", std::string(5000, 'x'))).find("not a key file")
          != std::string::npos);
  }

} // TEST_SUITE
