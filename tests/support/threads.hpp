#pragma once

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace meshrt::test {

/// The kernel ids of this process's threads at this moment.
inline std::set<long> thread_ids() {
  std::set<long> ids;
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator{"/proc/self/task", ec})
    ids.insert(std::stol(entry.path().filename().string()));
  return ids;
}

/// The threads running now that were not in `before`, as "id name, ..."; empty
/// when none. Comparing ids rather than counts keeps a thread of an earlier
/// test that is still ending (CAF's detached threads end after the system's
/// destructor returns, slower under TSan) from counting for or against.
inline std::string threads_started_since(const std::set<long>& before) {
  std::string out;
  for (auto id : thread_ids()) {
    if (before.count(id) != 0)
      continue;
    std::string name;
    std::ifstream{"/proc/self/task/" + std::to_string(id) + "/comm"} >> name;
    if (!out.empty())
      out += ", ";
    out += std::to_string(id) + " " + name;
  }
  return out;
}

} // namespace meshrt::test
