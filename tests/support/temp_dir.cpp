#include "support/temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace meshrt::test {

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string{base != nullptr ? base : "/tmp"} + "/meshrt-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

temp_dir::~temp_dir() {
  // MESHRT_KEEP_TEST_DIRS=1 keeps the processes' logs of a run to read.
  if (const char* keep = std::getenv("MESHRT_KEEP_TEST_DIRS"); keep != nullptr && *keep == '1')
    return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string temp_dir::write(const std::string& name, const std::string& content) const {
  auto full = path_ + "/" + name;
  std::ofstream out{full, std::ios::binary};
  out << content;
  if (!out)
    throw std::runtime_error("cannot write " + full);
  return full;
}

} // namespace meshrt::test
