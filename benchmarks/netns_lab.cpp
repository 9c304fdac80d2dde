#include "benchmarks/netns_lab.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "benchmarks/child_process.hpp"

namespace meshrt::bench {

namespace {

/// Runs a command to its end (10 s at most): its exit code and output.
std::pair<int, std::string> run(const std::vector<std::string>& args, const std::string& log) {
  try {
    auto done = run_to_end(args, log, std::chrono::seconds{10});
    return {done.exit_code.value_or(-1), done.log};
  } catch (const std::runtime_error& e) {
    return {-1, e.what()};
  }
}

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

} // namespace

std::string netns_lab::unavailable() {
  if (geteuid() != 0)
    return "network namespaces need root (ip netns, nftables)";
  auto log = "/tmp/meshrt-netns-probe-" + std::to_string(getpid()) + ".log";
  std::string why;
  if (run({"ip", "netns", "list"}, log).first != 0)
    why = "'ip netns' is missing or refused (iproute2)";
  else if (run({"nft", "--version"}, log).first != 0)
    why = "'nft' is missing (nftables; scripts/install-deps.sh installs it)";
  std::remove(log.c_str());
  if (!why.empty())
    return why;
  // The tools are there; whether this machine lets us use them (a
  // container may refuse namespaces, bridges or nftables) shows only by
  // trying.
  try {
    netns_lab probe{1};
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

netns_lab::netns_lab(size_t count) : count_(count) {
  if (count == 0 || count > 200)
    throw std::invalid_argument("netns_lab: 1 to 200 namespaces");
  auto pid = static_cast<int>(getpid());
  id_ = std::to_string(pid % 100000);
  // One /24 per process, so labs of runs side by side stay apart.
  subnet_a_ = 100 + pid % 100;
  subnet_b_ = (pid / 100) % 256;
  char tmpl[] = "/tmp/meshrt-netns-XXXXXX";
  if (auto* d = mkdtemp(tmpl))
    scratch_ = d;
  else
    throw std::runtime_error("netns_lab: cannot make a scratch directory");
  auto must = [&](const std::vector<std::string>& args) {
    auto [rc, out] = run(args, scratch_ + "/cmd.log");
    if (rc != 0)
      throw std::runtime_error("netns_lab: '" + joined(args) + "' failed: " + trimmed(out));
  };
  auto bridge = "mrtb" + id_;
  try {
    // Leftovers of an earlier process with this pid go first.
    run({"ip", "link", "del", bridge}, scratch_ + "/cmd.log");
    for (size_t i = 0; i < count_; ++i)
      run({"ip", "netns", "del", name(i)}, scratch_ + "/cmd.log");
    must({"ip", "link", "add", "name", bridge, "type", "bridge"});
    must({"ip", "addr", "add", host_address() + "/24", "dev", bridge});
    must({"ip", "link", "set", bridge, "up"});
    for (size_t i = 0; i < count_; ++i) {
      auto ns = name(i);
      auto outer = "mrtv" + id_ + "x" + std::to_string(i);
      must({"ip", "netns", "add", ns});
      must({"ip", "link", "add", outer, "type", "veth", "peer", "name", interface, "netns", ns});
      must({"ip", "link", "set", outer, "master", bridge, "up"});
      must({"ip", "-n", ns, "addr", "add", address(i) + "/24", "dev", interface});
      must({"ip", "-n", ns, "link", "set", interface, "up"});
      must({"ip", "-n", ns, "link", "set", "lo", "up"});
      must(command_in(i, {"nft", "add table inet meshrt_chaos\n"
                                 "add chain inet meshrt_chaos out "
                                 "{ type filter hook output priority 0; policy accept; }\n"
                                 "add chain inet meshrt_chaos in "
                                 "{ type filter hook input priority 0; policy accept; }"}));
    }
  } catch (...) {
    teardown();
    throw;
  }
}

netns_lab::~netns_lab() {
  teardown();
}

void netns_lab::teardown() {
  if (scratch_.empty())
    return;
  auto log = scratch_ + "/cmd.log";
  for (size_t i = 0; i < count_; ++i)
    run({"ip", "netns", "del", name(i)}, log); // takes its veth pair along
  run({"ip", "link", "del", "mrtb" + id_}, log);
  std::remove(log.c_str());
  rmdir(scratch_.c_str());
  scratch_.clear();
}

std::string netns_lab::host_address() const {
  return "10." + std::to_string(subnet_a_) + "." + std::to_string(subnet_b_) + ".1";
}

std::string netns_lab::address(size_t i) const {
  return "10." + std::to_string(subnet_a_) + "." + std::to_string(subnet_b_) + "."
         + std::to_string(i + 2);
}

std::string netns_lab::name(size_t i) const {
  return "meshrt-" + id_ + "-" + std::to_string(i);
}

std::vector<std::string> netns_lab::command_in(size_t i, std::vector<std::string> args) const {
  args.insert(args.begin(), {"ip", "netns", "exec", name(i)});
  return args;
}

void netns_lab::set_drop(double percent) {
  // numgen counts in hundredths of a percent.
  auto share = static_cast<long>(std::lround(std::clamp(percent, 0.0, 100.0) * 100));
  dropped_ = dropped();
  std::string rules = "flush chain inet meshrt_chaos out\nflush chain inet meshrt_chaos in\n";
  if (share > 0) {
    auto drop
      = "meta l4proto udp numgen random mod 10000 < " + std::to_string(share) + " counter drop\n";
    rules += "add rule inet meshrt_chaos out " + drop;
    rules += "add rule inet meshrt_chaos in ip saddr " + host_address() + " " + drop;
  }
  for (size_t i = 0; i < count_; ++i) {
    auto [rc, out] = run(command_in(i, {"nft", rules}), scratch_ + "/cmd.log");
    if (rc != 0)
      throw std::runtime_error("netns_lab: nft in " + name(i) + " failed: " + trimmed(out));
  }
}

uint64_t netns_lab::dropped() const {
  // The rules' counters ("counter packets N bytes M"), which a flush resets.
  uint64_t total = dropped_;
  for (size_t i = 0; i < count_; ++i) {
    auto text
      = run(command_in(i, {"nft", "list", "table", "inet", "meshrt_chaos"}), scratch_ + "/cmd.log")
          .second;
    for (auto at = text.find("packets "); at != std::string::npos;
         at = text.find("packets ", at + 8))
      total += std::strtoull(text.c_str() + at + 8, nullptr, 10);
  }
  return total;
}

} // namespace meshrt::bench
