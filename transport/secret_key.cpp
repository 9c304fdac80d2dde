#include "transport/secret_key.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <sodium.h>

namespace meshrt {

void init_sodium() {
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium could not start (sodium_init failed)");
}

secret_key load_secret_key(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw std::runtime_error("key file " + path + ": cannot read: " + std::strerror(errno));
  std::string content(max_key_file_bytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<size_t>(in.gcount()));
  if (content.size() > max_key_file_bytes)
    throw std::runtime_error("key file " + path + ": over " + std::to_string(max_key_file_bytes)
                             + " bytes: not a key file");
  // (Not strchr: it would take a NUL byte of a binary key for whitespace.)
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!content.empty() && space(content.back()))
    content.pop_back();
  if (content.size() < min_key_file_bytes)
    throw std::runtime_error("key file " + path + ": " + std::to_string(content.size())
                             + " bytes; a key file holds at least "
                             + std::to_string(min_key_file_bytes)
                             + " (meshrt keygen --out FILE writes one)");
  init_sodium();
  secret_key key;
  crypto_generichash(key.bytes.data(), key.bytes.size(),
                     reinterpret_cast<const unsigned char*>(content.data()), content.size(),
                     nullptr, 0);
  sodium_memzero(content.data(), content.size());
  return key;
}

secret_key random_secret_key() {
  init_sodium();
  secret_key key;
  randombytes_buf(key.bytes.data(), key.bytes.size());
  return key;
}

void write_new_key_file(const std::string& path) {
  init_sodium();
  std::array<unsigned char, 32> raw;
  randombytes_buf(raw.data(), raw.size());
  std::string text(raw.size() * 2 + 1, '\0');
  sodium_bin2hex(text.data(), text.size(), raw.data(), raw.size());
  text.back() = '\n';
  sodium_memzero(raw.data(), raw.size());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("key file " + path + ": cannot create: " + std::strerror(errno));
  auto written = ::write(fd, text.data(), text.size());
  auto write_errno = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("key file " + path + ": cannot write: " + std::strerror(write_errno));
}

} // namespace meshrt
