#include "apps/token_command.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "dm/dm_wire.hpp"
#include "runtime/dm.hpp"

namespace meshrt::cli {

int run_token_issue(const std::string& user, double ttl_s, const std::string& key_file) {
  if (!valid_user_id(user))
    throw std::invalid_argument("token issue: --user takes 1 to 256 bytes");
  if (!(ttl_s > 0) || ttl_s > 10.0 * 365 * 24 * 3600)
    throw std::invalid_argument(
      "token issue: --ttl takes seconds, more than 0 and at most ten years");
  auto key = load_secret_key(key_file);
  auto ttl = std::chrono::duration_cast<std::chrono::system_clock::duration>(
    std::chrono::duration<double>{ttl_s});
  std::printf("%s\n", issue_login_token(user, std::chrono::system_clock::now() + ttl, key).c_str());
  return 0;
}

int run_keygen(const std::string& out) {
  write_new_key_file(out);
  std::fprintf(stderr, "meshrt: wrote a new key to %s (mode 0600)\n", out.c_str());
  return 0;
}

} // namespace meshrt::cli
