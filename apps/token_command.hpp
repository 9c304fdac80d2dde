#pragma once

#include <string>

namespace meshrt::cli {

/// `meshrt token issue --user U --ttl S --key-file F`: prints a login token
/// for user U valid for S seconds, signed with the key of F (what an
/// application's auth server does with meshrt::issue_login_token). Bad
/// flags throw std::invalid_argument; an unreadable key file
/// std::runtime_error.
int run_token_issue(const std::string& user, double ttl_s, const std::string& key_file);

/// `meshrt keygen --out FILE`: writes a new key file (32 random bytes in
/// hex, mode 0600) for clusterKeyFile or clientTokenKeyFile; refuses to
/// overwrite one.
int run_keygen(const std::string& out);

} // namespace meshrt::cli
