#pragma once

// A secret shared by the parts of a cluster that must trust each other,
// read from a key file: the cluster key that authenticates mesh and MARS
// packets (clusterKeyFile) and the key with which an application signs its
// users' login tokens (clientTokenKeyFile). Keys come through libsodium.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace meshrt {

/// 32 secret bytes.
struct secret_key {
  std::array<uint8_t, 32> bytes{};
};

/// The fewest bytes a key file may hold (after trailing whitespace).
constexpr size_t min_key_file_bytes = 16;
/// The most (a key file is small; this also bounds what a wrong path, such
/// as a device, makes a node read).
constexpr size_t max_key_file_bytes = 4096;

/// The key of a key file: its content, trailing whitespace trimmed, hashed
/// with BLAKE2b to 32 bytes, so any file of at least min_key_file_bytes
/// serves (`meshrt keygen` writes one: 32 random bytes in hex). Throws
/// std::runtime_error with one line naming the file when it cannot be read
/// or is too short.
secret_key load_secret_key(const std::string& path);

/// Writes a new key file at `path`: 32 random bytes as 64 hex digits and a
/// newline, readable by its owner alone (mode 0600). Throws
/// std::runtime_error when the file exists or cannot be written.
void write_new_key_file(const std::string& path);

/// A key of 32 random bytes, for a process that both issues and checks
/// (a demo, a test).
secret_key random_secret_key();

/// Starts libsodium (idempotent, thread-safe); throws when it cannot.
void init_sodium();

} // namespace meshrt
