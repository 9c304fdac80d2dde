#include "support/command.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "support/temp_dir.hpp"

namespace meshrt::test {

command_result run_command(const std::string& shell_command) {
  temp_dir dir;
  auto err_path = dir.path() + "/stderr";
  command_result result;
  FILE* pipe = popen((shell_command + " 2>" + err_path).c_str(), "r");
  if (pipe == nullptr)
    return result;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0)
    result.out.append(buf, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err{err_path};
  std::ostringstream text;
  text << err.rdbuf();
  result.err = text.str();
  return result;
}

} // namespace meshrt::test
